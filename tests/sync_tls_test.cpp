// What travels between two sites over TCP, seen from a recording proxy in the middle
// (tests/support/recording_proxy.hpp): TLS 1.3 hides every row value and site name, a changed
// byte fails the sync without changing either site, a replayed session gets nowhere, a wrong
// secret learns nothing, weak secrets are refused, repeated failures are slowed down, and
// plaintext happens only where both sides ask for it.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "parley/site.hpp"
#include "parley/sync/secret.hpp"
#include "parley/sync/tcp.hpp"
#include "support/recording_proxy.hpp"
#include "support/sites.hpp"
#include "support/tcp.hpp"

namespace parley {
namespace {

using sync::Server;
using sync::TcpOptions;
using testing::Cluster;
using test::execOk;
using test::RecordingProxy;
using test::tableContents;

constexpr const char* kSecret = "c979e415afb60cc6236b4344b544196d13963b8ce1f51f6def638223bc60fd53";
constexpr const char* kOtherSecret = "9f88cfad580e9f6411d70b90863f2ca6ebb0ef8fee70eab4343ab00177274a71";
constexpr const char* kRowMarker = "confidential-row-value-7f3a";

TcpOptions options(std::string secret = kSecret, bool insecure = false) {
  TcpOptions o = test::tcpOptions(std::move(secret));
  o.insecure = insecure;
  return o;
}

std::unique_ptr<Server> serve(Site& site, TcpOptions o = options()) { return test::serveOk(site, std::move(o)); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Site 0 holds rows the other has not seen: one marked value and enough bulk to take several
// TLS records.
void writeMarkedRows(Site& site) {
  execOk(site, "INSERT INTO t VALUES (1, ?1, 'x')", {test::Txt(kRowMarker)});
  for (int i = 2; i < 50; ++i)
    execOk(site, "INSERT INTO t VALUES (?1, ?2, ?3)", {test::Int(i), test::Txt(std::string(200, 'q')), test::Int(i)});
}

struct Snapshot {
  VersionVector vector;
  std::vector<Row> rows;
  bool operator==(const Snapshot&) const = default;
};
Snapshot snapshot(Site& site) { return {site.vector().value(), tableContents(site, "t")}; }

TEST_CASE("a sync over TLS shows no row value, site name or secret to a recording proxy", "[sync][tls]") {
  Cluster c(test::clusterOptions(2));
  writeMarkedRows(c[0]);
  auto server = serve(c[1]);
  RecordingProxy proxy(server->port());
  REQUIRE_OK(sync::syncTcp(c[0], proxy.address(), options()));
  server->stop();
  CHECK(tableContents(c[0], "t") == tableContents(c[1], "t"));

  std::string wire = proxy.toServer() + proxy.toClient();
  REQUIRE(wire.size() > 10'000);
  for (const std::string secretThing : {std::string(kRowMarker), std::string(200, 'q'), c[0].name(), c[1].name(),
                                        std::string(kSecret)})
    CHECK_FALSE(contains(wire, secretThing));
  // The server chose TLS 1.3: its ServerHello carries supported_versions = 0x0304.
  CHECK(contains(proxy.toClient(), std::string("\x00\x2b\x00\x02\x03\x04", 6)));
}

TEST_CASE("with --insecure on both sides the sync works and the same proxy reads everything", "[sync][tls]") {
  Cluster c(test::clusterOptions(2));
  writeMarkedRows(c[0]);
  auto server = serve(c[1], options(kSecret, true));
  RecordingProxy proxy(server->port());
  REQUIRE_OK(sync::syncTcp(c[0], proxy.address(), options(kSecret, true)));
  server->stop();
  CHECK(tableContents(c[0], "t") == tableContents(c[1], "t"));
  CHECK(contains(proxy.toServer(), kRowMarker));  // what the TLS test above proves hidden
  CHECK(contains(proxy.toServer(), c[0].name()));
}

TEST_CASE("TLS and --insecure do not meet: each side says the other speaks plaintext", "[sync][tls]") {
  Cluster c(test::clusterOptions(2));
  writeMarkedRows(c[0]);
  SECTION("a TLS client and an --insecure server") {
    auto server = serve(c[1], options(kSecret, true));
    auto r = sync::syncTcp(c[0], "127.0.0.1:" + std::to_string(server->port()), options());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "plaintext"));
    CHECK(contains(r.status().message(), "--insecure"));
  }
  SECTION("an --insecure client and a TLS server") {
    auto server = serve(c[1]);
    auto r = sync::syncTcp(c[0], "127.0.0.1:" + std::to_string(server->port()), options(kSecret, true));
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "--insecure"));
    server->stop();
    auto log = server->takeLog();
    REQUIRE_FALSE(log.empty());
    CHECK(contains(log.back(), "speaks plaintext"));
  }
  CHECK(tableContents(c[1], "t").empty());
}

