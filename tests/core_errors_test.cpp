// Expected failures are Status values with one clear line, and a failure records nothing:
// tables parley cannot replicate safely are refused with the reason, bad SQL and constraint
// violations leave the site's vector and log unchanged, and opening/creating the wrong file
// says so.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/in_process.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::ClusterOptions;
using test::execOk;
using test::Int;
using test::tableContents;
using test::Txt;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool containsIgnoringCase(std::string haystack, std::string needle) {
  for (auto& ch : haystack) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (auto& ch : needle) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return contains(haystack, needle);
}

void checkOneLine(const Status& s) {
  INFO(s.toString());
  CHECK_FALSE(s.isOk());
  CHECK_FALSE(s.message().empty());
  CHECK_FALSE(contains(s.message(), "\n"));
}

ClusterOptions untracked(const std::string& schema) {
  ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);" + schema;
  o.tracked = {"t"};
  return o;
}

// Tracking `table` must fail, say something containing `why`, and change nothing.
void checkRefused(Site& s, const std::string& table, const std::string& why) {
  VersionVector before = s.vector().value();
  auto tablesBefore = s.trackedTables();
  Status st = s.track(table);
  INFO("track(\"" << table << "\") -> " << st.toString());
  checkOneLine(st);
  if (!why.empty()) CHECK(containsIgnoringCase(st.message(), why));
  CHECK(s.trackedTables() == tablesBefore);
  CHECK(s.vector().value() == before);
}

}  // namespace

TEST_CASE("tracking a table without a PRIMARY KEY is refused and says why", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE TABLE nopk(a, b); INSERT INTO nopk VALUES (1, 2);")));
  checkRefused(c[0], "nopk", "PRIMARY KEY");
  // Writes to it still work and record nothing.
  test::captureNothing(c[0], "INSERT INTO nopk VALUES (3, 4)");
}

TEST_CASE("tracking an unknown table is refused", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1));
  checkRefused(c[0], "does_not_exist", "does_not_exist");
}

TEST_CASE("tracking a table with a generated column is refused", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE TABLE g(id INTEGER PRIMARY KEY, a, b GENERATED ALWAYS AS (a * 2) VIRTUAL);"
                         "CREATE TABLE gs(id INTEGER PRIMARY KEY, a, b AS (a + 1) STORED);")));
  checkRefused(c[0], "g", "generated");
  checkRefused(c[0], "gs", "generated");
}

TEST_CASE("parley's own tables and parley_-prefixed tables cannot be tracked", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE TABLE parley_mine(id INTEGER PRIMARY KEY, x);")));
  checkRefused(c[0], "parley_mine", "parley_");
  for (const char* internal : {"parley_log", "parley_meta", "sqlite_schema"}) checkRefused(c[0], internal, "");
}

TEST_CASE("tracking a view is refused", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE VIEW v AS SELECT id, a FROM t;")));
  checkRefused(c[0], "v", "view");
}

TEST_CASE("tracking a WITHOUT ROWID table with a PRIMARY KEY is accepted", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;")));
  REQUIRE_OK(c[0].track("w"));
  auto columns = c[0].columns("w");
  REQUIRE_OK(columns);
  CHECK(*columns == std::vector<std::string>{"k", "v"});
}

TEST_CASE("columns() of an untracked table is an error", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE TABLE other(id INTEGER PRIMARY KEY);")));
  auto r = c[0].columns("other");
  CHECK_FALSE(r.ok());
  checkOneLine(r.status());
}

TEST_CASE("an SQL syntax error in exec is a one-line error and records nothing", "[core][errors][exec]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 'a', 1)");
  VersionVector before = s.vector().value();
  auto contents = tableContents(s, "t");
  for (const char* bad : {"SELEC 1", "INSERT INTO t VALUES (", "UPDATE nosuch SET x = 1",
                          "INSERT INTO t(nosuchcolumn) VALUES (1)"}) {
    auto r = s.exec(bad);
    INFO(bad << " -> " << r.status().toString());
    CHECK_FALSE(r.ok());
    checkOneLine(r.status());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(s.vector().value() == before);
  }
  CHECK(tableContents(s, "t") == contents);
  // The site still works.
  test::captureOne(s, "INSERT INTO t VALUES (2, 'b', 2)");
}

