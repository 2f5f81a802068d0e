// The error contract (parley/status.hpp, parley/assert.hpp): bad input is a Status, never an
// exception, at the public API; a broken invariant is PARLEY_ASSERT's InternalError, never
// "corruption"; context is kept apart from the message; waits are library calls that time out
// with one clear line.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "parley/assert.hpp"
#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/acknowledgements.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"
#include "parley/txn_codec.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::execOk;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

bool oneLine(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

// A real transaction's body, as a peer would send it.
std::string someBody() {
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  execOk(c[0], "UPDATE t SET a = 'y', b = 11 WHERE id = 1");
  auto txns = test::changesOk(c[0], {});
  REQUIRE(txns.size() == 2);
  return encodeTransaction(txns.back());
}

TEST_CASE("a corrupt transaction body through the public decode returns kCorruption, never throws",
          "[core][errors][decode]") {
  std::string body = someBody();
  REQUIRE(decodeTransaction(body).ok());
  std::vector<std::string> damaged;
  for (std::size_t n = 0; n < body.size(); ++n) damaged.push_back(body.substr(0, n));  // every truncation
  for (std::size_t i = 0; i < body.size(); ++i) {                                      // every byte flipped
    std::string flipped = body;
    flipped[i] = static_cast<char>(~flipped[i]);
    damaged.push_back(flipped);
  }
  damaged.push_back(std::string("\x01") + body.substr(1));  // a format this parley refuses
  std::size_t refused = 0;
  Transaction recycled;
  for (const auto& bytes : damaged) {
    INFO(bytes.size() << " bytes");
    Result<Transaction> decoded = Status::internal("not decoded");
    REQUIRE_NOTHROW(decoded = decodeTransaction(bytes));
    Status into;
    REQUIRE_NOTHROW(into = decodeTransaction(bytes, recycled));
    CHECK(decoded.ok() == into.isOk());
    if (decoded.ok()) continue;  // a flipped byte inside a value can still decode
    ++refused;
    CHECK(decoded.status().code() == Status::Code::kCorruption);
    CHECK(oneLine(decoded.status().message()));
    CHECK_THAT(decoded.status().message(), StartsWith("transaction"));
  }
  CHECK(refused > body.size());  // at least every truncation
}

TEST_CASE("PARLEY_ASSERT reports a bug with its place and asks for a report, as InternalError, not an Error",
          "[core][errors][assert]") {
  int evaluated = 0;
  auto message = [&] {
    ++evaluated;
    return std::string("the cache disagrees with the table");
  };
  PARLEY_ASSERT(1 + 1 == 2, message());
  CHECK(evaluated == 0);  // the message is built only when the assertion fails

  int line = 0;
  try {
    line = __LINE__ + 1;
    PARLEY_ASSERT(1 + 1 == 3, message());
    FAIL("a failed assertion returned");
  } catch (const Error&) {
    FAIL("a failed assertion was thrown as an Error: code catching expected failures would swallow it");
  } catch (const InternalError& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(evaluated == 1);
    CHECK(oneLine(what));
    CHECK_THAT(what, StartsWith("internal error at tests/core_error_contract_test.cpp:" + std::to_string(line) + ": "));
    CHECK_THAT(what, Contains("the cache disagrees with the table (failed: 1 + 1 == 3)"));
    CHECK_THAT(what, Contains("this is a bug in parley: please report it"));
    CHECK(e.line() == line);
    CHECK(e.file() == "tests/core_error_contract_test.cpp");
    CHECK(e.status().code() == Status::Code::kInternal);
    CHECK(e.status().message() == what);
    CHECK_THAT(e.status().toString(), StartsWith("internal error: internal error at"));
  }

  try {
    PARLEY_ASSERT(evaluated < 0);
    FAIL("a failed assertion returned");
  } catch (const InternalError& e) {
    CHECK(e.detail() == "failed: evaluated < 0");
  }
}

TEST_CASE("a broken invariant inside a public call comes back as kInternal, with everything rolled back",
          "[core][errors][assert]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  execOk(c[0], "INSERT INTO t VALUES (2, 'y', 20)");
  std::vector<Transaction> txns = test::changesOk(c[0], {});
  std::vector<std::string> bodies;
  for (const auto& t : txns) bodies.push_back(encodeTransaction(t));
  std::vector<std::string_view> views(bodies.begin(), bodies.end());
  VersionVector before = c[1].vector().value();

  int calls = 0;
  Result<ApplyResult> applied = Status::internal("not run");
  REQUIRE_NOTHROW(applied =
                      c[1].replication().applyEncodedBatches([&]() -> Replication::EncodedBatch {
                        if (calls++ == 0)
                          return {std::span(txns).first(1), std::span(views).first(1)};
                        PARLEY_ASSERT(calls < 0, "the second batch met an impossible state");
                        return {};
                      }));
  REQUIRE_FALSE(applied.ok());
  CHECK(applied.status().code() == Status::Code::kInternal);
  CHECK_THAT(applied.status().message(), Contains("the second batch met an impossible state"));
  CHECK_THAT(applied.status().message(), Contains("this is a bug in parley: please report it"));
  CHECK(c[1].vector().value() == before);  // the first batch was rolled back with the rest
  CHECK(test::tableContents(c[1], "t").empty());
}

TEST_CASE("the value of a failed Result is a bug reported with the status, not undefined behaviour",
          "[core][errors][assert]") {
  Result<int> failed = Status::notFound("no such row");
  try {
    (void)failed.value();
    FAIL("value() of a failed Result returned");
  } catch (const InternalError& e) {
    CHECK_THAT(e.what(), Contains("the value of a failed Result was taken: not found: no such row"));
  }
}

TEST_CASE("a Status is built from a code and a message, and keeps each context apart from it",
          "[core][errors][context]") {
  Status bare(Status::Code::kCorruption, "checksum mismatch at chunk 12");
  CHECK(bare.code() == Status::Code::kCorruption);
  CHECK(bare.message() == "checksum mismatch at chunk 12");
  CHECK(bare.contexts().empty());
  CHECK(Status(Status::Code::kOk, "ignored").isOk());

  Status s = bare.withContext("transaction 3").withContext("importing a.pcs");
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message() == "importing a.pcs: transaction 3: checksum mismatch at chunk 12");
  CHECK(s.bareMessage() == "checksum mismatch at chunk 12");
  CHECK(s.contexts() == std::vector<std::string>{"importing a.pcs", "transaction 3"});
  CHECK(s.toString() == "corruption: importing a.pcs: transaction 3: checksum mismatch at chunk 12");
  CHECK(bare.message() == "checksum mismatch at chunk 12");  // withContext of an lvalue copies

  // Through an Error thrown inside and caught at the boundary, the structure survives.
  try {
    throw Error(s);
  } catch (const Error& e) {
    CHECK(e.status().contexts() == s.contexts());
    CHECK(e.status().bareMessage() == s.bareMessage());
    CHECK(std::string(e.what()) == s.message());
  }

  CHECK(Status::ok().withContext("anything").isOk());
  CHECK(Status::ok().withContext("anything").message().empty());

  Result<int> failed = Status::notFound("no such row");
  Result<int> inContext = std::move(failed).withContext("reading t");
  CHECK(inContext.status().message() == "reading t: no such row");
  CHECK(inContext.status().bareMessage() == "no such row");
  Result<int> fine = Result<int>(7).withContext("reading t");
  CHECK(*fine == 7);
}