// Runs one sync through a proxy that flips the byte at `flip`; returns whether it succeeded.
bool syncWithFlip(Cluster& c, RecordingProxy::Flip flip, std::string& error, bool& flipped) {
  auto server = serve(c[1]);
  RecordingProxy proxy(server->port(), flip);
  auto o = options();
  o.timeout = std::chrono::seconds(3);
  auto r = sync::syncTcp(c[0], proxy.address(), o);
  server->stop();
  flipped = proxy.flipped();
  if (!r.ok()) error = r.status().message();
  return r.ok();
}

TEST_CASE("a byte changed anywhere on the way fails the sync in one line and forges nothing", "[sync][tls]") {
  // Measure a clean session first, to spread the flips over all of it.
  std::size_t toServer = 0, toClient = 0;
  {
    Cluster clean(test::clusterOptions(2));
    writeMarkedRows(clean[0]);
    auto server = serve(clean[1]);
    RecordingProxy proxy(server->port());
    REQUIRE_OK(sync::syncTcp(clean[0], proxy.address(), options()));
    server->stop();
    toServer = proxy.toServer().size();
    toClient = proxy.toClient().size();
  }
  for (bool towardServer : {true, false}) {
    std::size_t length = towardServer ? toServer : toClient;
    for (std::size_t k = 0; k < 12; ++k) {
      // Offsets from the first record (the ClientHello or ServerHello) on, up to the last
      // tenth: the session's last messages (the reply to a call nobody waits for, the closing
      // alert) may arrive after the peer stopped reading, and a flip there reaches nobody.
      std::size_t offset = k == 0 ? 9 : k * (length * 9 / 10) / 11;
      Cluster c(test::clusterOptions(2));
      writeMarkedRows(c[0]);
      Snapshot before0 = snapshot(c[0]), before1 = snapshot(c[1]);
      std::string error;
      bool flipped = false;
      bool ok = syncWithFlip(c, {towardServer, offset}, error, flipped);
      INFO("flip at byte " << offset << " of " << length << (towardServer ? " toward the server" : " toward the client"));
      REQUIRE(flipped);
      CHECK_FALSE(ok);
      CHECK(error.find('\n') == std::string::npos);
      CHECK_FALSE(error.empty());
      // Nothing forged: each site is as it was, or holds exactly what the authentic session
      // brought (a flip in the last acknowledgement comes after the data was checked and
      // committed); a clean sync then converges.
      Snapshot after1 = snapshot(c[1]);
      CHECK(snapshot(c[0]) == before0);
      CHECK((after1 == before1 || after1.rows == before0.rows));
      auto server = serve(c[1]);
      REQUIRE_OK(sync::syncTcp(c[0], "127.0.0.1:" + std::to_string(server->port()), options()));
      server->stop();
      CHECK(snapshot(c[0]) == snapshot(c[1]));
    }
  }
}

TEST_CASE("a recorded session replayed to the server gets nowhere", "[sync][tls]") {
  Cluster c(test::clusterOptions(3));
  writeMarkedRows(c[0]);
  // Site 2 is like site 1 before the sync: the replay's target.
  std::string recorded;
  {
    auto server = serve(c[1]);
    RecordingProxy proxy(server->port());
    REQUIRE_OK(sync::syncTcp(c[0], proxy.address(), options()));
    recorded = proxy.toServer();
  }
  auto server = serve(c[2]);
  std::string answer = test::replayTo(server->port(), recorded, std::chrono::seconds(3));
  server->stop();
  CHECK(tableContents(c[2], "t").empty());
  auto log = server->takeLog();
  REQUIRE_FALSE(log.empty());
  CHECK(contains(log.back(), "refused a connection from 127.0.0.1: TLS handshake failed"));
  CHECK_FALSE(contains(answer, kRowMarker));
}

