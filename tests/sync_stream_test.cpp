// Live subscriptions over TCP (sync::Subscriber against sync::Server), in one process, over
// loopback. Every site is a file with several connections, as under `parley serve`: one for
// its Server, one per Subscriber, and the test's own for writing and reading, so commits are
// seen the way serve sees another process's: through PRAGMA data_version. No periodic sync
// runs in these tests: whatever arrives came through a stream.
//
// Checked: a commit shows up at the subscriber within 2 s (in practice milliseconds); a cut
// mid-stream resumes with nothing lost or applied twice; a server that is down at start is
// picked up when it comes up; an idle stream stays up on heartbeats; a silent peer delays no
// other subscription; three sites subscribing to each other converge.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using namespace std::chrono_literals;
using sync::Server;
using sync::Subscriber;
using test::execOk;
using test::queryInt;

sync::TcpOptions streamOptions() {
  sync::TcpOptions o;
  o.secret = "c9a4d4024f3472ed98453b17f75bdd6afbf1bee8f749710ac1e3b5ddf6669039";
  o.timeout = 5s;
  o.heartbeat = 100ms;
  return o;
}

// A site in a file of its own, opened as often as needed.
class FileSite {
 public:
  FileSite(const test::TempDir& dir, const std::string& name, std::uint8_t idByte)
      : path_(dir.file(name + ".db")), ids_(test::testSiteId(idByte)) {
    auto site = Site::create(path_, {name, &ids_, test::testClusterId()}, siteOptions());
    REQUIRE_OK(site);
    execOk(**site, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)");
    REQUIRE_OK((*site)->track("t"));
  }

  std::unique_ptr<Site> open() {
    auto site = Site::open(path_, siteOptions());
    REQUIRE_OK(site);
    return std::move(site).value();
  }

 private:
  SiteOptions siteOptions() { return {&clock_, resolvers::lwwEverywhere()}; }

  std::string path_;
  test::FixedIdSource ids_;
  ManualClock clock_;  // never moved: read by each connection's thread, written by none
};

std::string addressOf(const Server& server) { return "127.0.0.1:" + std::to_string(server.port()); }

std::unique_ptr<Server> serve(Site& site, const std::string& address = "127.0.0.1:0") {
  auto server = Server::start(site, address, streamOptions());
  REQUIRE_OK(server);
  return std::move(server).value();
}

std::unique_ptr<Subscriber> subscribe(Site& site, const std::string& address) {
  auto subscriber = Subscriber::start(site, address, streamOptions());
  REQUIRE_OK(subscriber);
  return std::move(subscriber).value();
}

// Site a served, site b subscribed to it, and a connection to each for writing or reading.
// REQUIRE: constructed inside a test case (it asserts that serving and subscribing started).
struct StreamedPair {
  explicit StreamedPair(test::TempDir& dir) : a(dir, "a", 1), b(dir, "b", 2) {}
  FileSite a, b;
  std::unique_ptr<Site> servedA = a.open(), writerA = a.open(), subscribingB = b.open(), readerB = b.open();
  std::unique_ptr<Server> server = serve(*servedA);
  std::unique_ptr<Subscriber> subscriber = subscribe(*subscribingB, addressOf(*server));
};

// Polls `until` every millisecond for at most `limit`; returns how long it took, or nullopt.
std::optional<std::chrono::milliseconds> waitFor(const std::function<bool()>& until,
                                                 std::chrono::milliseconds limit = 2s) {
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (until()) return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::this_thread::sleep_for(1ms);
  }
  return std::nullopt;
}

std::int64_t rows(Site& site) { return queryInt(site, "SELECT count(*) FROM t"); }

void insert(Site& site, int id, const std::string& tag) {
  execOk(site, "INSERT INTO t(id, a, b) VALUES (?1, ?2, 0)", {test::Int(id), test::Txt(tag)});
}