TEST_CASE("a constraint violation in exec is an error and records nothing", "[core][errors][exec]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a NOT NULL, b INTEGER CHECK (b >= 0));";
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 'a', 5), (2, 'b', 0)");
  VersionVector before = s.vector().value();
  auto held = test::allTransactions(s).size();
  auto contents = tableContents(s, "t");
  for (const char* bad : {"INSERT INTO t VALUES (1, 'dup', 1)",
                          "INSERT INTO t VALUES (3, 'c', 3), (1, 'dup', 1)",  // first row fine, second not
                          "INSERT INTO t VALUES (4, NULL, 1)",
                          "UPDATE t SET b = b - 1",  // row 1 fine, row 2 violates the CHECK
                          "UPDATE t SET a = NULL WHERE id = 2"}) {
    auto r = s.exec(bad);
    INFO(bad << " -> " << r.status().toString());
    CHECK_FALSE(r.ok());
    checkOneLine(r.status());
    CHECK(s.vector().value() == before);
    CHECK(test::allTransactions(s).size() == held);
    CHECK(tableContents(s, "t") == contents);
  }
}

TEST_CASE("track and apply while a transaction is open are refused as busy", "[core][errors]") {
  ClusterOptions o = untracked("CREATE TABLE later(id INTEGER PRIMARY KEY, x);");
  Cluster c(test::clusterOptions(2, o));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  auto txns = test::allTransactions(c[0]);
  execOk(c[1], "BEGIN");
  execOk(c[1], "INSERT INTO t VALUES (5, 'local', 5)");

  Status tracked = c[1].track("later");
  INFO(tracked.toString());
  CHECK(tracked.code() == Status::Code::kBusy);

  auto applied = c[1].replication().apply(txns);
  INFO(applied.status().toString());
  CHECK_FALSE(applied.ok());
  CHECK(applied.status().code() == Status::Code::kBusy);

  execOk(c[1], "COMMIT");
  CHECK(c[1].vector().value().get(c[0].id()) == 0);
  CHECK(c[1].vector().value().get(c[1].id()) == 1);
  test::applyOk(c[1], txns);
  CHECK(tableContents(c[1], "t") == std::vector<Row>{{Int(1), Txt("a"), Int(1)}, {Int(5), Txt("local"), Int(5)}});
}