TEST_CASE("a library error keeps the operation it failed in as a context", "[core][errors][context]") {
  Cluster c(test::clusterOptions(1));
  Status untracked = c[0].track("missing");
  CHECK(untracked.code() == Status::Code::kNotFound);
  CHECK(untracked.contexts() == std::vector<std::string>{"track"});
  CHECK(untracked.message() == "track: no such table: \"missing\"");
  CHECK(untracked.bareMessage() == "no such table: \"missing\"");

  Status twice = c[0].track("t");
  CHECK(twice.contexts() == std::vector<std::string>{"track"});
  CHECK(twice.message() == "track: table \"t\" is already tracked");
}

TEST_CASE("Site::vector() is a value: looping over a temporary's entries is safe", "[core][errors][vector]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  c.syncPair(0, 1);
  execOk(c[1], "INSERT INTO t VALUES (2, 'y', 20)");
  std::vector<std::pair<SiteId, std::uint64_t>> seen;
  for (const auto& [site, seq] : c[1].vector().value().entries()) seen.emplace_back(site, seq);
  CHECK(seen == std::vector<std::pair<SiteId, std::uint64_t>>{{c[0].id(), 1}, {c[1].id(), 1}});
  static_assert(std::is_same_v<decltype(VersionVector().entries()), std::vector<VersionVector::Entry>>,
                "entries() of a temporary is a value");
  static_assert(std::is_same_v<decltype(c[1].vector().value()), VersionVector>, "value() of a temporary is a value");
}