// For threads other than the test's: Catch's assertions are not thread-safe, so a failure is
// returned, to be checked after the join.
Status insertFromThread(Site& site, int id, const std::string& tag) {
  return site.exec("INSERT INTO t(id, a, b) VALUES (?1, ?2, 0)", {test::Int(id), test::Txt(tag)}).status();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Regression: loading the catalog left cached lookups stepped once and never reset, which
// pinned the connection's read snapshot: Site::vector() on a connection that only reads (like
// serve's) never saw another connection's commits.
TEST_CASE("a connection that only reads sees another connection's commits", "[sync][stream]") {
  test::TempDir dir;
  FileSite a(dir, "a", 1);
  auto reader = a.open(), writer = a.open();
  for (int i = 1; i <= 3; ++i) {
    insert(*writer, i, "w");
    CHECK(reader->vector().value() == writer->vector().value());
    CHECK(reader->vector().value().get(test::testSiteId(1)) == static_cast<std::uint64_t>(i));
  }
}

TEST_CASE("a commit at a served site is visible at its subscriber within 2 s without any periodic sync",
          "[sync][stream]") {
  test::TempDir dir;
  StreamedPair s(dir);
  REQUIRE(waitFor([&] { return s.subscriber->connections() == 1; }));

  for (int i = 1; i <= 20; ++i) {
    insert(*s.writerA, i, "from a");
    auto took = waitFor([&] { return rows(*s.readerB) == i; });
    INFO("transaction " << i);
    REQUIRE(took);
    CHECK(*took < 2s);
  }
  // Acknowledgements flow back over the stream too: the server learns what b holds.
  auto acked = [&] {
    auto acks = s.writerA->replication().acknowledgements();
    REQUIRE_OK(acks);
    for (const auto& [site, vector] : *acks)
      if (site == test::testSiteId(2)) return s.writerA->vector().value().leq(vector);
    return false;
  };
  CHECK(waitFor(acked));
  s.subscriber->stop();
  s.server->stop();
  CHECK(s.subscriber->totals().applied == 20);
  CHECK(s.subscriber->totals().duplicates == 0);
  CHECK(s.readerB->vector().value() == s.writerA->vector().value());
  CHECK_THAT(joined(s.subscriber->takeLog()), Catch::Contains("streaming from a (127.0.0.1:"));
  CHECK_THAT(joined(s.server->takeLog()), Catch::Contains("streaming to b"));
}

TEST_CASE("a full sync with the served site while a subscription runs does not stall the stream", "[sync][stream]") {
  test::TempDir dir;
  StreamedPair s(dir);
  auto syncingB = s.b.open();
  REQUIRE(waitFor([&] { return s.subscriber->connections() == 1; }));
  for (int i = 1; i <= 3; ++i) {
    REQUIRE_OK(sync::syncTcp(*syncingB, addressOf(*s.server), streamOptions()));
    insert(*s.writerA, i, "after a full sync");
    INFO("transaction " << i);
    CHECK(waitFor([&] { return rows(*s.readerB) == i; }));
  }
}

TEST_CASE("a subscription cut mid-stream resumes from the subscriber's vector with nothing lost or applied twice",
          "[sync][stream]") {
  constexpr int kRows = 1500;
  test::TempDir dir;
  FileSite a(dir, "a", 1), b(dir, "b", 2);
  auto servedA = a.open(), writerA = a.open(), subscribingB = b.open(), readerB = b.open();
  auto server = serve(*servedA);
  std::string address = addressOf(*server);
  auto subscriber = subscribe(*subscribingB, address);

  std::atomic<int> written{0};
  Status writes;
  std::thread writer([&] {
    for (int i = 1; i <= kRows && writes; ++i) {
      writes = insertFromThread(*writerA, i, "from a");
      written = i;
      std::this_thread::sleep_for(500us);  // keeps writing while the connection is cut
    }
  });
  struct JoinOnExit {
    std::thread& thread;
    ~JoinOnExit() {
      if (thread.joinable()) thread.join();
    }
  } joinWriter{writer};
  REQUIRE(waitFor([&] { return rows(*readerB) > 100; }, 10s));
  server->stop();  // cut: every connection of the server ends mid-stream
  CHECK(written < kRows);
  std::this_thread::sleep_for(150ms);
  server = serve(*servedA, address);
  REQUIRE(waitFor([&] { return written == kRows; }, 60s));
  writer.join();
  REQUIRE_OK(writes);
  REQUIRE(waitFor([&] { return rows(*readerB) == kRows; }, 10s));
  CHECK(waitFor([&] { return subscriber->connections() >= 2; }, 10s));
  subscriber->stop();
  server->stop();

  INFO(joined(subscriber->takeLog()));
  CHECK(subscriber->totals().applied == kRows);
  CHECK(subscriber->totals().duplicates == 0);
  CHECK(readerB->vector().value() == writerA->vector().value());
  CHECK(test::tableContents(*readerB, "t") == test::tableContents(*writerA, "t"));
}

TEST_CASE("a subscriber started while its server is down connects once the server comes up", "[sync][stream]") {
  test::TempDir dir;
  FileSite a(dir, "a", 1), b(dir, "b", 2);
  auto servedA = a.open(), writerA = a.open(), subscribingB = b.open(), readerB = b.open();
  std::string address = addressOf(*serve(*servedA));  // a port nobody listens on any more
  insert(*writerA, 1, "before the server was up");

  auto subscriber = subscribe(*subscribingB, address);
  std::this_thread::sleep_for(300ms);
  CHECK(subscriber->connections() == 0);
  auto server = serve(*servedA, address);
  insert(*writerA, 2, "after");
  CHECK(waitFor([&] { return rows(*readerB) == 2; }, 5s));
  subscriber->stop();
  auto log = joined(subscriber->takeLog());
  CHECK_THAT(log, Catch::Contains("connection refused; retrying in 100 ms"));
  CHECK_THAT(log, Catch::Contains("streaming from a"));
}

TEST_CASE("an idle subscription stays connected on heartbeats", "[sync][stream]") {
  test::TempDir dir;
  StreamedPair s(dir);
  REQUIRE(waitFor([&] { return s.subscriber->connections() == 1; }));
  std::this_thread::sleep_for(800ms);  // 8 heartbeat periods; 3 missed would drop it
  insert(*s.writerA, 1, "after a quiet spell");
  CHECK(waitFor([&] { return rows(*s.readerB) == 1; }));
  CHECK(s.subscriber->connections() == 1);
}

TEST_CASE("a peer that accepts connections but never answers delays no other subscription", "[sync][stream]") {
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(silent >= 0);
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&where), sizeof where) == 0);
  REQUIRE(::listen(silent, 4) == 0);
  socklen_t length = sizeof where;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&where), &length);

  test::TempDir dir;
  FileSite a(dir, "a", 1), b(dir, "b", 2);
  auto servedA = a.open(), writerA = a.open(), toSilent = b.open(), toA = b.open(), readerB = b.open();
  auto server = serve(*servedA);
  auto options = streamOptions();
  options.timeout = 300ms;
  auto stuck = Subscriber::start(*toSilent, "127.0.0.1:" + std::to_string(ntohs(where.sin_port)), options);
  REQUIRE_OK(stuck);
  auto live = subscribe(*toA, addressOf(*server));
  insert(*writerA, 1, "from a");
  CHECK(waitFor([&] { return rows(*readerB) == 1; }));
  CHECK(waitFor([&] { return !(*stuck)->takeLog().empty(); }, 5s));  // it gave up on the silent one
  (*stuck)->stop();
  ::close(silent);
}

