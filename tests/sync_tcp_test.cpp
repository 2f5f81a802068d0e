// Sync over TCP between sites in one process, over loopback: servers on port 0, clients in
// the test's thread (or threads of their own). A site served by a Server is touched only by
// the server's thread until the server stops; the tests read it after stop().
//
// Checked: convergence both ways with conflicts, forwarding along a chain, concurrent
// clients, refusal of a wrong secret / another cluster / another schema with nothing learned
// or changed, one-line errors for unreachable or silent servers, long streams in small chunks
// (transactions larger than a chunk included), resuming after a connection cut mid-stream,
// clone.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"
#include "support/sites.hpp"
#include "support/tcp.hpp"

namespace parley {
namespace {

using sync::Server;
using sync::syncTcp;
using sync::TcpOptions;
using testing::Cluster;
using test::ClusterOptions;
using test::execOk;
using test::queryInt;
using test::tableContents;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

using test::addressOf;

TcpOptions options(std::string secret = test::kTcpSecret, std::size_t chunkBytes = sync::kChunkBytes) {
  TcpOptions o = test::tcpOptions(std::move(secret));
  o.chunkBytes = chunkBytes;
  return o;
}

std::unique_ptr<Server> serve(Site& site, TcpOptions o = options()) { return test::serveOk(site, std::move(o)); }

sync::SyncSummary syncOk(Site& site, const Server& server, const TcpOptions& o = options()) {
  auto r = syncTcp(site, addressOf(server), o);
  REQUIRE_OK(r);
  return std::move(r).value();
}

// `rows` single-row transactions inserting ids from `first`.
void insertRows(Site& site, int first, int rows, const std::string& tag) {
  for (int i = first; i < first + rows; ++i)
    execOk(site, "INSERT INTO t(id, a, b) VALUES (?1, ?2, ?3)",
           {test::Int(i), test::Txt(tag), test::Txt(std::string(40, 'x'))});
}

void checkConverged(Site& a, Site& b) {
  CHECK(a.vector().value() == b.vector().value());
  CHECK(tableContents(a, "t") == tableContents(b, "t"));
}

TEST_CASE("two sites sync over TCP both ways and converge, conflicts included", "[sync][tcp]") {
  Cluster c(test::clusterOptions(2));
  Site &client = c[0], &served = c[1];
  execOk(client, "INSERT INTO t VALUES (1, 'client', 0)");
  execOk(client, "INSERT INTO t VALUES (2, 'client only', 0)");
  execOk(served, "INSERT INTO t VALUES (1, 'server', 0)");
  execOk(served, "INSERT INTO t VALUES (3, 'server only', 0)");
  c.clock(1).advance(5);  // the server's insert of row 1 is later: lww keeps it
  execOk(served, "UPDATE t SET b = 7 WHERE id = 1");

  auto server = serve(served);
  auto summary = syncOk(client, *server);
  CHECK(summary.peer.site == served.id());
  CHECK(summary.peer.name == "site1");
  CHECK(summary.received.applied == 3);
  CHECK(summary.received.conflicts >= 1);
  CHECK(summary.sent.transactions == 2);

  auto again = syncOk(client, *server);
  CHECK(again.received.applied == 0);
  CHECK(again.sent.transactions == 0);
  server->stop();
  auto log = server->takeLog();
  REQUIRE(log.size() == 1);  // the second sync moved nothing: an idle round is not logged
  CHECK(contains(log[0], "synced with site0: sent 3, received 2"));
  CHECK(server->takeLog().empty());

  checkConverged(client, served);
  CHECK(queryInt(client, "SELECT b FROM t WHERE id = 1") == 7);
  CHECK(tableContents(client, "t").size() == 3);
  // Each side learned what the other holds.
  auto acks = client.replication().acknowledgements();
  REQUIRE_OK(acks);
  bool knowsServer = false;
  for (const auto& [id, v] : *acks) knowsServer |= id == served.id() && v == served.vector().value();
  CHECK(knowsServer);
}

TEST_CASE("three sites in a chain converge by forwarding through the middle one", "[sync][tcp]") {
  Cluster c(test::clusterOptions(3));
  Site &a = c[0], &b = c[1], &z = c[2];
  execOk(a, "INSERT INTO t VALUES (1, 'a', 0)");
  execOk(b, "INSERT INTO t VALUES (2, 'b', 0)");
  execOk(z, "INSERT INTO t VALUES (3, 'z', 0)");
  execOk(z, "INSERT INTO t VALUES (1, 'z', 1)");  // concurrent with a's insert of row 1

  auto server = serve(b);
  syncOk(a, *server);
  syncOk(z, *server);
  syncOk(a, *server);
  server->stop();

  checkConverged(a, b);
  checkConverged(b, z);
  CHECK(tableContents(a, "t").size() == 3);
}

TEST_CASE("concurrent clients syncing with one server converge", "[sync][tcp]") {
  Cluster c(test::clusterOptions(3));
  Site& served = c[1];
  auto server = serve(served);
  std::vector<Status> failures;
  std::mutex failuresMutex;
  auto client = [&](Site& site, int base) {
    for (int round = 0; round < 5; ++round) {
      Status st = site.exec("INSERT INTO t VALUES (?1, 'w', ?2)", {test::Int(base + round), test::Int(round)}).status();
      if (st) st = syncTcp(site, addressOf(*server), options("e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d", 512)).status();
      if (!st) {
        std::lock_guard lock(failuresMutex);
        failures.push_back(st);
      }
    }
  };
  std::thread first(client, std::ref(c[0]), 100), second(client, std::ref(c[2]), 200);
  first.join();
  second.join();
  for (const auto& st : failures) CHECK_OK(st);
  syncOk(c[0], *server);
  syncOk(c[2], *server);
  server->stop();
  checkConverged(c[0], served);
  checkConverged(c[2], served);
  CHECK(tableContents(served, "t").size() == 10);
}

TEST_CASE("a peer with the wrong secret is refused and neither side learns or changes anything", "[sync][tcp]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'client', 0)");
  execOk(c[1], "INSERT INTO t VALUES (2, 'server', 0)");
  VersionVector clientBefore = c[0].vector().value(), serverBefore = c[1].vector().value();
  auto rowsBefore = tableContents(c[1], "t");