TEST_CASE("a wrong secret learns nothing, on either side, and sends nothing", "[sync][tls]") {
  Cluster c(test::clusterOptions(2));
  writeMarkedRows(c[0]);
  Snapshot before0 = snapshot(c[0]), before1 = snapshot(c[1]);
  SECTION("the client's secret is wrong") {
    auto server = serve(c[1]);
    RecordingProxy proxy(server->port());
    auto r = sync::syncTcp(c[0], proxy.address(), options(kOtherSecret));
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "authentication failed"));
    server->stop();
    // The server answered the failed proof with an error only: a few hundred bytes, no proof.
    CHECK(proxy.toClient().size() < 4000);
    CHECK(proxy.toServer().size() < 4000);
  }
  SECTION("the server's secret is wrong") {
    auto server = serve(c[1], options(kOtherSecret));
    RecordingProxy proxy(server->port());
    auto r = sync::syncTcp(c[0], proxy.address(), options());
    REQUIRE_FALSE(r.ok());
    server->stop();
    CHECK(proxy.toServer().size() < 4000);  // the 10 kB of rows never left
  }
  CHECK(snapshot(c[0]) == before0);
  CHECK(snapshot(c[1]) == before1);
}

TEST_CASE("repeated failed logins from one source are slowed down and logged", "[sync][tls]") {
  Cluster c(test::clusterOptions(2));
  auto server = serve(c[1]);
  std::string address = "127.0.0.1:" + std::to_string(server->port());
  auto attempt = [&](const char* secret) {
    auto start = std::chrono::steady_clock::now();
    auto r = sync::syncTcp(c[0], address, options(secret));
    return std::make_pair(r.ok(), std::chrono::steady_clock::now() - start);
  };
  // Two failures are free; the third starts the waits.
  for (int i = 0; i < 3; ++i) CHECK_FALSE(attempt(kOtherSecret).first);
  // From here each attempt waits 250 ms, then 500, then 1000 before it is even answered.
  auto [ok1, waited1] = attempt(kOtherSecret);
  auto [ok2, waited2] = attempt(kOtherSecret);
  auto [ok3, waited3] = attempt(kOtherSecret);
  CHECK_FALSE((ok1 || ok2 || ok3));
  CHECK(waited1 >= std::chrono::milliseconds(250));
  CHECK(waited2 >= std::chrono::milliseconds(500));
  CHECK(waited3 >= std::chrono::milliseconds(1000));
  // The right secret still gets in (after the wait), and clears the count.
  auto [good, _] = attempt(kSecret);
  CHECK(good);
  auto [again, quick] = attempt(kSecret);
  CHECK(again);
  CHECK(quick < std::chrono::milliseconds(2000));
  server->stop();
  bool logged = false;
  for (const auto& line : server->takeLog()) logged |= contains(line, "its next connections wait");
  CHECK(logged);
}

TEST_CASE("weak secrets are refused with a hint, strong ones accepted", "[sync][tls]") {
  for (const char* weak : {"sunshine1", "correct-horse-battery-staple", "Tr0ub4dor&3", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                           "0123456789012345678901234567890123456789", "password password password password"}) {
    INFO(weak);
    auto st = sync::checkSecret(weak);
    CHECK_FALSE(st.isOk());
    CHECK(contains(st.message(), "parley secret"));
  }
  for (const char* strong : {kSecret, kOtherSecret, "q3Vx9Lk2Pz7Rt5Wm8Ny4Jc6Hb1Gd0Fs3Ae5Ku7Yo9Ip",  // base64-like
                             "8f1e-4c2b-9a7d-3e6f-b5c4-a1d0-7e9f-2b8c-4d6a-1f3e"})
    CHECK(sync::checkSecret(strong).isOk());
  for (int i = 0; i < 20; ++i) {
    auto made = sync::newSecret();
    REQUIRE_OK(made);
    CHECK(made.value().size() == 64);
    CHECK(sync::secretBits(made.value()) >= 160);
  }
  Cluster c(test::clusterOptions(1));
  auto server = Server::start(c[0], "127.0.0.1:0", options("sunshine1"));
  REQUIRE_FALSE(server.ok());
  CHECK(contains(server.status().message(), "too weak"));
  auto client = sync::syncTcp(c[0], "127.0.0.1:1", options("sunshine1"));
  REQUIRE_FALSE(client.ok());
  CHECK(contains(client.status().message(), "too weak"));
}

}  // namespace
}  // namespace parley