TEST_CASE("Site::open of a file that is not a site is a clear error", "[core][errors][open]") {
  test::TempDir dir;
  ManualClock clock;
  auto lww = resolvers::lwwEverywhere();

  SECTION("a plain SQLite database") {
    std::string path = dir.file("plain.db");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE x(a); INSERT INTO x VALUES (1)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto r = Site::open(path, SiteOptions{&clock, lww});
    REQUIRE_FALSE(r.ok());
    checkOneLine(r.status());
    // The file is left as it was: no parley_ tables were added.
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'parley%'", -1, &stmt,
                               nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    CHECK(sqlite3_column_int(stmt, 0) == 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  SECTION("a file that is not SQLite at all") {
    std::string path = dir.file("garbage.db");
    std::ofstream(path) << "this is not a database, just some text that is long enough to have a header\n";
    auto r = Site::open(path, SiteOptions{&clock, lww});
    REQUIRE_FALSE(r.ok());
    checkOneLine(r.status());
  }
  SECTION("a missing file") {
    std::string path = dir.file("missing.db");
    auto r = Site::open(path, SiteOptions{&clock, lww});
    REQUIRE_FALSE(r.ok());
    checkOneLine(r.status());
    CHECK_FALSE(std::filesystem::exists(path));
  }
}

TEST_CASE("Site::create on an existing site is an error and leaves it intact", "[core][errors][open]") {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  ManualClock clock;
  test::FixedIdSource first(test::testSiteId(1));
  test::FixedIdSource second(test::testSiteId(2));
  auto lww = resolvers::lwwEverywhere();
  {
    auto created = Site::create(path, CreateOptions{"first", &first, std::nullopt}, SiteOptions{&clock, lww});
    REQUIRE_OK(created);
    execOk(**created, "CREATE TABLE t(id INTEGER PRIMARY KEY, a); INSERT INTO t VALUES (1, 'kept')");
    REQUIRE_OK((*created)->track("t"));
  }
  auto again = Site::create(path, CreateOptions{"second", &second, std::nullopt}, SiteOptions{&clock, lww});
  REQUIRE_FALSE(again.ok());
  checkOneLine(again.status());

  auto reopened = Site::open(path, SiteOptions{&clock, lww});
  REQUIRE_OK(reopened);
  CHECK((*reopened)->id() == test::testSiteId(1));
  CHECK((*reopened)->name() == "first");
  CHECK(tableContents(**reopened, "t") == std::vector<Row>{{Int(1), Txt("kept")}});
  CHECK((*reopened)->vector().value().get(test::testSiteId(1)) == 1);
}

TEST_CASE("a site of the previous format (indexed log, finality per transaction) is refused and left as it was",
          "[core][errors][open]") {
  test::TempDir dir;
  std::string path = dir.file("old.db");
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(1));
  auto lww = resolvers::lwwEverywhere();
  {
    auto created = Site::create(path, CreateOptions{"old", &ids, std::nullopt}, SiteOptions{&clock, lww});
    REQUIRE_OK(created);
    execOk(**created, "CREATE TABLE t(id INTEGER PRIMARY KEY, a)");
    REQUIRE_OK((*created)->track("t"));
    execOk(**created, "INSERT INTO t VALUES (1, 'kept')");
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE parley_meta SET value = '3' WHERE key = 'format'", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  auto bytesBefore = std::filesystem::file_size(path);

  auto r = Site::open(path, SiteOptions{&clock, lww});
  REQUIRE_FALSE(r.ok());
  checkOneLine(r.status());
  INFO(r.status().toString());
  CHECK(r.status().message() == path + ": site format 3 is not supported (expected 8)");
  CHECK(std::filesystem::file_size(path) == bytesBefore);
}

TEST_CASE("a site created without a cluster id starts a new cluster, with one it joins", "[core][errors][open]") {
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(3));
  auto lww = resolvers::lwwEverywhere();
  auto fresh = Site::create(":memory:", CreateOptions{"fresh", &ids, std::nullopt}, SiteOptions{&clock, lww});
  REQUIRE_OK(fresh);
  CHECK_FALSE((*fresh)->clusterId().isNil());
  auto joined = Site::create(":memory:", CreateOptions{"joined", &ids, (*fresh)->clusterId()}, SiteOptions{&clock, lww});
  REQUIRE_OK(joined);
  CHECK((*joined)->clusterId() == (*fresh)->clusterId());
}

TEST_CASE("sites with different resolver configurations have different schema fingerprints",
          "[core][errors][fingerprint]") {
  Cluster same(test::clusterOptions(2));
  CHECK(same[0].replication().schemaFingerprint() == same[1].replication().schemaFingerprint());
  ClusterOptions o;
  o.resolvers = resolvers::fwwEverywhere();
  Cluster other(test::clusterOptions(1, o));
  CHECK(other[0].replication().schemaFingerprint() != same[0].replication().schemaFingerprint());
  ClusterOptions moreTables;
  moreTables.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE u(id INTEGER PRIMARY KEY);";
  moreTables.tracked = {"t", "u"};
  Cluster bigger(test::clusterOptions(1, moreTables));
  CHECK(bigger[0].replication().schemaFingerprint() != same[0].replication().schemaFingerprint());
}

// Issue 22, finding 3: everything that decides an apply is in the fingerprint, read from
// SQLite's catalog; nothing that does not (plain indexes, defaults, names, spacing) is.
namespace fingerprints {

// The fingerprint of a site whose table t is created by `schema`.
std::string fingerprintOf(const std::string& schema, std::uint8_t idByte = 1) {
  ClusterOptions o;
  o.schema = schema;
  o.idBytes = {idByte};
  Cluster c(test::clusterOptions(1, o));
  return c[0].replication().schemaFingerprint();
}

const char* const kBase = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER);";

TEST_CASE("the fingerprint covers types, NOT NULL, CHECK, collations, UNIQUE indexes and foreign keys",
          "[core][errors][fingerprint][issue22]") {
  std::string base = fingerprintOf(kBase);
  for (const char* changed : {
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a BLOB, b INTEGER);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER CHECK (b >= 0));",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, b INTEGER);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT UNIQUE, b INTEGER);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER); CREATE UNIQUE INDEX u ON t(a);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER); CREATE UNIQUE INDEX u ON t(a COLLATE NOCASE);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER); CREATE UNIQUE INDEX u ON t(a) WHERE b > 0;",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER); CREATE UNIQUE INDEX u ON t(lower(a));",
           "CREATE TABLE p(k PRIMARY KEY); CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT REFERENCES p(k), b INTEGER);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER); "
           "CREATE TABLE child(x PRIMARY KEY, tid REFERENCES t(id) ON DELETE CASCADE);",
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER) STRICT;",
       }) {
    INFO(changed);
    CHECK(fingerprintOf(changed) != base);
  }
  // Two partial indexes differing only in their condition differ.
  CHECK(fingerprintOf(std::string(kBase) + "CREATE UNIQUE INDEX u ON t(a) WHERE b > 0;") !=
        fingerprintOf(std::string(kBase) + "CREATE UNIQUE INDEX u ON t(a) WHERE b > 1;"));
}