  auto server = serve(c[1], options("5f2b8d1e9c4a7f3e6b0d2c8a1f5e9b3d7c4a0e6f2b8d1c5a9e3f7b0d4c2a6e8f"));
  auto r = syncTcp(c[0], addressOf(*server), options("a3e7c1f5b9d2e6a0c4f8b1d5e9a2c6f0b3d7e1a5c8f2b6d0e4a7c1f5b9d3e6a0"));
  server->stop();
  INFO(r.status().toString());
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.status().message(), "authentication failed"));
  CHECK(contains(r.status().message(), addressOf(*server)));
  CHECK_FALSE(contains(r.status().message(), "\n"));
  CHECK(c[0].vector().value() == clientBefore);
  CHECK(c[1].vector().value() == serverBefore);
  CHECK(tableContents(c[1], "t") == rowsBefore);
  auto log = server->takeLog();
  REQUIRE(log.size() == 1);
  CHECK(contains(log[0], "authentication failed"));
}

TEST_CASE("sites of another cluster or another schema are refused with the reason", "[sync][tcp]") {
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 0)");
  VersionVector before = c[0].vector().value();
  auto server = serve(c[0]);

  SECTION("another cluster") {
    ManualClock clock;
    test::FixedIdSource ids(test::testSiteId(7));
    CreateOptions create{"stranger", &ids, test::testSiteId(0xdd)};
    auto stranger = Site::create(":memory:", create, {&clock, resolvers::lwwEverywhere()});
    REQUIRE_OK(stranger);
    execOk(**stranger, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)");
    REQUIRE_OK((*stranger)->track("t"));
    auto r = syncTcp(**stranger, addressOf(*server), options());
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "site0 belongs to another cluster"));
    CHECK(contains(r.status().message(), addressOf(*server)));
    CHECK((*stranger)->vector().value().empty());
  }
  SECTION("another schema") {
    ClusterOptions o;
    o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, extra);";
    o.idBytes = {9};
    Cluster other(test::clusterOptions(1, o));
    auto r = syncTcp(other[0], addressOf(*server), options());
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "site0 has a different schema"));
    CHECK(other[0].vector().value().empty());
  }
  server->stop();
  CHECK(c[0].vector().value() == before);
}

