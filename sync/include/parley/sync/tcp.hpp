// Sync over TCP: Cap'n Proto RPC on KJ's event loop (sync/sync.capnp).
//
// A connection starts at the server's Gate: a challenge-response with the cluster secret
// (HMAC-SHA256, both directions) grants a Session; without the secret a peer learns nothing and
// can write nothing. A session exchanges Hellos (cluster, protocol, schema fingerprint,
// vectors), then streams what each side lacks in bounded chunks with flow control
// (`-> stream`), in both directions. The receiver applies each chunk as it arrives and commits,
// so a dropped connection loses nothing and the next sync resumes from the vector it reached.
//
// Threading: a Server runs its own thread and event loop and is the only user of its Site
// while it runs. syncTcp() and cloneTcp() run an event loop in the calling thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "parley/site.hpp"
#include "parley/sync/session.hpp"

namespace parley::sync {

struct TcpOptions {
  std::string secret;                                  // the cluster secret; required, non-empty
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // for connecting and each reply
  std::size_t chunkBytes = kChunkBytes;
  Progress progress;  // optional: transactions received so far
  // Makes the 32-byte nonces of the login handshake; OpenSSL's CSPRNG when empty. Tests and
  // fuzzers inject a fixed one so that a recorded handshake replays.
  std::function<std::array<std::uint8_t, 32>()> nonces = nullptr;
};

struct SyncSummary {
  Hello peer;             // what the peer said of itself
  StreamTotals sent;      // transactions this side sent
  ApplyTotals received;   // what this side applied of the peer's
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

// Syncs `site` with the server at `address`, both directions, then exchanges acknowledgements.
Result<SyncSummary> syncTcp(Site& site, const std::string& address, const TcpOptions& options);

// Creates a new site at `path` from a snapshot of the site served at `address`, then syncs it.
Result<std::unique_ptr<Site>> cloneTcp(const std::string& address, const std::string& path,
                                       const CreateOptions& create, SiteOptions siteOptions,
                                       const TcpOptions& options);

}  // namespace parley::sync
