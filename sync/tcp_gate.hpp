// The server's bootstrap capability: a challenge-response login and nothing else.
//
// One Gate per connection, good for one login: challenge() hands out a fresh nonce, login()
// checks the client's proof against it (constant-time) and only then grants a Session, with
// the server's own proof. A wrong proof gets "authentication failed" and no Session, so a peer
// without the cluster secret can neither read nor write anything.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "auth.hpp"
#include "sync.capnp.h"
#include "tcp_server_state.hpp"

namespace parley::sync {

class GateImpl final : public wire::Gate::Server {
 public:
  // `granted` is set, and `onGranted` called, once a login succeeds. `source` is the peer's
  // address (for the login throttle), `channel` what binds its proof to this connection.
  GateImpl(ServerState& server, std::string source, const auth::Digest& channel, std::shared_ptr<bool> granted,
           std::function<void()> onGranted = {})
      : server_(server),
        source_(std::move(source)),
        channel_(channel),
        granted_(std::move(granted)),
        onGranted_(std::move(onGranted)) {}

 protected:
  kj::Promise<void> challenge(ChallengeContext context) override;
  kj::Promise<void> login(LoginContext context) override;

 private:
  ServerState& server_;
  std::string source_;
  auth::Digest channel_;
  std::shared_ptr<bool> granted_;
  std::function<void()> onGranted_;
  std::optional<auth::Nonce> nonce_;
  bool tried_ = false;
};

}  // namespace parley::sync
