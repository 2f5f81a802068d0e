// Capture's fast paths: the after-images the preupdate hook records (re-read at commit only
// when a failed statement or ROLLBACK TO may have undone hook-recorded changes), and the
// guard triggers, which stay off on the site's own connection while the schema has no other
// triggers. Each case would go wrong if its fallback were missing. The images live encoded in
// an ImageArena: what it hands out must stay intact, and every kind of value must come back
// from an image as it was stored.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "capture.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::captureOne;
using testing::Cluster;
using test::describe;
using test::execOk;
using test::findRow;
using test::Int;

// A tracked table t(id, a, b) and a tracked table audit(id, note) for triggers to write to.
test::ClusterOptions auditedSchema() {
  test::ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE audit(id INTEGER PRIMARY KEY, note);";
  o.tracked = {"t", "audit"};
  return o;
}

}  // namespace

TEST_CASE("changes a trigger's RAISE(ABORT) undid mid-statement are not captured", "[core][capture][images]") {
  Cluster c(test::clusterOptions(1));
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
  Cluster c(test::clusterOptions(1, o));
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
  Cluster c(test::clusterOptions(1));
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
  Cluster c{test::clusterOptions(1, auditedSchema())};
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

// Within a transaction a site checks for triggers once, at its first write: these prove that
// what changes the schema in between makes it check again. Row 1 of t is updated by one kept
// statement; the trigger logs each new b in audit.
namespace {
struct KeptUpdates {
  static constexpr const char* kAuditTrigger =
      "CREATE TRIGGER t_audit AFTER UPDATE ON t BEGIN INSERT INTO audit(note) VALUES (new.b); END";
  KeptUpdates() { captureOne(s, "INSERT INTO t VALUES (1, 'x', 0)"); }
  void update(std::int64_t b) { REQUIRE_OK(s.exec("UPDATE t SET b = ?1 WHERE id = 1", {Int(b)})); }
  Cluster c{test::clusterOptions(1, auditedSchema())};
  Site& s = c[0];
};
}  // namespace

TEST_CASE("in one transaction, a trigger created between kept writes fires, and stops when dropped",
          "[core][capture][trigger][statements]") {
  KeptUpdates site;
  Site& s = site.s;
  execOk(s, "BEGIN");
  site.update(1);
  execOk(s, KeptUpdates::kAuditTrigger);
  site.update(2);
  site.update(3);
  execOk(s, "DROP TRIGGER t_audit");
  site.update(4);
  execOk(s, "COMMIT");
  CHECK(test::queryInt(s, "SELECT count(*) FROM audit") == 2);
  CHECK(test::queryInt(s, "SELECT sum(note) FROM audit") == 5);
}

TEST_CASE("a trigger that ROLLBACK TO brings back fires on the next write in the transaction",
          "[core][capture][trigger][statements]") {
  KeptUpdates site;
  Site& s = site.s;
  execOk(s, KeptUpdates::kAuditTrigger);
  execOk(s, "BEGIN");
  execOk(s, "SAVEPOINT before_drop");
  execOk(s, "DROP TRIGGER t_audit");
  site.update(1);  // no trigger: the site turns triggers off
  execOk(s, "ROLLBACK TO before_drop");
  site.update(2);
  execOk(s, "COMMIT");
  CHECK(test::queryInt(s, "SELECT count(*) FROM audit") == 1);
  CHECK(test::queryInt(s, "SELECT sum(note) FROM audit") == 2);
}

TEST_CASE("an image arena keeps every image intact, in place or moved, across clears", "[core][capture][images]") {
  std::mt19937 rng(7);
  ImageArena arena;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    std::vector<Image> images;
    std::vector<std::string> want;
    for (int i = 0; i < 3000; ++i) {
      // Mostly small, some near a block's size, a few larger than any block.
      std::size_t size = i % 500 == 7 ? 1500000 + rng() % 1000 : i % 97 == 3 ? 3000 + rng() % 700000 : rng() % 60;
      std::string bytes(size, '\0');
      for (auto& b : bytes) b = static_cast<char>(rng());
      if (!images.empty() && rng() % 3 == 0) {  // a row changed again: shorter, equal or longer
        std::size_t k = rng() % images.size();
        images[k] = arena.replace(images[k], bytes);
        want[k] = bytes;
      } else {
        images.push_back(arena.add(bytes));
        want.push_back(bytes);
      }
    }
    std::size_t wrong = 0;
    for (std::size_t k = 0; k < images.size(); ++k)
      wrong += !images[k].present() || images[k].bytes() != want[k];
    CHECK(wrong == 0);
    arena.clear();
  }
  CHECK(arena.add("").present());  // an empty image is present, not absent
}

