// Pieces the TCP client functions share (syncTcp in tcp_sync.cpp, cloneTcp in tcp_clone.cpp,
// the Subscriber in tcp_subscriber.cpp): the client's side of a session over TCP.
#pragma once

#include <exception>
#include <string>

#include "parley/sync/link.hpp"
#include "parley/sync/tcp.hpp"
#include "sync.capnp.h"
#include "tcp_client.hpp"
#include "tcp_limits.hpp"
#include "tcp_status.hpp"

namespace parley::sync {

// The client's side of a session (parley/sync/link.hpp) over TCP: each request one RPC of
// sync.capnp's Session, waited for on the client's event loop. KJ's exceptions become
// Statuses here, so they never cross the site's code.
class TcpLink final : public Link {
 public:
  TcpLink(Site& site, Client& client, wire::Session::Client session);
  ~TcpLink() noexcept override;

  Result<Hello> hello(const Hello& mine) override;
  Status pull(const VersionVector& since, ChunkSink& sink) override;
  Result<std::unique_ptr<ChunkSink>> push() override;
  Result<Goodbye> acknowledge(const Goodbye& mine) override;

  // For the requests outside Link's (a live subscription's).
  wire::Session::Client& session() { return session_; }

 private:
  Site& site_;
  Client& client_;
  wire::Session::Client session_;
};

// An acknowledge request saying `mine`, and the Goodbye its reply says.
capnp::Request<wire::Session::AcknowledgeParams, wire::Session::AcknowledgeResults> acknowledgeRequest(
    wire::Session::Client& session, const Goodbye& mine);
Goodbye readGoodbye(wire::Session::AcknowledgeResults::Reader reply);

// Sends this side's hello and returns the server's (which refuses an incompatible one).
Hello sayHello(Client& client, wire::Session::Client& session, const Hello& mine);

// Runs `body`, turning whatever it throws into a Status "<what> <address>: <problem>".
template <class F>
auto guardedTcp(const char* what, const std::string& address, F&& body) -> decltype(body()) {
  try {
    auto result = body();
    if (!result) return aboutPeer(what, address, result.status());
    return result;
  } catch (const kj::Exception& e) {
    return aboutPeer(what, address, statusOf(e));
  } catch (const Error& e) {
    return aboutPeer(what, address, e.status());
  } catch (const InternalError& e) {
    return e.status();
  } catch (const std::exception& e) {
    return aboutPeer(what, address, Status::ioError(e.what()));
  }
}

}  // namespace parley::sync