TEST_CASE("Site::vector() returns the error of re-reading a database damaged behind its back",
          "[core][errors][vector]") {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  ManualClock clock;
  FixedIdSource ids(test::testSiteId(1));
  auto site = Site::create(path, {"ny", &ids, test::testClusterId()}, {&clock, resolvers::lwwEverywhere()});
  REQUIRE_OK(site);
  REQUIRE_OK((*site)->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a)"));
  REQUIRE_OK((*site)->track("t"));
  REQUIRE_OK((*site)->exec("INSERT INTO t VALUES (1, 'x')"));
  REQUIRE_OK((*site)->vector());

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, "DROP TABLE parley_log", nullptr, nullptr, &err);
  INFO((err ? err : "ok"));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);

  Result<VersionVector> held = Status::internal("not read");
  REQUIRE_NOTHROW(held = (*site)->vector());
  CHECK_FALSE(held.ok());
  CHECK(oneLine(held.status().message()));
}

TEST_CASE("a change-set file is stamped with the site's clock, not the system's", "[core][errors][clock]") {
  Cluster c(test::clusterOptions(1));
  c.clock(0).set(1'800'000'000'123ULL);
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  test::TempDir dir;
  auto exported = sync::exportChanges(c[0], dir.file("a.pcs"), {});
  REQUIRE_OK(exported);
  CHECK(exported->info.createdMs == 1'800'000'000'123ULL);
  auto info = sync::inspectChanges(dir.file("a.pcs"));
  REQUIRE_OK(info);
  CHECK(info->createdMs == 1'800'000'000'123ULL);
}

TEST_CASE("commit tokens print and parse as exec prints them", "[core][errors][wait]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  execOk(c[1], "INSERT INTO t VALUES (2, 'y', 20)");
  execOk(c[1], "INSERT INTO t VALUES (3, 'z', 30)");
  c.syncPair(0, 1);
  VersionVector v = c[0].vector().value();
  std::string token = commitToken(v);
  CHECK(token == c[0].id().hex() + ":1," + c[1].id().hex() + ":2");
  CHECK(parseCommitToken(token).value() == v);
  CHECK(commitToken({}) == "-");
  CHECK(parseCommitToken("-").value().empty());
  for (std::string bad : std::vector<std::string>{"garbage", "abc:1", c[0].id().hex() + ":0", c[0].id().hex() + ":x", token + ","}) {
    INFO(bad);
    auto parsed = parseCommitToken(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
    CHECK_THAT(parsed.status().message(), StartsWith("bad token \"" + bad + "\": expected SITEID:SEQ"));
  }
}

TEST_CASE("Site::waitFor returns once the site holds the token, and times out with one clear line",
          "[core][errors][wait]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  VersionVector token = c[0].vector().value();

  auto start = std::chrono::steady_clock::now();
  Status timedOut = c[1].waitFor(token, std::chrono::milliseconds(200), std::chrono::milliseconds(10));
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= std::chrono::milliseconds(200));
  CHECK(waited < std::chrono::seconds(5));
  CHECK(timedOut.code() == Status::Code::kNotReady);
  CHECK(timedOut.message() == "timed out after 0.2 s waiting for token " + commitToken(token) +
                                  "; the site holds " + commitToken(c[1].vector().value()));

  c.deliver(0, 1);
  CHECK_OK(c[1].waitFor(token, std::chrono::milliseconds(0)));
  CHECK_OK(c[1].waitFor({}, std::chrono::milliseconds(0)));
}

