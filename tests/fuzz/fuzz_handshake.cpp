// libFuzzer target: the input is what a TCP sync client sends, byte for byte.
//
// It is played against the real server side (handshake_replay.hpp: the Gate's HMAC
// challenge-response, then the Session's hello, pull, push, acknowledge and snapshot) of a site
// of the fuzz schema (made afresh after every input that logged in), in-process over a KJ
// in-memory pipe, with a fixed nonce so that the seed corpus (a real client's recorded
// handshakes, tests/sync_handshake_test.cpp) logs in.
// Whatever the bytes: no crash, no sanitizer report, the server sees the disconnect, and
//   - without a successful login the site is unchanged (no one without the secret writes);
//   - with one, the site can still read its whole log back;
//   - every line the server notes (parley serve prints them) is one line.
#include <kj/async.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz/fuzz_site.hpp"
#include "fuzz/handshake_replay.hpp"
#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"

namespace {

using namespace parley;

[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_handshake: %s: %s\n", what, detail.c_str());
  std::abort();
}

using Served = fuzz::FuzzSite;

std::unique_ptr<Served> makeServed() {
  auto s = std::make_unique<Served>();
  if (auto st = s->open("server"); !st) violated("setup", st.toString());
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static kj::EventLoop loop;
  static kj::WaitScope waitScope(loop);
  sync::TcpOptions options;
  options.secret = fuzz::kSecret;
  options.nonces = test::fixedNonce;
  // A site is made afresh only after a login: without one it was checked unchanged.
  static std::unique_ptr<Served> served;
  if (!served) served = makeServed();
  Site& site = *served->site;
  VersionVector before = site.vector().value();
  test::ReplayResult result;
  try {
    result = test::replayHandshake(waitScope, site, options,
                                   std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const kj::Exception& e) {
    violated("the replay did not end", e.getDescription().cStr());
  }
  if (!result.granted && site.vector().value() != before) violated("a peer that did not log in changed the site", "");
  if (auto log = site.replication().changesSince({}); !log)
    violated("the site cannot read its log back", log.status().toString());
  for (const auto& line : result.log)
    if (line.find('\n') != std::string::npos) violated("a server note is not one line", line);
  if (result.granted) served.reset();
  return 0;
}