TEST_CASE("a sync that cannot reach its server says so in one line", "[sync][tcp]") {
  Cluster c(test::clusterOptions(1));
  SECTION("nobody listens") {
    auto server = serve(c[0]);
    std::string address = addressOf(*server);
    server->stop();
    auto r = syncTcp(c[0], address, options());
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), address));
    CHECK(contains(r.status().message(), "connection refused"));
  }
  SECTION("the server never answers") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 4) == 0);  // the kernel completes connections nobody accepts
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    auto o = options();
    o.timeout = std::chrono::milliseconds(200);
    auto r = syncTcp(c[0], "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), o);
    ::close(fd);
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "no reply within 200 ms"));
  }
  SECTION("no secret") {
    auto r = syncTcp(c[0], "127.0.0.1:1", options(""));
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "secret"));
  }
}

TEST_CASE("a server that cannot listen says why in one line", "[sync][tcp]") {
  Cluster c(test::clusterOptions(2));
  auto first = serve(c[0]);
  auto second = Server::start(c[1], addressOf(*first), options());
  INFO(second.status().toString());
  REQUIRE_FALSE(second.ok());
  CHECK(contains(second.status().message(), "listen on " + addressOf(*first)));
  CHECK_FALSE(contains(second.status().message(), "\n"));
  auto noSecret = Server::start(c[1], "127.0.0.1:0", options(""));
  REQUIRE_FALSE(noSecret.ok());
  CHECK(contains(noSecret.status().message(), "secret"));
}

TEST_CASE("a connection that does not log in within the timeout is dropped", "[sync][tcp]") {
  Cluster c(test::clusterOptions(1));
  auto o = options();
  o.timeout = std::chrono::milliseconds(100);
  auto server = serve(c[0], o);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(server->port()));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval wait{5, 0};
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) == 0);
  char byte;
  CHECK(::recv(fd, &byte, 1, 0) == 0);  // closed by the server, not by the 5 s receive timeout
  ::close(fd);
}

TEST_CASE("20000 transactions stream in 4 KiB chunks both ways and converge", "[sync][tcp]") {
  Cluster c(test::clusterOptions(2));
  insertRows(c[1], 1, 20000, "server");
  insertRows(c[0], 100000, 2000, "client");
  // Transactions larger than a chunk travel in pieces.
  execOk(c[1], "INSERT INTO t VALUES (-1, 'big', ?1)", {test::Txt(std::string(50000, 's'))});
  execOk(c[0], "INSERT INTO t VALUES (-2, 'big', ?1)", {test::Txt(std::string(30000, 'c'))});
  auto server = serve(c[1], options("e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d", 4096));
  std::uint64_t reports = 0, last = 0;
  bool increasing = true;
  auto o = options("e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d", 4096);
  o.progress = [&](std::uint64_t n) {
    increasing &= n > last;
    last = n;
    ++reports;
  };
  auto summary = syncOk(c[0], *server, o);
  server->stop();
  CHECK(summary.received.applied == 20001);
  CHECK(summary.sent.transactions == 2001);
  CHECK(last == 20001);
  CHECK(increasing);
  CHECK(reports > 100);  // many chunks
  checkConverged(c[0], c[1]);
  CHECK(queryInt(c[1], "SELECT count(*) FROM t") == 22002);
  CHECK(queryInt(c[0], "SELECT length(b) FROM t WHERE id = -1") == 50000);
}

