// A sync session on the server, granted by the Gate to an authenticated peer.
//
// The peer says hello first; the server checks it is compatible (same protocol, cluster and
// schema fingerprint) and refuses with the reason otherwise. Then, in the client's order:
// pull (the server streams what the peer lacks), push (the peer streams to a sink that
// applies each chunk as it arrives), acknowledge (both record what the other holds). A hello
// from the nil site id comes from a site being cloned: it may only take a snapshot. Or, after
// hello, one live subscription (tcp_live.hpp) that lasts as long as the connection.
// Lives on the server's thread; writes one log line when the sync ends.
#pragma once

#include <memory>
#include <optional>

#include "parley/sync/session.hpp"
#include "sync.capnp.h"
#include "tcp_server_state.hpp"
#include "tcp_sink.hpp"

namespace parley::sync {

class SessionImpl final : public wire::Session::Server {
 public:
  SessionImpl(ServerState& server, SiteId peer) : server_(server), peer_(peer) {}
  ~SessionImpl();

 protected:
  kj::Promise<void> hello(HelloContext context) override;
  kj::Promise<void> pull(PullContext context) override;
  kj::Promise<void> push(PushContext context) override;
  kj::Promise<void> acknowledge(AcknowledgeContext context) override;
  kj::Promise<void> snapshot(SnapshotContext context) override;
  kj::Promise<void> subscribe(SubscribeContext context) override;
  kj::Promise<void> summarize(SummarizeContext context) override;

 private:
  void checkHello(const Hello& remote);
  // REQUIRES: a compatible hello from a site (not a clone).
  void requireSync(const char* what) const;
  std::string peerName() const;
  std::string summary() const;

  ServerState& server_;
  SiteId peer_;
  std::optional<Hello> hello_;
  StreamTotals sent_;
  std::shared_ptr<Received> received_;
  std::optional<std::uint64_t> snapshotBytes_;
  bool logged_ = false;
  bool subscribed_ = false;
};

}  // namespace parley::sync
