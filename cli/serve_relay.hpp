// `parley serve --nats`: the relay through NATS JetStream (sync/relay.hpp) beside, or instead
// of, serve's TCP listener and peers. The options, and the relay started from them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/program_options.hpp>

#include "parley/sync/relay.hpp"
#include "log.hpp"

namespace parley::cli {

// Adds --nats, --nats-creds, --nats-ca, --nats-cert, --nats-key and the stream's limits.
void addRelayOptions(boost::program_options::options_description& o);
// The relay of site `path` as the command line asks, started; nullptr without --nats.
// Bad options are a usage error; failing to start, one line and exit 1.
std::unique_ptr<sync::Relay> startRelay(const boost::program_options::variables_map& vm, const std::string& path);
// Prints what the relay logged since the last call, and every 5 s at most a line of what moved.
class RelayReport {
 public:
  void print(sync::Relay* relay, Log& log);

 private:
  sync::RelayStats shown_;
  std::chrono::steady_clock::time_point lastShown_ = std::chrono::steady_clock::now();
};

}  // namespace parley::cli