TEST_CASE("three sites subscribing to each other converge with writes at all of them", "[sync][stream]") {
  constexpr int kRowsEach = 150;
  test::TempDir dir;
  std::vector<std::unique_ptr<FileSite>> sites;
  std::vector<std::unique_ptr<Site>> served, writers;
  std::vector<std::unique_ptr<Server>> servers;
  for (std::uint8_t i = 0; i < 3; ++i) {
    sites.push_back(std::make_unique<FileSite>(dir, std::string(1, static_cast<char>('a' + i)), i + 1));
    served.push_back(sites[i]->open());
    writers.push_back(sites[i]->open());
    servers.push_back(serve(*served[i]));
  }
  std::vector<std::unique_ptr<Site>> subscribing;
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      if (i != j) {
        subscribing.push_back(sites[i]->open());
        subscribers.push_back(subscribe(*subscribing.back(), addressOf(*servers[j])));
      }

  std::vector<std::thread> threads;
  std::vector<Status> writes(3);
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < kRowsEach && writes[i]; ++k) {
        writes[i] = insertFromThread(*writers[i], i * kRowsEach + k, "site " + std::to_string(i));
        // Everyone also overwrites one shared row: concurrent writes to resolve.
        if (writes[i])
          writes[i] = writers[i]
                          ->exec("INSERT INTO t(id, a, b) VALUES (-1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET a = ?1, b = ?2",
                                 {test::Txt("site " + std::to_string(i)), test::Int(k)})
                          .status();
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& st : writes) REQUIRE_OK(st);
  auto converged = [&] {
    for (int i = 1; i < 3; ++i)
      if (writers[i]->vector().value() != writers[0]->vector().value()) return false;
    return true;
  };
  CHECK(waitFor(converged, 20s));
  for (auto& s : subscribers) s->stop();
  for (auto& s : servers) s->stop();
  CHECK(rows(*writers[0]) == 3 * kRowsEach + 1);
  for (int i = 1; i < 3; ++i) CHECK(test::tableContents(*writers[i], "t") == test::tableContents(*writers[0], "t"));
}

}  // namespace
}  // namespace parley