TEST_CASE("a row changed many times in one transaction records its first and last images", "[core][capture][images]") {
  auto rowidKeyed = GENERATE(true, false);
  test::ClusterOptions o;
  o.schema = rowidKeyed ? "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);" : "CREATE TABLE t(id TEXT PRIMARY KEY, a, b);";
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 'start', x'00'), (2, 'two', 2)");
  std::mt19937 rng(11);
  std::string sql = "BEGIN;";
  std::string last;
  for (int i = 0; i < 200; ++i) {
    last = std::string(rng() % 3000, static_cast<char>('a' + i % 26));  // shorter, equal or longer each time
    sql += fmt::format(" UPDATE t SET a = '{}', b = {} WHERE id = 1;", last, i);
  }
  // The key changes, then changes back: the row ends where it began, with new values.
  sql += " UPDATE t SET id = 3 WHERE id = 2; UPDATE t SET id = 2, a = 'back' WHERE id = 3; COMMIT";
  Transaction t = captureOne(s, sql);
  INFO(describe(t));
  Value one = rowidKeyed ? Int(1) : Value::text("1"), two = rowidKeyed ? Int(2) : Value::text("2");
  const RowChange* first = findRow(t, "t", {one});
  REQUIRE(first != nullptr);
  REQUIRE(first->columns.size() == 2);
  CHECK(first->columns[0].oldValue == Value::text("start"));
  CHECK(first->columns[0].newValue == Value::text(last));
  CHECK(first->columns[1].oldValue == Value::blob(std::string(1, '\0')));
  CHECK(first->columns[1].newValue == Int(199));
  const RowChange* second = findRow(t, "t", {two});
  REQUIRE(second != nullptr);
  REQUIRE(second->columns.size() == 1);
  CHECK(second->columns[0].newValue == Value::text("back"));
  CHECK(findRow(t, "t", {rowidKeyed ? Int(3) : Value::text("3")}) == nullptr);
}

TEST_CASE("every kind of value comes back from a row image as stored", "[core][capture][images]") {
  test::ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, v);";
  Cluster c(test::clusterOptions(2, o));
  Site& s = c[0];
  std::vector<std::string> values = {"NULL", "0", "-1", "9223372036854775807", "-9223372036854775808", "0.5",
                                     "-1e308", "''", "'text'", "'caf\u00e9 \u2603'", "x''", "x'00ff00'",
                                     "zeroblob(5000)", "randomblob(700000)", "printf('%.*c', 600000, 'z')"};
  std::string insert = "INSERT INTO t VALUES ";
  for (std::size_t i = 0; i < values.size(); ++i) insert += fmt::format("{}({}, {})", i ? ", " : "", i + 1, values[i]);
  Transaction inserted = captureOne(s, insert);
  // Every row changes to the next row's value: each image's old and new values are read back.
  Transaction updated = captureOne(s, "UPDATE t SET v = (SELECT v FROM t AS n WHERE n.id = t.id % " +
                                          std::to_string(values.size()) + " + 1)");
  REQUIRE(inserted.rows.size() == values.size());
  REQUIRE(updated.rows.size() == values.size());
  c.syncAll();
  CHECK(test::tableContents(c[1], "t") == test::tableContents(s, "t"));
  auto stored = s.exec("SELECT id, v FROM t ORDER BY id");
  REQUIRE(stored.ok());
  for (const Row& row : stored.value().rows) {
    const RowChange* change = findRow(updated, "t", {row.at(0)});
    REQUIRE(change != nullptr);
    INFO("row " << row.at(0).asInteger());
    REQUIRE(change->columns.size() == 1);
    CHECK(change->columns[0].newValue == row.at(1));
  }
}

}  // namespace parley