TEST_CASE("the fingerprint ignores plain indexes, defaults, names, spacing and the order things were made in",
          "[core][errors][fingerprint][issue22]") {
  std::string base = fingerprintOf(kBase);
  CHECK(fingerprintOf(std::string(kBase) + "CREATE INDEX by_b ON t(b);") == base);
  CHECK(fingerprintOf("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT DEFAULT 'x', b INTEGER DEFAULT 0);") == base);
  CHECK(fingerprintOf("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER, UNIQUE (a));") ==
        fingerprintOf(std::string(kBase) + "CREATE UNIQUE INDEX any_name ON t(a);"));
  CHECK(fingerprintOf(std::string(kBase) + "CREATE UNIQUE INDEX x ON t(a); CREATE UNIQUE INDEX y ON t(b, a);") ==
        fingerprintOf(std::string(kBase) + "CREATE UNIQUE INDEX z ON t(b, a); CREATE UNIQUE INDEX w ON t(a);"));
  CHECK(fingerprintOf("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER CHECK (b >= 0));") ==
        fingerprintOf("CREATE TABLE t(id INTEGER PRIMARY KEY,\n a TEXT, -- a comment\n b INTEGER, CONSTRAINT "
                      "positive CHECK(B>=0))"));
}

TEST_CASE("sites whose UNIQUE indexes differ refuse to sync, naming the index and the site that lacks it",
          "[core][errors][fingerprint][issue22]") {
  ClusterOptions withIndex;
  withIndex.schema = std::string(kBase) + "CREATE UNIQUE INDEX owner_once ON t(a);";
  withIndex.idBytes = {2};
  Cluster plain(test::clusterOptions(1)), indexed(test::clusterOptions(1, withIndex));
  auto r = syncSites(plain[0], indexed[0]);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().message());
  CHECK(r.status().message().find(plain[0].name() + " has no t: UNIQUE (a COLLATE BINARY)") != std::string::npos);
  auto lines = indexed[0].replication().schemaDescription();
  REQUIRE_OK(lines);
  CHECK(std::find(lines->begin(), lines->end(), "t: UNIQUE (a COLLATE BINARY)") != lines->end());
}

TEST_CASE("exec refuses a UNIQUE index on a tracked table whose rows hold duplicates, runs index changes, and "
          "leaves other tables free",
          "[core][errors][fingerprint][issue22][issue25]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE TABLE local(x PRIMARY KEY, y);")));
  execOk(c[0], "INSERT INTO t(id, a, b) VALUES (1, 1, 1), (2, 1, 2)");
  std::string before = c[0].replication().schemaFingerprint();
  auto unique = c[0].exec("CREATE UNIQUE INDEX owner_once ON t(a)");
  REQUIRE_FALSE(unique.ok());
  INFO(unique.status().message());
  CHECK(unique.status().message().find("UNIQUE constraint failed") != std::string::npos);
  // UNIQUE indexes the rows allow are schema changes parley replicates (core_schema_order_test.cpp).
  execOk(c[0], "CREATE UNIQUE INDEX b_once ON t(b)");
  execOk(c[0], "DROP INDEX b_once");
  // Plain indexes are schema changes parley replicates (core_schema_change_test.cpp).
  execOk(c[0], "CREATE INDEX by_a ON t(a)");
  execOk(c[0], "CREATE INDEX IF NOT EXISTS by_b ON \"t\"(b) WHERE b > 0");
  CHECK(test::queryInt(c[0], "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 't'") == 2);
  execOk(c[0], "DROP INDEX by_a");
  execOk(c[0], "DROP INDEX by_b");
  CHECK(test::queryInt(c[0], "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 't'") == 0);
  execOk(c[0], "CREATE UNIQUE INDEX local_y ON local(y); DROP INDEX local_y");
  CHECK(c[0].replication().schemaFingerprint() == before);
}

