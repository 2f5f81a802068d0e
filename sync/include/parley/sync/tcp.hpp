// Sync over TCP: Cap'n Proto RPC on KJ's event loop (sync/sync.capnp). syncTcp() runs the
// session of parley/sync/link.hpp over a TCP link; the Server answers each session through the
// same Responder as every link.
//
// A connection is TLS 1.3 (sync/tls.hpp) unless both sides run with `insecure`. It starts at
// the server's Gate: a challenge-response with the cluster secret (HMAC-SHA256, both
// directions, bound to the TLS connection) grants a Session; without the secret a peer learns
// nothing and can write nothing. Failed logins slow down their source's next connections. A session exchanges Hellos (cluster, protocol, schema fingerprint,
// vectors), then streams what each side lacks in bounded chunks with flow control
// (`-> stream`), in both directions. The receiver applies each chunk as it arrives and commits,
// so a dropped connection loses nothing and the next sync resumes from the vector it reached.
//
// Threading: a Server runs its own thread and event loop and is the only user of its Site
// while it runs. syncTcp() and cloneTcp() run an event loop in the calling thread.
#pragma once

#include "parley/sync/verify.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "parley/site.hpp"
#include "parley/sync/link.hpp"
#include "parley/sync/session.hpp"

namespace parley::sync {

struct TcpOptions {
  std::string secret;  // the cluster secret; required, and strong (parley/sync/secret.hpp)
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // for connecting and each reply
  std::size_t chunkBytes = kChunkBytes;
  Progress progress;  // optional: transactions received so far
  // Makes the 32-byte nonces of the login handshake; OpenSSL's CSPRNG when empty. Tests and
  // fuzzers inject a fixed one so that a recorded handshake replays.
  std::function<std::array<std::uint8_t, 32>()> nonces = nullptr;

  // Live subscriptions, on a Server: how often it looks for new commits (PRAGMA data_version,
  // which costs microseconds when nothing changed).
  std::chrono::milliseconds poll{1};
  // Live subscriptions, on a Subscriber: the heartbeat it asks the server for when there is
  // nothing to send; three missed heartbeats declare the connection dead.
  std::chrono::milliseconds heartbeat{1000};
  // On a Server: how many connections one source address may hold open before login at once;
  // more are closed at once. Raise it for many clients behind one address (NAT, a proxy) that
  // connect together.
  int loginsPerSource = 4;
  // Plaintext instead of TLS 1.3. Both sides must choose it: a TLS side refuses a plaintext
  // one. Anyone on the path can then read and change what is synced (only the login stays
  // safe: the secret never travels).
  bool insecure = false;
  // Optional, for syncTcp() and cloneTcp(): what each chunk (or snapshot piece) carried, with
  // totals where known, in both directions (TransferProgress, session.hpp).
  TransferObserver observer = nullptr;
};

class Server {
 public:
  // Listens on `address` ("host:port"; port 0 picks a free one) and serves `site` on a thread
  // of its own until stop() or destruction.
  static Result<std::unique_ptr<Server>> start(Site& site, const std::string& address, TcpOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Stops accepting, ends the sessions, joins the thread. Thread-safe; idempotent.
  void stop();
  // One line per finished sync ("synced with london: sent 3, received 2, 1 conflict"), read
  // and cleared by the caller (the server keeps at most the last 1000).
  std::vector<std::string> takeLog();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A live subscription to the server at `address`, kept on a thread of its own (like a
// PostgreSQL standby's walreceiver): it logs in, says hello, subscribes from `site`'s vector
// and applies each chunk of the server's transactions as it arrives, one transaction per
// chunk, so a commit on the server's site is visible here within milliseconds. After
// something arrived, it exchanges acknowledgements with the server at most once a heartbeat
// period (Site::acknowledge, noteSync: decisions become final without a full sync). When the
// connection fails or falls silent (no heartbeat for 3 periods) it reconnects with
// exponential backoff (100 ms doubling to 5 s) and resumes from `site`'s vector: the
// transactions that arrived are committed, so nothing is lost or applied twice. A server that
// is down at start is picked up when it comes up. Periodic full syncs (syncTcp) remain the
// fallback that exchanges acknowledgements and repairs anything a stream missed.
// `site` is used only by the subscriber's thread until stop().
class Subscriber {
 public:
  static Result<std::unique_ptr<Subscriber>> start(Site& site, const std::string& address, TcpOptions options);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Ends the subscription and joins the thread. Thread-safe; idempotent.
  void stop();
  // Lines about the connection ("streaming from london", "stream from london lost: ...;
  // retrying in 200 ms"), read and cleared by the caller (at most the last 1000 are kept).
  std::vector<std::string> takeLog();
  // What this subscription applied so far, over all its connections.
  ApplyTotals totals() const;
  // How many times it has connected (and subscribed) so far.
  std::uint64_t connections() const;

  struct Impl;

 private:
  explicit Subscriber(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Syncs `site` with the server at `address`, both directions, then exchanges acknowledgements.
Result<SyncSummary> syncTcp(Site& site, const std::string& address, const TcpOptions& options);

// Calls `fn` with a Summarizer of the site served at `address` and what it said in its hello
// (logged in, compatible): parley verify against a server, without fetching its rows.
Status withRemoteSummaries(Site& site, const std::string& address, const TcpOptions& options,
                           const std::function<Status(const Summarizer& peer, const Hello& hello)>& fn);

// Creates a new site at `path` from a snapshot of the site served at `address`, then syncs it.
Result<std::unique_ptr<Site>> cloneTcp(const std::string& address, const std::string& path,
                                       const CreateOptions& create, SiteOptions siteOptions,
                                       const TcpOptions& options);

}  // namespace parley::sync