TEST_CASE("Site::waitFor sees what another connection applies to the same file meanwhile", "[core][errors][wait]") {
  test::TempDir dir;
  ManualClock clock;
  auto lww = resolvers::lwwEverywhere();
  FixedIdSource ids1(test::testSiteId(1)), ids2(test::testSiteId(2));
  auto ny = Site::create(dir.file("ny.db"), {"ny", &ids1, test::testClusterId()}, {&clock, lww});
  REQUIRE_OK(ny);
  REQUIRE_OK((*ny)->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a)"));
  REQUIRE_OK((*ny)->track("t"));
  auto london = (*ny)->clone(dir.file("london.db"), {"london", &ids2, {}}, {&clock, lww});
  REQUIRE_OK(london);
  REQUIRE_OK((*ny)->exec("INSERT INTO t VALUES (1, 'x')"));
  VersionVector token = (*ny)->vector().value();

  auto reader = Site::open(dir.file("london.db"), {&clock, lww});  // a second connection to london
  REQUIRE_OK(reader);
  Status waited = Status::internal("not run");
  std::thread waiter([&] { waited = (*reader)->waitFor(token, std::chrono::seconds(10), std::chrono::milliseconds(5)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto changes = (*ny)->replication().changesSince((*london)->vector().value());
  REQUIRE_OK(changes);
  auto applied = (*london)->replication().apply(*changes);
  waiter.join();
  REQUIRE_OK(applied);
  CHECK_OK(waited);
}

TEST_CASE("waitForAcknowledgements returns once a served peer holds the write", "[core][errors][wait][tcp]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  VersionVector token = c[0].vector().value();
  sync::TcpOptions tcp;
  tcp.secret = "e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d";
  tcp.timeout = std::chrono::milliseconds(2000);
  auto server = sync::Server::start(c[1], "127.0.0.1:0", tcp);
  REQUIRE_OK(server);
  std::string address = "127.0.0.1:" + std::to_string((*server)->port());

  CHECK_OK(sync::waitForAcknowledgements(c[0], token, {1, {address}, tcp, std::chrono::seconds(10)}));

  // One replica under two addresses is one acknowledgement: asking for two times out.
  auto start = std::chrono::steady_clock::now();
  Status twice = sync::waitForAcknowledgements(c[0], token,
                                               {2, {address, "localhost:" + std::to_string((*server)->port())}, tcp,
                                                std::chrono::milliseconds(300), std::chrono::milliseconds(20)});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  CHECK(twice.code() == Status::Code::kNotReady);
  CHECK(oneLine(twice.message()));
  CHECK(twice.message() == "the write is committed locally (token " + commitToken(token) +
                               "), but only 1 of 2 peers acknowledged it within 0.3 s (several --peer addresses "
                               "reach the same site; it counts once)");
  (*server)->stop();
}

TEST_CASE("waitForAcknowledgements with too few peers or an unreachable one fails with one line",
          "[core][errors][wait][tcp]") {
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  VersionVector token = c[0].vector().value();
  sync::TcpOptions tcp;
  tcp.secret = "e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d";
  tcp.timeout = std::chrono::milliseconds(500);

  Status tooFew = sync::waitForAcknowledgements(c[0], token, {2, {"127.0.0.1:1"}, tcp, std::chrono::seconds(1)});
  CHECK(tooFew.code() == Status::Code::kInvalidArgument);

  Status unreachable = sync::waitForAcknowledgements(c[0], token, {1, {"127.0.0.1:1"}, tcp,
                                                                  std::chrono::milliseconds(200),
                                                                  std::chrono::milliseconds(20)});
  CHECK(unreachable.code() == Status::Code::kNotReady);
  CHECK(oneLine(unreachable.message()));
  CHECK_THAT(unreachable.message(), StartsWith("the write is committed locally (token " + commitToken(token) +
                                               "), but only 0 of 1 peers acknowledged it within 0.2 s ("));
}

}  // namespace
}  // namespace parley
