// The peers of `parley serve`: for each, a live subscription (sync::Subscriber, unless
// streaming is off) and a full anti-entropy sync every interval (sync::syncTcp), each on a
// thread and a site connection of its own, so a stalled or unreachable peer delays no other.
// The subscription brings the peer's commits within milliseconds; the periodic sync pushes
// this site's transactions to a peer that does not subscribe back, exchanges
// acknowledgements, and repairs whatever a stream missed.
//
// Each PeerLink also keeps what an operator asks about the connection (its state, last
// error, counts of syncs), read by serve's main thread with snapshot() to record for
// `parley status` and to export as metrics.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "log.hpp"
#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::cli {

// "sent 3 transactions, received 2 (0 already held), 1 conflicts, 0 rejected"
std::string summaryLine(std::uint64_t sent, const sync::ApplyTotals& got);

struct PeerSettings {
  std::string url;      // tcp://HOST:PORT
  std::string address;  // HOST:PORT
  std::chrono::milliseconds interval{1000};
  bool stream = true;
};

// What serve's own counters say of one peer since serve started (metrics).
struct PeerCounters {
  std::uint64_t syncs = 0, syncsFailed = 0;   // periodic full syncs
  std::uint64_t streamConnections = 0;        // subscriptions made
  std::uint64_t received = 0, sent = 0;       // transactions applied here from it, sent to it
  std::uint64_t conflicts = 0, rejected = 0;  // met applying what it sent
};

struct PeerSnapshot {
  ServePeerRecord record;
  PeerCounters counters;
};

class PeerLink {
 public:
  // Opens two connections to the site at `path`; starts the threads.
  PeerLink(const std::string& path, PeerSettings settings, sync::TcpOptions options, Log& log);
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Logs what the subscription logged since the last call.
  void printLog();
  // Stops both threads (the current sync may run to its end or timeout).
  void stop();
  // The connection as it stands. `nowMs`: the site clock's now, stamped on state changes.
  PeerSnapshot snapshot(std::uint64_t nowMs);

 private:
  void syncLoop();
  void syncOnce();
  std::string peerLabel();  // the peer's name once known, else its URL

  PeerSettings settings_;
  sync::TcpOptions options_;
  Log& log_;
  std::unique_ptr<Site> streamSite_, syncSite_;
  std::unique_ptr<sync::Subscriber> subscriber_;
  std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  bool stop_ = false;
  ServePeerRecord record_;
  PeerCounters counters_;
  std::optional<bool> lastSyncOk_;
  std::uint64_t syncOkMs_ = 0;  // when the last full sync that worked ended
  // The syncer thread's: the failure last logged, when, and failures since a sync worked. A
  // failure repeating every interval is logged again only once a minute.
  std::string failureLogged_;
  std::uint64_t failureLoggedMs_ = 0, failingFor_ = 0;
  std::string streamError_;  // the subscriber's last error, as last seen
  std::thread syncer_;
};

}  // namespace parley::cli
