// Plays bytes as the client's side of one TCP sync connection against the real server side
// (sync/tcp_gate: the HMAC challenge-response login; then the Session: hello, pull, push,
// acknowledge, snapshot), in-process: the server's Cap'n Proto RPC system runs on one end of a
// KJ in-memory two-way pipe, the bytes are written into the other end and whatever the server
// answers is read and dropped.
//
// The bytes are cut at Cap'n Proto message boundaries (the stream framing: segment count and
// sizes) as far as they parse, and the event loop runs until idle after each message, as it
// would with a real client waiting for replies; the rest goes in one write. Then the client end
// shuts down its writes and the replay waits for the server to see the disconnect.
//
// Nonces come from TcpOptions::nonces, so a recorded client (tests/sync_handshake_test.cpp)
// logs in again when the server's nonce source is the one it was recorded with.
// REQUIRES: one kj::EventLoop in this thread, whose WaitScope is passed in.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"
#include "tcp_gate.hpp"
#include "tcp_server_state.hpp"

namespace parley::test {

// The nonce every replayed handshake uses (server and recorded client alike).
inline std::array<std::uint8_t, 32> fixedNonce() {
  std::array<std::uint8_t, 32> n;
  n.fill(0x5a);
  return n;
}

// The pieces of `bytes` that are whole Cap'n Proto stream messages, then the rest (if any).
inline std::vector<std::string_view> capnpMessages(std::string_view bytes) {
  std::vector<std::string_view> out;
  auto u32 = [&](std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, bytes.data() + at, 4);
    return v;
  };
  while (bytes.size() >= 8) {
    std::uint64_t segments = std::uint64_t{u32(0)} + 1;
    if (segments > 512) break;
    std::uint64_t header = (4 + 4 * segments + 7) / 8 * 8;
    if (bytes.size() < header) break;
    std::uint64_t words = 0;
    for (std::uint64_t i = 0; i < segments; ++i) words += u32(4 + 4 * i);
    std::uint64_t length = header + words * 8;
    if (length > bytes.size()) break;
    out.push_back(bytes.substr(0, length));
    bytes.remove_prefix(length);
  }
  if (!bytes.empty()) out.push_back(bytes);
  return out;
}

namespace detail {

inline kj::Promise<void> drain(kj::AsyncIoStream& stream, kj::byte* buffer, std::size_t size) {
  return stream.tryRead(buffer, 1, size).then([&stream, buffer, size](std::size_t n) -> kj::Promise<void> {
    if (n == 0) return kj::READY_NOW;
    return drain(stream, buffer, size);
  });
}

}  // namespace detail

struct ReplayResult {
  bool granted = false;  // a login succeeded
  std::vector<std::string> log;  // what the server noted
};

inline ReplayResult replayHandshake(kj::WaitScope& waitScope, Site& site, const sync::TcpOptions& options,
                                    std::string_view bytes) {
  auto pipe = kj::newTwoWayPipe();
  sync::ServerState state(site, options);
  auto granted = std::make_shared<bool>(false);
  {
    capnp::TwoPartyVatNetwork network(*pipe.ends[0], capnp::rpc::twoparty::Side::SERVER);
    auto rpc = capnp::makeRpcServer(network, wire::Gate::Client(kj::heap<sync::GateImpl>(state, "fuzz", sync::auth::kPlaintextChannel, granted)));
    kj::AsyncIoStream& client = *pipe.ends[1];
    auto buffer = kj::heapArray<kj::byte>(1 << 16);
    auto draining = detail::drain(client, buffer.begin(), buffer.size()).eagerlyEvaluate([](kj::Exception&&) {});
    auto disconnected = network.onDisconnect().fork();
    for (std::string_view message : capnpMessages(bytes)) {
      bool ended = client.write(message.data(), message.size())
                       .then([] { return false; })
                       .exclusiveJoin(disconnected.addBranch().then([] { return true; }))
                       .wait(waitScope);
      if (ended) break;
      waitScope.poll();
    }
    client.shutdownWrite();
    disconnected.addBranch().wait(waitScope);
    waitScope.poll();
  }
  return {*granted, state.take()};
}

}  // namespace parley::test
