// Replication through a NATS JetStream relay, for clusters too large for a mesh of TCP peers
// (DESIGN.md, "Relay for large clusters").
//
// Each site publishes its own transactions, as their encoded log bodies, to the cluster's
// stream (PARLEY_<cluster>), one subject per origin (parley.<cluster>.txn.<origin>), with
// Nats-Msg-Id = the dot, so that publishing again after a crash is deduplicated by the server
// (and, past its window, ignored by every site as already held). It consumes every origin's
// subject through a durable consumer named after itself, and applies what arrives once its
// causal context is held: a transaction that arrives before its dependencies is held in memory,
// unacknowledged, until they arrive (by the relay or any other link); nothing is dropped or
// applied out of causal order. A message is acknowledged to the stream only after its apply
// committed, so the consumer's position never runs ahead of the site's vector; a crash between
// the two redelivers it, and it is ignored as already held. If the consumer is found behind
// what the site lacks (the site file was restored from a backup), it is rewound.
//
// Acknowledgements (what each site holds, Site::acknowledge) travel through a key-value bucket
// (PARLEY_ACKS_<cluster>), one key per site, so finality and compaction work; the forgotten
// sites (Site::forget) travel with them.
//
// The cluster secret protects what the relay carries: every message and every bucket value is
// signed with HMAC-SHA256 under a key derived from the secret and the cluster id, and is
// verified before anything is applied or acknowledged. A NATS user without the secret can read
// the stream (use NATS TLS and accounts to keep it private) and can delete it, but cannot make a
// site apply or acknowledge anything. Sites with another secret refuse to start.
//
// The stream is created when missing, with RelayLimits; an existing one is used as it is. A
// site lacking transactions that the stream no longer holds (it was offline longer than the
// stream keeps them) is told so in one line, with the remedy: clone it anew from a current
// member.
//
// Thread-safety: a Relay runs three threads of its own (publishing, recording acknowledgements,
// consuming), sharing one connection to the site (from the opener); takeLog(), stats() and
// stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parley/site.hpp"

namespace parley::sync {

// Limits of the stream, applied when a site creates it.
struct RelayLimits {
  std::chrono::seconds maxAge{std::chrono::hours(24 * 7)};  // messages older than this are dropped
  std::int64_t maxBytes = std::int64_t{1} << 30;             // the oldest are dropped past this size
  int replicas = 0;  // 0: 3 when the NATS cluster has three or more servers, else 1
};

struct RelayOptions {
  std::vector<std::string> servers;  // nats://HOST:PORT (tls://HOST:PORT for TLS), at least one
  std::string secret;                // the cluster secret (sync/secret.hpp); required
  std::string credsFile;             // NATS user credentials (a .creds file), optional
  std::string caFile;                // CA certificates verifying the servers (TLS), optional
  std::string certFile, keyFile;     // a client certificate for TLS, optional
  RelayLimits limits;
  // The site's file: the relay watches its write-ahead log (inotify) and publishes a commit as
  // it lands, looking otherwise only every few seconds. Empty, or where it cannot be watched:
  // the relay looks for new commits every `poll`.
  std::string siteFile;
  std::chrono::milliseconds poll{20};
  // A site puts its acknowledgement (its vector) when it changed, at most once per ackInterval,
  // and, in a cluster of S sites, at most once per S / ackBudget seconds: the cluster as a whole
  // puts about ackBudget a second, so each site reads that many whatever the cluster's size
  // (finality then lags by about S / ackBudget seconds: 4 s at 200 sites).
  std::chrono::milliseconds ackInterval{1000};
  double ackBudget = 50;
  // The consumer keeps one pull request waiting at the stream, which delivers each message as it
  // arrives: an idle site costs the request's renewal every pullExpiry and a heartbeat from the
  // server every pullHeartbeat (none when 0), which tells it the request was lost (a server or
  // its consumer's leader gone) within about two heartbeats. After a reconnect it asks anew.
  std::chrono::milliseconds pullExpiry{30000};
  std::chrono::milliseconds pullHeartbeat{5000};
  std::chrono::milliseconds fetchWait{1000};    // how often an idle consumer thread looks up (stop, stuck messages)
  int fetchBatch = 256;                         // messages per pull request
  std::chrono::seconds ackWait{30};  // a message delivered but not acknowledged is redelivered after this
  // Optional: called on the relay's consumer thread with each transaction it newly applied,
  // once its apply committed (for measurements; keep it short).
  std::function<void(const Dot&)> applied;
};

struct RelayStats {
  std::uint64_t published = 0;   // own transactions published
  std::uint64_t applied = 0;     // transactions newly applied from the stream
  std::uint64_t duplicates = 0;  // arrived already held
  std::uint64_t held = 0;        // waiting for their causal context now
  std::uint64_t forged = 0;      // messages or values whose signature did not verify
  std::uint64_t acknowledgements = 0;  // other sites' acknowledgements recorded
};

class Relay {
 public:
  // Opens the relay's connection to the site; called once.
  using Opener = std::function<Result<std::unique_ptr<Site>>()>;

  // Connects to NATS, creates the stream, bucket and consumer when missing, checks the
  // secret against the one the cluster's bucket was created with, and starts the threads.
  // Fails, in one line, if NATS cannot be reached or refuses, or the secret differs.
  static Result<std::unique_ptr<Relay>> start(const Opener& open, RelayOptions options);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // What happened since the last call, one line per notable event.
  std::vector<std::string> takeLog();
  RelayStats stats() const;
  // Stops the threads; messages held unapplied are handed back to the stream (redelivered
  // at once to the next consumer). Idempotent.
  void stop();

  struct Impl;

 private:
  explicit Relay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::sync
