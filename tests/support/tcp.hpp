// TCP sync in tests: options with a strong secret and a short timeout, a server on a free
// loopback port, and its address.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "parley/sync/tcp.hpp"
#include "support/sites.hpp"

namespace parley::test {

inline constexpr const char* kTcpSecret = "e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d";

inline sync::TcpOptions tcpOptions(std::string secret = kTcpSecret) {
  sync::TcpOptions o;
  o.secret = std::move(secret);
  o.timeout = std::chrono::seconds(10);
  return o;
}

inline std::unique_ptr<sync::Server> serveOk(Site& site, sync::TcpOptions o = tcpOptions()) {
  auto server = sync::Server::start(site, "127.0.0.1:0", std::move(o));
  REQUIRE_OK(server);
  REQUIRE(server.value()->port() > 0);
  return std::move(server).value();
}

inline std::string addressOf(const sync::Server& server) { return "127.0.0.1:" + std::to_string(server.port()); }

}  // namespace parley::test