// Cuts the first sync after about a quarter of the stream, then syncs again.
void checkResumes(Cluster& c, const std::function<void(Server&)>& cut) {
  constexpr int kRows = 8000;
  insertRows(c[1], 1, kRows, "server");
  const SiteId origin = c[1].id();
  auto server = serve(c[1], options("e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d", 2048));
  auto o = options("e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d", 2048);
  bool cutDone = false;
  o.progress = [&](std::uint64_t n) {
    if (n >= kRows / 4 && !cutDone) {
      cutDone = true;
      cut(*server);
    }
  };
  auto first = syncTcp(c[0], addressOf(*server), o);
  INFO(first.status().toString());
  REQUIRE_FALSE(first.ok());
  CHECK_FALSE(contains(first.status().message(), "\n"));
  std::uint64_t kept = c[0].vector().value().get(origin);
  CHECK(kept >= kRows / 4);
  CHECK(kept < kRows);
  CHECK(queryInt(c[0], "SELECT count(*) FROM t") == static_cast<std::int64_t>(kept));

  server->stop();
  server = serve(c[1]);
  auto second = syncOk(c[0], *server);
  server->stop();
  CHECK(second.received.applied == kRows - kept);
  CHECK(second.received.duplicates == 0);
  checkConverged(c[0], c[1]);
  CHECK(queryInt(c[0], "SELECT count(*) FROM t") == kRows);
}

TEST_CASE("a sync cut mid-stream keeps what arrived and the next one resumes without duplicates", "[sync][tcp]") {
  Cluster c(test::clusterOptions(2));
  SECTION("the server stops") {
    checkResumes(c, [](Server& server) { server.stop(); });
  }
  SECTION("the progress callback aborts") {
    checkResumes(c, [](Server&) { throw std::runtime_error("cancelled by the user"); });
  }
}

TEST_CASE("cloneTcp makes a site with the same data and a new id, which then syncs", "[sync][tcp]") {
  Cluster c(test::clusterOptions(1));
  insertRows(c[0], 1, 50, "source");
  test::TempDir dir;
  ManualClock clock(c.options().clockStartMs + 1000);
  test::FixedIdSource ids(test::testSiteId(0x42));
  CreateOptions create{"newcomer", &ids, {}};
  SiteOptions siteOptions{&clock, c.options().resolvers};
  std::string path = dir.file("clone.db");

  auto server = serve(c[0]);
  auto cloned = sync::cloneTcp(addressOf(*server), path, create, siteOptions, options());
  REQUIRE_OK(cloned);
  Site& site = **cloned;
  CHECK(site.id() == test::testSiteId(0x42));
  CHECK(site.name() == "newcomer");
  CHECK(site.clusterId() == c[0].clusterId());
  CHECK_FALSE(std::filesystem::exists(path + ".part"));

  execOk(site, "INSERT INTO t VALUES (1000, 'from the clone', 0)");
  auto summary = syncOk(site, *server);
  CHECK(summary.sent.transactions == 1);
  server->stop();
  checkConverged(site, c[0]);
  auto acks = c[0].replication().acknowledgements();
  REQUIRE_OK(acks);
  bool knowsClone = false;
  for (const auto& [id, v] : *acks) knowsClone |= id == site.id();
  CHECK(knowsClone);
  auto log = server->takeLog();
  // The snapshot and the sync that took the clone's insert; the clone's first sync moved nothing.
  CHECK(log.size() == 2);
  CHECK(std::any_of(log.begin(), log.end(), [](const std::string& l) { return contains(l, "sent a snapshot"); }));

  SECTION("a clone into an existing file is refused") {
    auto again = serve(c[0]);
    auto r = sync::cloneTcp(addressOf(*again), path, create, siteOptions, options());
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "already exists"));
  }
}

}  // namespace
}  // namespace parley
