// Capture's fast paths: the after-images the preupdate hook records (re-read at commit only
// when a failed statement or ROLLBACK TO may have undone hook-recorded changes), and the
// guard triggers, which stay off on the site's own connection while the schema has no other
// triggers. Each case would go wrong if its fallback were missing.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <string>
#include <vector>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::captureOne;
using test::Cluster;
using test::describe;
using test::execOk;
using test::findRow;
using test::Int;

}  // namespace

TEST_CASE("changes a trigger's RAISE(ABORT) undid mid-statement are not captured", "[core][capture][images]") {
  Cluster c(1);
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3)");
  execOk(s, "CREATE TABLE stop(id INTEGER PRIMARY KEY)");
  execOk(s, "CREATE TRIGGER no_two BEFORE UPDATE ON t WHEN old.id = 2 AND (SELECT count(*) FROM stop) = 0 "
            "BEGIN SELECT RAISE(ABORT, 'row two is frozen'); END");
  execOk(s, "BEGIN");
  execOk(s, "UPDATE t SET b = 30 WHERE id = 3");
  // Row 1 is updated (the hook sees it), then row 2 aborts the statement: row 1 is restored.
  CHECK_FALSE(s.exec("UPDATE t SET b = b + 100").ok());
  Transaction t = captureOne(s, "COMMIT");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  CHECK(t.rows[0].pk == Row{Int(3)});
  CHECK(test::tableContents(s, "t") == std::vector<Row>{{Int(1), Int(1), Int(1)}, {Int(2), Int(2), Int(2)},
                                                       {Int(3), Int(3), Int(30)}});
}

TEST_CASE("UPDATE OR FAIL keeps and captures the rows it changed before failing", "[core][capture][images]") {
  test::ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE, b);";
  Cluster c(1, o);
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 10, 0), (2, 20, 0), (3, 30, 0)");
  execOk(s, "BEGIN");
  // Row 1 becomes a = 11; row 2's a = 30 collides with row 3: FAIL keeps row 1's change.
  CHECK_FALSE(s.exec("UPDATE OR FAIL t SET a = a + CASE id WHEN 1 THEN 1 ELSE 10 END").ok());
  Transaction t = captureOne(s, "COMMIT");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  CHECK(t.rows[0].pk == Row{Int(1)});
  CHECK(test::queryInt(s, "SELECT a FROM t WHERE id = 1") == 11);
  CHECK(test::queryInt(s, "SELECT a FROM t WHERE id = 2") == 20);
}

TEST_CASE("a row changed, then restored by ROLLBACK TO, then changed again records its last value",
          "[core][capture][images]") {
  Cluster c(1);
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 'a', 1)");
  Transaction t = captureOne(s,
                             "BEGIN; SAVEPOINT sp; UPDATE t SET a = 'gone', b = 9 WHERE id = 1; ROLLBACK TO sp;"
                             " UPDATE t SET b = 2 WHERE id = 1; RELEASE sp; COMMIT");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  REQUIRE(t.rows[0].columns.size() == 1);
  CHECK(t.rows[0].columns[0].column == 2);
  CHECK(t.rows[0].columns[0].newValue == Int(2));
}

TEST_CASE("a trigger created after writes fires on the site's own connection, and stops when dropped",
          "[core][capture][trigger][guard]") {
  test::ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE audit(id INTEGER PRIMARY KEY, note);";
  o.tracked = {"t", "audit"};
  Cluster c(1, o);
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 1)");
  execOk(s, "CREATE TRIGGER t_audit AFTER UPDATE ON t BEGIN INSERT INTO audit VALUES (new.id, new.a); END");
  Transaction t = captureOne(s, "UPDATE t SET a = 'y' WHERE id = 1");
  INFO(describe(t));
  CHECK(findRow(t, "audit", {Int(1)}) != nullptr);
  execOk(s, "DROP TRIGGER t_audit");
  captureOne(s, "UPDATE t SET a = 'z' WHERE id = 1");
  CHECK(test::queryInt(s, "SELECT count(*) FROM audit") == 1);
}

TEST_CASE("a trigger another connection creates fires on the site's next write", "[core][capture][trigger][guard]") {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(1));
  auto created = Site::create(path, CreateOptions{"file", &ids, test::testClusterId()},
                              SiteOptions{&clock, resolvers::lwwEverywhere()});
  REQUIRE_OK(created);
  Site& s = **created;
  execOk(s, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE audit(id INTEGER PRIMARY KEY, note)");
  REQUIRE_OK(s.track("t"));
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TRIGGER t_audit AFTER UPDATE ON t BEGIN INSERT INTO audit VALUES (new.id, new.a); END",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  captureOne(s, "UPDATE t SET a = 'y' WHERE id = 1");
  CHECK(test::queryInt(s, "SELECT count(*) FROM audit") == 1);
}

}  // namespace parley
