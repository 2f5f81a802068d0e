// Pieces the TCP client functions share (syncTcp in tcp_sync.cpp, cloneTcp in tcp_clone.cpp).
#pragma once

#include <exception>
#include <string>

#include "parley/sync/tcp.hpp"
#include "sync.capnp.h"
#include "tcp_client.hpp"
#include "tcp_limits.hpp"
#include "tcp_status.hpp"

namespace parley::sync {

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
