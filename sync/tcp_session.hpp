// A sync session on the server, granted by the Gate to an authenticated peer: each request of
// the peer's runSession (parley/sync/link.hpp) answered by a Responder (responder.hpp), the
// same code that answers over any link. Pull streams as a promise chain on the event loop
// (tcp_outgoing.hpp); push applies each chunk as it arrives. A hello from the nil site id
// comes from a site being cloned: it may only take a snapshot. Or, after hello, one live
// subscription (tcp_live.hpp) that lasts as long as the connection.
// Lives on the server's thread; writes one log line when the sync ends.
#pragma once

#include <memory>
#include <optional>

#include "parley/sync/session.hpp"
#include "sync.capnp.h"
#include "tcp_server_state.hpp"
#include "responder.hpp"
#include "tcp_sink.hpp"

namespace parley::sync {

class SessionImpl final : public wire::Session::Server {
 public:
  SessionImpl(ServerState& server, SiteId peer);
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
  std::string peerName() const;
  std::string summary() const;

  ServerState& server_;
  SiteId peer_;
  Responder responder_;
  std::optional<std::uint64_t> snapshotBytes_;
  bool logged_ = false;
  bool subscribed_ = false;
};

}  // namespace parley::sync
