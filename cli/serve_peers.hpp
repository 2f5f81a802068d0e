// The peers of `parley serve`: for each, a live subscription (sync::Subscriber, unless
// streaming is off) and a full anti-entropy sync every interval (sync::syncTcp), each on a
// thread and a site connection of its own, so a stalled or unreachable peer delays no other.
// The subscription brings the peer's commits within milliseconds; the periodic sync pushes
// this site's transactions to a peer that does not subscribe back, exchanges
// acknowledgements, and repairs whatever a stream missed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::cli {

// "sent 3 transactions, received 2 (0 already held), 1 conflicts, 0 rejected"
std::string summaryLine(std::uint64_t sent, const sync::ApplyTotals& got);

// Whole lines to stdout from several threads.
class Lines {
 public:
  void print(const std::string& line);

 private:
  std::mutex mutex_;
};

struct PeerSettings {
  std::string url;      // tcp://HOST:PORT
  std::string address;  // HOST:PORT
  std::chrono::milliseconds interval{1000};
  bool stream = true;
};

class PeerLink {
 public:
  // Opens two connections to the site at `path`; starts the threads.
  PeerLink(const std::string& path, PeerSettings settings, sync::TcpOptions options, Lines& out);
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Prints what the subscription logged since the last call.
  void printLog();
  // Stops both threads (the current sync may run to its end or timeout).
  void stop();

 private:
  void syncLoop();
  void syncOnce();

  PeerSettings settings_;
  sync::TcpOptions options_;
  Lines& out_;
  std::unique_ptr<Site> streamSite_, syncSite_;
  std::unique_ptr<sync::Subscriber> subscriber_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread syncer_;
};

}  // namespace parley::cli