TEST_CASE("a UNIQUE index made on a tracked table by another connection changes the open site's fingerprint",
          "[core][errors][fingerprint][issue22]") {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(1));
  auto lww = resolvers::lwwEverywhere();
  auto created = Site::create(path, CreateOptions{"file", &ids, test::testClusterId()}, SiteOptions{&clock, lww});
  REQUIRE_OK(created);
  Site& s = **created;
  execOk(s, kBase);
  REQUIRE_OK(s.track("t"));
  std::string before = s.replication().schemaFingerprint();
  CHECK(s.replication().schemaFingerprint() == before);  // kept
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE INDEX plain_b ON t(b)", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(s.replication().schemaFingerprint() == before);
  REQUIRE(sqlite3_exec(db, "CREATE UNIQUE INDEX owner_once ON t(a)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  CHECK(s.replication().schemaFingerprint() != before);
}

}  // namespace fingerprints

TEST_CASE("tracking a table whose key has a non-binary collation is refused", "[core][errors][track]") {
  Cluster c(test::clusterOptions(1, untracked("CREATE TABLE ci(name TEXT COLLATE NOCASE PRIMARY KEY, v);")));
  checkRefused(c[0], "ci", "COLLATE");
}

}  // namespace parley

namespace parley {
namespace {

// Run in a child process: a tracked UPDATE whose before- and after-images need about 200 MB,
// with the address space limited to 120 MB more than the site needs to start. Returns what
// went wrong, or an empty string.
std::string runOutOfMemory(const std::string& path) {
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(1));
  auto created = Site::create(path, CreateOptions{"file", &ids, test::testClusterId()},
                              SiteOptions{&clock, resolvers::lwwEverywhere()});
  if (!created) return "create: " + created.status().toString();
  Site& s = **created;
  auto setup = s.exec(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
      "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000) "
      "INSERT INTO t SELECT x, printf('%.*c', 1000, 'a') FROM n");
  if (!setup) return "setup: " + setup.status().toString();
  if (auto st = s.track("t"); !st) return "track: " + st.toString();
  VersionVector before = s.vector().value();
  std::ifstream statm("/proc/self/statm");
  long pages = 0;
  statm >> pages;
  rlimit limit{};
  ::getrlimit(RLIMIT_AS, &limit);
  rlimit tight = limit;
  tight.rlim_cur = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + (120 << 20);
  ::setrlimit(RLIMIT_AS, &tight);
  auto r = s.exec("UPDATE t SET v = v || 'b'");
  ::setrlimit(RLIMIT_AS, &limit);
  if (r) return "the UPDATE succeeded: the test's memory limit did not bite";
  std::string message = r.status().message();
  if (!contains(message, "out of memory") || contains(message, "\n"))
    return "the error is not one line about memory: " + message;
  if (s.vector().value() != before) return "the failed transaction left a version: " + s.vector().value().toString();
  if (test::queryInt(s, "SELECT count(*) FROM t WHERE v GLOB '*b'") != 0) return "rows changed";
  auto after = s.exec("UPDATE t SET v = 'c' WHERE id = 1");  // the site still works
  if (!after) return "the next write failed: " + after.status().toString();
  if (s.vector().value().get(s.id()) != before.get(s.id()) + 1) return "the next write has no version";
  return "";
}

}  // namespace

TEST_CASE("a transaction that runs out of memory fails with one line and changes nothing",
          "[core][errors][memory]") {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  int out[2];
  REQUIRE(::pipe(out) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(out[0]);
    std::string problem = runOutOfMemory(path);
    ssize_t written = ::write(out[1], problem.data(), problem.size());
    ::_exit(written == static_cast<ssize_t>(problem.size()) ? 0 : 1);
  }
  ::close(out[1]);
  std::string problem;
  char buf[512];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) problem.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  INFO(problem);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(problem.empty());
}

}  // namespace parley
