// Change capture: whatever SQL changes a tracked table through Site::exec() becomes exactly the
// Transaction the model describes (one dot per committed transaction, seq +1, context = the
// vector before it, before/after images, base = dots of the version overwritten), and nothing
// else is recorded. Inspected through changesSince(VersionVector{}).
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::Bytes;
using test::captureNothing;
using test::captureOne;
using testing::Cluster;
using test::ClusterOptions;
using test::describe;
using test::execOk;
using test::findColumn;
using test::findRow;
using test::Int;
using test::Null;
using test::Real;
using test::Txt;

Dot dotOf(const Site& s, std::uint64_t seq) { return Dot{s.id(), seq}; }

void checkWrite(const RowChange& r, std::uint32_t column, const Value& oldValue, const Value& newValue,
                const Dots& base) {
  const ColumnWrite* w = findColumn(r, column);
  INFO("column " << column);
  REQUIRE(w != nullptr);
  CHECK(w->oldValue == oldValue);
  CHECK(w->newValue == newValue);
  CHECK(w->base == base);
}

// Replays everything `from` holds at a fresh site and checks the tables end up equal.
void checkReplica(Cluster& cluster, std::size_t from, const std::vector<std::string>& tables) {
  std::size_t to = test::addSite(cluster);
  auto tracked = cluster[to].trackedTables();
  for (const auto& table : tables)
    if (std::find(tracked.begin(), tracked.end(), table) == tracked.end()) REQUIRE_OK(cluster[to].track(table));
  cluster.deliver(from, to);
  for (const auto& table : tables) {
    auto expected = test::tableContents(cluster[from], table);
    auto actual = test::tableContents(cluster[to], table);
    INFO("table " << table << "\norigin:\n" << describe(expected) << "replica:\n" << describe(actual));
    CHECK(actual == expected);
  }
}

}  // namespace

TEST_CASE("an INSERT is captured as an insert of every non-key column", "[core][capture]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  REQUIRE(s.vector().value().empty());  // tracking an empty table records nothing
  Transaction t = captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");
  INFO(describe(t));
  CHECK(t.dot == dotOf(s, 1));
  CHECK(t.context.empty());
  CHECK(t.hlc.physicalMs() == c.options().clockStartMs);
  CHECK(t.hlc <= s.replication().lastHlc());
  REQUIRE(t.rows.size() == 1);
  const RowChange& r = t.rows[0];
  CHECK(r.table == "t");
  CHECK(r.pk == Row{Int(1)});
  CHECK(r.op == RowOp::kInsert);
  CHECK(r.rowBase.empty());
  CHECK(r.columns.size() == 2);
  CHECK(findColumn(r, 0) == nullptr);  // key columns travel in pk
  checkWrite(r, 1, Null(), Txt("x"), {});
  checkWrite(r, 2, Null(), Int(10), {});
}

TEST_CASE("an UPDATE records only changed columns, before and after, and the dots it overwrote",
          "[core][capture]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");

  Transaction t2 = captureOne(s, "UPDATE t SET a = 'y' WHERE id = 1");
  INFO(describe(t2));
  CHECK(t2.dot == dotOf(s, 2));
  REQUIRE(t2.rows.size() == 1);
  CHECK(t2.rows[0].op == RowOp::kUpdate);
  CHECK(t2.rows[0].pk == Row{Int(1)});
  CHECK(t2.rows[0].rowBase == Dots{dotOf(s, 1)});
  REQUIRE(t2.rows[0].columns.size() == 1);
  checkWrite(t2.rows[0], 1, Txt("x"), Txt("y"), {dotOf(s, 1)});

  // b is assigned its current value: not a change.
  Transaction t3 = captureOne(s, "UPDATE t SET a = 'z', b = 10 WHERE id = 1");
  INFO(describe(t3));
  REQUIRE(t3.rows.size() == 1);
  REQUIRE(t3.rows[0].columns.size() == 1);
  checkWrite(t3.rows[0], 1, Txt("y"), Txt("z"), {dotOf(s, 2)});

  // b was last written by the insert.
  Transaction t4 = captureOne(s, "UPDATE t SET b = b + 1 WHERE id = 1");
  INFO(describe(t4));
  REQUIRE(t4.rows.size() == 1);
  REQUIRE(t4.rows[0].columns.size() == 1);
  checkWrite(t4.rows[0], 2, Int(10), Int(11), {dotOf(s, 1)});
  CHECK(t4.dot == dotOf(s, 4));
  CHECK(t4.context.get(s.id()) == 3);
}

TEST_CASE("a DELETE records every non-key column's last value and the dots it overwrote",
          "[core][capture]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");
  captureOne(s, "UPDATE t SET b = 11 WHERE id = 1");
  Transaction t = captureOne(s, "DELETE FROM t WHERE id = 1");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  const RowChange& r = t.rows[0];
  CHECK(r.op == RowOp::kDelete);
  CHECK(r.pk == Row{Int(1)});
  CHECK(r.rowBase == Dots{dotOf(s, 1)});
  CHECK(r.columns.size() == 2);
  checkWrite(r, 1, Txt("x"), Null(), {dotOf(s, 1)});
  checkWrite(r, 2, Int(11), Null(), {dotOf(s, 2)});
}

TEST_CASE("a statement changing several rows is one transaction with one change per row",
          "[core][capture]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  Transaction ins = captureOne(s, "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
  INFO(describe(ins));
  REQUIRE(ins.rows.size() == 3);
  for (std::int64_t k = 1; k <= 3; ++k) {
    const RowChange* r = findRow(ins, "t", {Int(k)});
    REQUIRE(r != nullptr);
    CHECK(r->op == RowOp::kInsert);
    CHECK(test::countRows(ins, "t", {Int(k)}) == 1);
  }

  Transaction upd = captureOne(s, "UPDATE t SET b = b * 10");
  INFO(describe(upd));
  REQUIRE(upd.rows.size() == 3);
  for (std::int64_t k = 1; k <= 3; ++k) {
    const RowChange* r = findRow(upd, "t", {Int(k)});
    REQUIRE(r != nullptr);
    CHECK(r->op == RowOp::kUpdate);
    REQUIRE(r->columns.size() == 1);
    checkWrite(*r, 2, Int(k), Int(k * 10), {dotOf(s, 1)});
  }

  Transaction del = captureOne(s, "DELETE FROM t WHERE id >= 2");
  INFO(describe(del));
  REQUIRE(del.rows.size() == 2);
  CHECK(findRow(del, "t", {Int(2)})->op == RowOp::kDelete);
  CHECK(findRow(del, "t", {Int(3)})->op == RowOp::kDelete);
  CHECK(findRow(del, "t", {Int(1)}) == nullptr);
  CHECK(del.dot == dotOf(s, 3));
}

TEST_CASE("BEGIN ... COMMIT in one exec call is one transaction with one dot", "[core][capture][txn]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (3, 'c', 3)");
  Transaction t = captureOne(s,
                             "BEGIN; INSERT INTO t VALUES (1, 'a', 1); INSERT INTO t VALUES (2, 'b', 2);"
                             " UPDATE t SET b = 30 WHERE id = 3; COMMIT;");
  INFO(describe(t));
  CHECK(t.dot == dotOf(s, 2));
  CHECK(t.rows.size() == 3);
  REQUIRE(findRow(t, "t", {Int(1)}) != nullptr);
  REQUIRE(findRow(t, "t", {Int(2)}) != nullptr);
  REQUIRE(findRow(t, "t", {Int(3)}) != nullptr);
  CHECK(findRow(t, "t", {Int(3)})->op == RowOp::kUpdate);
  // The next transaction takes the next seq.
  CHECK(captureOne(s, "DELETE FROM t WHERE id = 1").dot == dotOf(s, 3));
}

TEST_CASE("a transaction spread over several exec calls is captured once, at COMMIT",
          "[core][capture][txn]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (9, 'z', 9)");
  VersionVector before = s.vector().value();
  execOk(s, "BEGIN");
  execOk(s, "INSERT INTO t VALUES (1, 'a', 1)");
  CHECK(s.vector().value() == before);
  execOk(s, "INSERT INTO t VALUES (2, 'b', 2)");
  execOk(s, "UPDATE t SET a = 'zz' WHERE id = 9");
  CHECK(s.vector().value() == before);
  Transaction t = captureOne(s, "COMMIT");
  INFO(describe(t));
  CHECK(t.dot == dotOf(s, 2));
  CHECK(t.context == before);
  CHECK(t.rows.size() == 3);
  CHECK(findRow(t, "t", {Int(1)}) != nullptr);
  CHECK(findRow(t, "t", {Int(2)}) != nullptr);
  CHECK(findRow(t, "t", {Int(9)}) != nullptr);
}

TEST_CASE("statements outside BEGIN commit one by one, seq +1 each", "[core][capture][txn]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 'a', 1); INSERT INTO t VALUES (2, 'b', 2)");
  REQUIRE(s.vector().value().get(s.id()) == 2);
  auto all = test::allTransactions(s);
  INFO(describe(all));
  REQUIRE(all.size() == 2);
  CHECK(all[0].dot == dotOf(s, 1));
  CHECK(all[1].dot == dotOf(s, 2));
  CHECK(all[0].context.empty());
  CHECK(all[1].context.get(s.id()) == 1);
  CHECK(all[0].hlc < all[1].hlc);
  CHECK(findRow(all[0], "t", {Int(1)}) != nullptr);
  CHECK(findRow(all[1], "t", {Int(2)}) != nullptr);
}

TEST_CASE("ROLLBACK records nothing and does not use up a seq", "[core][capture][txn]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  SECTION("in one exec call") {
    captureNothing(s, "BEGIN; INSERT INTO t VALUES (1, 'a', 1); ROLLBACK;");
  }
  SECTION("across exec calls") {
    execOk(s, "BEGIN");
    execOk(s, "INSERT INTO t VALUES (1, 'a', 1)");
    execOk(s, "INSERT INTO t VALUES (2, 'b', 2)");
    captureNothing(s, "ROLLBACK");
  }
  CHECK(test::tableContents(s, "t").empty());
  CHECK(captureOne(s, "INSERT INTO t VALUES (5, 'e', 5)").dot == dotOf(s, 1));
}

TEST_CASE("ROLLBACK TO a savepoint drops only the changes made after it", "[core][capture][txn]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  Transaction t = captureOne(s,
                             "BEGIN;"
                             " INSERT INTO t VALUES (1, 'x', 1);"
                             " SAVEPOINT sp;"
                             " INSERT INTO t VALUES (2, 'gone', 2);"
                             " UPDATE t SET a = 'gone' WHERE id = 1;"
                             " ROLLBACK TO sp;"
                             " INSERT INTO t VALUES (3, 'z', 3);"
                             " RELEASE sp;"
                             "COMMIT;");
  INFO(describe(t));
  CHECK(t.rows.size() == 2);
  CHECK(test::countRows(t, "t", {Int(1)}) == 1);
  CHECK(test::countRows(t, "t", {Int(2)}) == 0);
  const RowChange* one = findRow(t, "t", {Int(1)});
  REQUIRE(one != nullptr);
  CHECK(one->op == RowOp::kInsert);
  checkWrite(*one, 1, Null(), Txt("x"), {});
  CHECK(findRow(t, "t", {Int(3)}) != nullptr);

  SECTION("a released outermost savepoint is a transaction") {
    Transaction u = captureOne(s, "SAVEPOINT outer_sp; INSERT INTO t VALUES (4, 'd', 4); RELEASE outer_sp;");
    CHECK(u.dot == dotOf(s, 2));
    CHECK(u.rows.size() == 1);
  }
  SECTION("an outermost savepoint rolled back records nothing") {
    captureNothing(s, "SAVEPOINT outer_sp; INSERT INTO t VALUES (4, 'd', 4); ROLLBACK TO outer_sp; RELEASE outer_sp;");
  }
  SECTION("savepoints across exec calls") {
    execOk(s, "BEGIN");
    execOk(s, "SAVEPOINT a1");
    execOk(s, "UPDATE t SET b = 100 WHERE id = 1");
    execOk(s, "ROLLBACK TO a1");
    execOk(s, "UPDATE t SET b = 200 WHERE id = 3");
    Transaction u = captureOne(s, "COMMIT");
    INFO(describe(u));
    REQUIRE(u.rows.size() == 1);
    REQUIRE(u.rows[0].pk == Row{Int(3)});
    checkWrite(u.rows[0], 2, Int(3), Int(200), {dotOf(s, 1)});
  }
}

TEST_CASE("a failing statement inside a transaction leaves the earlier changes of that transaction",
          "[core][capture][txn]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  VersionVector before = s.vector().value();
  execOk(s, "BEGIN");
  execOk(s, "INSERT INTO t VALUES (1, 'a', 1)");
  // The second row of this statement collides: the whole statement, row 2 included, is undone.
  auto failed = s.exec("INSERT INTO t VALUES (2, 'b', 2), (1, 'dup', 0)");
  CHECK_FALSE(failed.ok());
  Transaction t = captureOne(s, "COMMIT");
  INFO(describe(t));
  CHECK(t.context == before);
  REQUIRE(t.rows.size() == 1);
  CHECK(t.rows[0].pk == Row{Int(1)});
  checkWrite(t.rows[0], 1, Null(), Txt("a"), {});
  CHECK(test::tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("a"), Int(1)}});
}

TEST_CASE("an UPSERT is captured as the update or insert it turned out to be", "[core][capture][upsert]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");
  Transaction up = captureOne(
      s, "INSERT INTO t VALUES (1, 'y', 10) ON CONFLICT(id) DO UPDATE SET a = excluded.a, b = excluded.b");
  INFO(describe(up));
  REQUIRE(up.rows.size() == 1);
  CHECK(up.rows[0].op == RowOp::kUpdate);
  REQUIRE(up.rows[0].columns.size() == 1);
  checkWrite(up.rows[0], 1, Txt("x"), Txt("y"), {dotOf(s, 1)});

  Transaction fresh = captureOne(
      s, "INSERT INTO t VALUES (2, 'n', 20) ON CONFLICT(id) DO UPDATE SET a = excluded.a");
  INFO(describe(fresh));
  REQUIRE(fresh.rows.size() == 1);
  CHECK(fresh.rows[0].op == RowOp::kInsert);
  checkWrite(fresh.rows[0], 1, Null(), Txt("n"), {});
  checkWrite(fresh.rows[0], 2, Null(), Int(20), {});

  captureNothing(s, "INSERT INTO t VALUES (2, 'other', 0) ON CONFLICT(id) DO NOTHING");
  captureNothing(s, "INSERT OR IGNORE INTO t VALUES (2, 'other', 0)");
}

TEST_CASE("INSERT OR REPLACE over an existing row is captured and replicates to the same row",
          "[core][capture][replace]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");
  Transaction t = captureOne(s, "INSERT OR REPLACE INTO t VALUES (1, 'x', 20)");
  INFO(describe(t));
  const RowChange* last = findRow(t, "t", {Int(1)});
  REQUIRE(last != nullptr);
  CHECK(last->op != RowOp::kDelete);
  const ColumnWrite* b = findColumn(*last, 2);
  REQUIRE(b != nullptr);
  CHECK(b->newValue == Int(20));
  CHECK(test::tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("x"), Int(20)}});
  checkReplica(c, 0, {"t"});
}

TEST_CASE("REPLACE that deletes another row through a UNIQUE conflict captures that delete",
          "[core][capture][replace]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE, n)";
  o.tracked = {"u"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  captureOne(s, "INSERT INTO u VALUES (1, 'x@a', 1), (2, 'y@a', 2)");
  Transaction t = captureOne(s, "INSERT OR REPLACE INTO u VALUES (2, 'x@a', 3)");
  INFO(describe(t));
  const RowChange* one = findRow(t, "u", {Int(1)});
  REQUIRE(one != nullptr);
  CHECK(one->op == RowOp::kDelete);
  const RowChange* two = findRow(t, "u", {Int(2)});
  REQUIRE(two != nullptr);
  CHECK(two->op != RowOp::kDelete);
  CHECK(test::tableContents(s, "u") == std::vector<Row>{{Int(2), Txt("x@a"), Int(3)}});
  checkReplica(c, 0, {"u"});
}

TEST_CASE("changes made by a user trigger are captured in the same transaction", "[core][capture][trigger]") {
  const char* schema =
      "CREATE TABLE src(id INTEGER PRIMARY KEY, x);"
      "CREATE TABLE audit(id INTEGER PRIMARY KEY, note);"
      "CREATE TRIGGER src_ins AFTER INSERT ON src BEGIN"
      "  INSERT INTO audit VALUES (new.id, 'from src ' || new.x);"
      "END;";
  SECTION("trigger on an untracked table writing a tracked one") {
    ClusterOptions o;
    o.schema = schema;
    o.tracked = {"audit"};
    Cluster c(test::clusterOptions(1, o));
    Transaction t = captureOne(c[0], "INSERT INTO src VALUES (5, 'hello')");
    INFO(describe(t));
    REQUIRE(t.rows.size() == 1);
    CHECK(t.rows[0].table == "audit");
    CHECK(t.rows[0].pk == Row{Int(5)});
    CHECK(t.rows[0].op == RowOp::kInsert);
    checkWrite(t.rows[0], 1, Null(), Txt("from src hello"), {});
  }
  SECTION("trigger between two tracked tables") {
    ClusterOptions o;
    o.schema = schema;
    o.tracked = {"src", "audit"};
    Cluster c(test::clusterOptions(1, o));
    Transaction t = captureOne(c[0], "INSERT INTO src VALUES (5, 'hello')");
    INFO(describe(t));
    REQUIRE(t.rows.size() == 2);
    CHECK(findRow(t, "src", {Int(5)}) != nullptr);
    CHECK(findRow(t, "audit", {Int(5)}) != nullptr);
  }
}

TEST_CASE("rows deleted by a foreign-key cascade are captured in the same transaction",
          "[core][capture][trigger]") {
  ClusterOptions o;
  o.schema =
      "CREATE TABLE parent(id INTEGER PRIMARY KEY, name);"
      "CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE);";
  o.tracked = {"parent", "child"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  execOk(s, "PRAGMA foreign_keys = ON");
  captureOne(s, "INSERT INTO parent VALUES (1, 'p'), (2, 'q')");
  captureOne(s, "INSERT INTO child VALUES (10, 1), (11, 1), (12, 2)");
  Transaction t = captureOne(s, "DELETE FROM parent WHERE id = 1");
  INFO(describe(t));
  CHECK(t.rows.size() == 3);
  REQUIRE(findRow(t, "parent", {Int(1)}) != nullptr);
  REQUIRE(findRow(t, "child", {Int(10)}) != nullptr);
  REQUIRE(findRow(t, "child", {Int(11)}) != nullptr);
  CHECK(findRow(t, "child", {Int(10)})->op == RowOp::kDelete);
  CHECK(findRow(t, "child", {Int(12)}) == nullptr);
}

TEST_CASE("an update that changes nothing records no transaction", "[core][capture]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 10), (2, 'y', 20)");
  captureNothing(s, "UPDATE t SET a = a");
  captureNothing(s, "UPDATE t SET a = 'x' WHERE id = 1");
  captureNothing(s, "UPDATE t SET a = 'q' WHERE id = 999");
  captureNothing(s, "DELETE FROM t WHERE id = 999");
  captureNothing(s, "BEGIN; UPDATE t SET b = b; COMMIT;");

  // Only the row whose value changes is recorded.
  Transaction t = captureOne(s, "UPDATE t SET b = 10");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  CHECK(t.rows[0].pk == Row{Int(2)});
  REQUIRE(t.rows[0].columns.size() == 1);
  checkWrite(t.rows[0], 2, Int(20), Int(10), {dotOf(s, 1)});
}

TEST_CASE("a change of storage class is a change even when the numbers are equal", "[core][capture]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 1, 'x')");
  Transaction t = captureOne(s, "UPDATE t SET a = 1.0 WHERE id = 1");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  checkWrite(t.rows[0], 1, Int(1), Real(1.0), {dotOf(s, 1)});
}

TEST_CASE("changing a primary key is recorded as a delete of the old key and an insert of the new",
          "[core][capture]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");
  Transaction t = captureOne(s, "UPDATE t SET id = 2 WHERE id = 1");
  INFO(describe(t));
  const RowChange* gone = findRow(t, "t", {Int(1)});
  const RowChange* made = findRow(t, "t", {Int(2)});
  REQUIRE(gone != nullptr);
  REQUIRE(made != nullptr);
  CHECK(gone->op == RowOp::kDelete);
  CHECK(made->op == RowOp::kInsert);
  checkWrite(*made, 1, Null(), Txt("x"), {});
  checkWrite(*made, 2, Null(), Int(10), {});
  checkReplica(c, 0, {"t"});
}

TEST_CASE("composite keys travel in primary-key order, not declaration order", "[core][capture][keys]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE kv(k1 TEXT, k2 INTEGER, v, PRIMARY KEY (k2, k1))";
  o.tracked = {"kv"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  Transaction ins = captureOne(s, "INSERT INTO kv VALUES ('a', 1, 'one')");
  INFO(describe(ins));
  REQUIRE(ins.rows.size() == 1);
  CHECK(ins.rows[0].pk == Row{Int(1), Txt("a")});
  REQUIRE(ins.rows[0].columns.size() == 1);
  checkWrite(ins.rows[0], 2, Null(), Txt("one"), {});

  Transaction upd = captureOne(s, "UPDATE kv SET v = 'uno' WHERE k1 = 'a' AND k2 = 1");
  INFO(describe(upd));
  REQUIRE(upd.rows.size() == 1);
  CHECK(upd.rows[0].pk == Row{Int(1), Txt("a")});
  checkWrite(upd.rows[0], 2, Txt("one"), Txt("uno"), {dotOf(s, 1)});
  checkReplica(c, 0, {"kv"});
}

TEST_CASE("TEXT and BLOB keys, WITHOUT ROWID tables and awkward text are captured exactly",
          "[core][capture][keys]") {
  ClusterOptions o;
  o.schema =
      "CREATE TABLE names(name TEXT PRIMARY KEY, n);"
      "CREATE TABLE w(a TEXT, b BLOB, c, PRIMARY KEY (a, b)) WITHOUT ROWID;";
  o.tracked = {"names", "w"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  Transaction t1 = captureOne(s, "INSERT INTO names VALUES ('it''s na\xc3\xafve', 1)");
  INFO(describe(t1));
  REQUIRE(t1.rows.size() == 1);
  CHECK(t1.rows[0].pk == Row{Txt("it's na\xc3\xafve")});

  std::string key("\x00\x01\xff", 3);
  Transaction t2 = [&] {
    VersionVector before = s.vector().value();
    execOk(s, "INSERT INTO w VALUES (?1, ?2, ?3)", {Txt("k"), Bytes(key), Txt("v")});
    REQUIRE(s.vector().value().get(s.id()) == before.get(s.id()) + 1);
    return test::transactionWithDot(s, dotOf(s, 2));
  }();
  INFO(describe(t2));
  REQUIRE(t2.rows.size() == 1);
  CHECK(t2.rows[0].pk == Row{Txt("k"), Bytes(key)});
  checkWrite(t2.rows[0], 2, Null(), Txt("v"), {});
  checkReplica(c, 0, {"names", "w"});
}

TEST_CASE("NULLs, BLOBs, REALs and large integers are captured with their exact storage class",
          "[core][capture][values]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE v(id INTEGER PRIMARY KEY, n, bl, r, s, big)";
  o.tracked = {"v"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  std::string blob("\x00\xff\x00" "A", 4);
  VersionVector before = s.vector().value();
  execOk(s, "INSERT INTO v VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
         {Int(1), Null(), Bytes(blob), Real(2.5), Txt("it's"), Int(INT64_MIN)});
  REQUIRE(s.vector().value().get(s.id()) == 1);
  Transaction ins = test::transactionWithDot(s, dotOf(s, 1));
  INFO(describe(ins));
  CHECK(ins.context == before);
  REQUIRE(ins.rows.size() == 1);
  REQUIRE(ins.rows[0].columns.size() == 5);
  checkWrite(ins.rows[0], 1, Null(), Null(), {});
  checkWrite(ins.rows[0], 2, Null(), Bytes(blob), {});
  checkWrite(ins.rows[0], 3, Null(), Real(2.5), {});
  checkWrite(ins.rows[0], 4, Null(), Txt("it's"), {});
  checkWrite(ins.rows[0], 5, Null(), Int(INT64_MIN), {});

  Transaction upd = captureOne(s, "UPDATE v SET n = 7, r = NULL, bl = X'0000' WHERE id = 1");
  INFO(describe(upd));
  REQUIRE(upd.rows.size() == 1);
  REQUIRE(upd.rows[0].columns.size() == 3);
  checkWrite(upd.rows[0], 1, Null(), Int(7), {dotOf(s, 1)});
  checkWrite(upd.rows[0], 2, Bytes(blob), Bytes(std::string(2, '\0')), {dotOf(s, 1)});
  checkWrite(upd.rows[0], 3, Real(2.5), Null(), {dotOf(s, 1)});

  checkReplica(c, 0, {"v"});
  CHECK(test::tableContents(c[1], "v") ==
        std::vector<Row>{{Int(1), Int(7), Bytes(std::string(2, '\0')), Null(), Txt("it's"), Int(INT64_MIN)}});
}

TEST_CASE("a transaction's context is the site's whole vector before it, remote entries included",
          "[core][capture]") {
  Cluster c(test::clusterOptions(2));
  captureOne(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  captureOne(c[0], "INSERT INTO t VALUES (2, 'b', 2)");
  c.deliver(0, 1);
  Transaction t = captureOne(c[1], "UPDATE t SET a = 'B' WHERE id = 1");
  INFO(describe(t));
  CHECK(t.dot == dotOf(c[1], 1));
  CHECK(t.context.get(c[0].id()) == 2);
  CHECK(t.context.get(c[1].id()) == 0);
  // The cell's base names the remote transaction that wrote it.
  REQUIRE(t.rows.size() == 1);
  checkWrite(t.rows[0], 1, Txt("a"), Txt("B"), {dotOf(c[0], 1)});
  // And its stamp sorts after what it read.
  CHECK(t.hlc > test::transactionWithDot(c[1], dotOf(c[0], 2)).hlc);
}

TEST_CASE("each transaction's hlc is later than the last and follows the site clock", "[core][capture][hlc]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  Transaction t1 = captureOne(s, "INSERT INTO t VALUES (1, 'a', 1)");
  Transaction t2 = captureOne(s, "INSERT INTO t VALUES (2, 'b', 2)");  // clock stands still
  CHECK(t2.hlc > t1.hlc);
  c.clock(0).advance(1000);
  Transaction t3 = captureOne(s, "INSERT INTO t VALUES (3, 'c', 3)");
  CHECK(t3.hlc == Hlc::make(c.options().clockStartMs + 1000, 0));
  c.clock(0).set(c.clock(0).nowMillis() - 5000);  // clock steps backwards
  Transaction t4 = captureOne(s, "INSERT INTO t VALUES (4, 'd', 4)");
  CHECK(t4.hlc > t3.hlc);
  CHECK(s.replication().lastHlc() >= t4.hlc);
}

TEST_CASE("tracking a table with rows records them as one insert transaction", "[core][capture][track]") {
  ClusterOptions o;
  o.schema =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);"
      "CREATE TABLE pre(id INTEGER PRIMARY KEY, a);";
  o.tracked = {"t"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  REQUIRE(s.vector().value().empty());
  // Writes to an untracked table are not replicated.
  captureNothing(s, "INSERT INTO pre VALUES (1, 'one'), (2, 'two'), (3, NULL)");

  REQUIRE_OK(s.track("pre"));
  REQUIRE(s.vector().value().get(s.id()) == 1);
  auto all = test::allTransactions(s);
  INFO(describe(all));
  REQUIRE(all.size() == 1);
  const Transaction& t = all[0];
  CHECK(t.dot == dotOf(s, 1));
  CHECK(t.context.empty());
  REQUIRE(t.rows.size() == 3);
  for (const auto& r : t.rows) {
    CHECK(r.table == "pre");
    CHECK(r.op == RowOp::kInsert);
  }
  const RowChange* two = findRow(t, "pre", {Int(2)});
  REQUIRE(two != nullptr);
  checkWrite(*two, 1, Null(), Txt("two"), {});
  const RowChange* three = findRow(t, "pre", {Int(3)});
  REQUIRE(three != nullptr);
  checkWrite(*three, 1, Null(), Null(), {});

  auto tables = s.trackedTables();
  std::sort(tables.begin(), tables.end());
  CHECK(tables == std::vector<std::string>{"pre", "t"});
  auto columns = s.columns("pre");
  REQUIRE_OK(columns);
  CHECK(*columns == std::vector<std::string>{"id", "a"});

  // Later writes to it are captured and build on the tracking transaction.
  Transaction u = captureOne(s, "UPDATE pre SET a = 'TWO' WHERE id = 2");
  REQUIRE(u.rows.size() == 1);
  checkWrite(u.rows[0], 1, Txt("two"), Txt("TWO"), {dotOf(s, 1)});
  checkReplica(c, 0, {"t", "pre"});
}

TEST_CASE("a write to a tracked table through a plain sqlite3 connection fails, untracked tables work",
          "[core][capture][guard]") {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(1));
  auto lww = resolvers::lwwEverywhere();
  VersionVector vectorBefore;
  {
    auto created = Site::create(path, CreateOptions{"file", &ids, test::testClusterId()}, SiteOptions{&clock, lww});
    REQUIRE_OK(created);
    Site& s = **created;
    execOk(s, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE plain(x)");
    REQUIRE_OK(s.track("t"));
    captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");
    vectorBefore = s.vector().value();
  }

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  auto run = [&](const char* sql) -> std::string {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    std::string message = rc == SQLITE_OK ? "" : (err ? err : "error without message");
    sqlite3_free(err);
    return rc == SQLITE_OK ? "ok" : message;
  };
  for (const char* sql : {"INSERT INTO t VALUES (2, 'sneaky', 0)", "UPDATE t SET a = 'sneaky' WHERE id = 1",
                          "DELETE FROM t WHERE id = 1", "INSERT OR REPLACE INTO t VALUES (1, 'sneaky', 0)"}) {
    std::string result = run(sql);
    INFO(sql << " -> " << result);
    CHECK(result != "ok");
    CHECK(result.find("parley_guard") != std::string::npos);
  }
  CHECK(run("INSERT INTO plain VALUES (42)") == "ok");
  CHECK(run("CREATE TABLE other(y); INSERT INTO other VALUES (1)") == "ok");
  CHECK(run("SELECT * FROM t") == "ok");
  sqlite3_close(db);

  auto reopened = Site::open(path, SiteOptions{&clock, lww});
  REQUIRE_OK(reopened);
  Site& s = **reopened;
  CHECK(s.vector().value() == vectorBefore);
  CHECK(test::tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("x"), Int(10)}});
  CHECK(test::queryInt(s, "SELECT x FROM plain") == 42);
}

// Issue 22, finding 5: writes that bypass capture. A plain connection (the sqlite3 shell,
// another program) that drops a guard trigger, or defines its own parley_guard.
namespace guards {

struct FileSite {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  ManualClock clock;
  test::FixedIdSource ids{test::testSiteId(1)};
  std::shared_ptr<const ResolverProvider> lww = resolvers::lwwEverywhere();

  FileSite() {
    auto created = Site::create(path, CreateOptions{"file", &ids, test::testClusterId()}, SiteOptions{&clock, lww});
    REQUIRE_OK(created);
    execOk(**created, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE plain(x)");
    REQUIRE_OK((*created)->track("t"));
    captureOne(**created, "INSERT INTO t VALUES (1, 'x', 10)");
  }
  std::unique_ptr<Site> open() {
    auto opened = Site::open(path, SiteOptions{&clock, lww});
    REQUIRE_OK(opened);
    return std::move(*opened);
  }
  // Runs `sql` on a plain sqlite3 connection: "ok" or SQLite's error message.
  std::string plain(const char* sql, bool defineNoOpGuard = false) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    if (defineNoOpGuard) {
      auto noOp = [](sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_null(ctx); };
      REQUIRE(sqlite3_create_function_v2(db, "parley_guard", -1, SQLITE_UTF8, nullptr, noOp, nullptr, nullptr,
                                         nullptr) == SQLITE_OK);
    }
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    std::string message = rc == SQLITE_OK ? "ok" : (err ? err : "error without message");
    sqlite3_free(err);
    sqlite3_close(db);
    return message;
  }
};

TEST_CASE("a plain connection defining its own no-op parley_guard still cannot write to a tracked table",
          "[core][capture][guard][issue22]") {
  FileSite f;
  for (const char* sql : {"INSERT INTO t VALUES (2, 'sneaky', 0)", "UPDATE t SET a = 'sneaky' WHERE id = 1",
                          "DELETE FROM t WHERE id = 1"}) {
    std::string result = f.plain(sql, true);
    INFO(sql << " -> " << result);
    CHECK(result.find("\"t\" is replicated by parley") != std::string::npos);
  }
  CHECK(f.plain("INSERT INTO plain VALUES (1)", true) == "ok");
  auto s = f.open();
  CHECK(test::tableContents(*s, "t") == std::vector<Row>{{Int(1), Txt("x"), Int(10)}});
  captureOne(*s, "UPDATE t SET a = 'through parley' WHERE id = 1");
}

TEST_CASE("a site whose guard trigger was dropped outside parley refuses writes and syncs but still reads",
          "[core][capture][guard][issue22]") {
  FileSite f;
  auto before = f.open()->vector().value();
  REQUIRE(f.plain("DROP TRIGGER parley_guard_t_UPDATE; UPDATE t SET a = 'behind its back' WHERE id = 1") == "ok");
  auto s = f.open();
  auto write = s->exec("INSERT INTO t VALUES (2, 'y', 20)");
  REQUIRE_FALSE(write.ok());
  CHECK(write.status().message().find("tracked table \"t\" has lost its guard trigger parley_guard_t_UPDATE") !=
        std::string::npos);
  CHECK(write.status().message().find("restore-guards") != std::string::npos);
  CHECK_FALSE(s->exec("INSERT INTO plain VALUES (1)").ok());
  CHECK(s->track("plain").message().find("has lost its guard trigger") != std::string::npos);
  CHECK_FALSE(s->replication().apply({}).ok());
  CHECK(s->replication()
            .acknowledge(test::testSiteId(2), {})
            .message()
            .find("has lost its guard trigger") != std::string::npos);
  // Reads work.
  CHECK(test::queryInt(*s, "SELECT count(*) FROM t") == 1);
  CHECK(s->vector().value() == before);
  REQUIRE_OK(s->replication().peers());
  // Restored, the site writes again; the row written behind its back stays as it is.
  REQUIRE_OK(s->replication().restoreGuards());
  captureOne(*s, "INSERT INTO t VALUES (2, 'y', 20)");
  CHECK(f.plain("UPDATE t SET a = 'again' WHERE id = 1").find("parley_guard") != std::string::npos);
  auto reopened = f.open();
  captureOne(*reopened, "INSERT INTO t VALUES (3, 'z', 30)");
}

TEST_CASE("a guard trigger replaced by another of the same name is seen as altered", "[core][capture][guard][issue22]") {
  FileSite f;
  REQUIRE(f.plain("DROP TRIGGER parley_guard_t_DELETE; "
                  "CREATE TRIGGER parley_guard_t_DELETE BEFORE DELETE ON t BEGIN SELECT 1; END") == "ok");
  auto s = f.open();
  auto write = s->exec("DELETE FROM t WHERE id = 1");
  REQUIRE_FALSE(write.ok());
  CHECK(write.status().message().find("an altered guard trigger parley_guard_t_DELETE") != std::string::npos);
}

TEST_CASE("a guard dropped while the site is open is found at its next write", "[core][capture][guard][issue22]") {
  FileSite f;
  auto s = f.open();
  captureOne(*s, "UPDATE t SET a = 'first' WHERE id = 1");
  REQUIRE(f.plain("DROP TRIGGER parley_guard_t_INSERT") == "ok");
  CHECK_FALSE(s->exec("UPDATE t SET a = 'second' WHERE id = 1").ok());
  CHECK_FALSE(s->replication().apply({}).ok());
}

TEST_CASE("a site whose guards predate guard tokens opens and writes, and its next track gives every guard one",
          "[core][capture][guard][issue22]") {
  FileSite f;
  // The guards as sites made them before tokens: they only call parley_guard().
  REQUIRE(f.plain("DELETE FROM parley_meta WHERE key = 'guard_token'; "
                  "DROP TRIGGER parley_guard_t_INSERT; DROP TRIGGER parley_guard_t_UPDATE; DROP TRIGGER parley_guard_t_DELETE; "
                  "CREATE TRIGGER \"parley_guard_t_INSERT\" BEFORE INSERT ON \"t\" BEGIN SELECT parley_guard(); END; "
                  "CREATE TRIGGER \"parley_guard_t_UPDATE\" BEFORE UPDATE ON \"t\" BEGIN SELECT parley_guard(); END; "
                  "CREATE TRIGGER \"parley_guard_t_DELETE\" BEFORE DELETE ON \"t\" BEGIN SELECT parley_guard(); END; "
                  "CREATE TABLE u(id INTEGER PRIMARY KEY, v)") == "ok");
  {
    auto s = f.open();
    captureOne(*s, "UPDATE t SET a = 'legacy guards are intact' WHERE id = 1");
    REQUIRE_OK(s->track("u"));
  }
  for (const char* sql : {"UPDATE t SET a = 'sneaky' WHERE id = 1", "INSERT INTO u VALUES (1, 'sneaky')"}) {
    INFO(sql);
    CHECK(f.plain(sql, true).find("is replicated by parley") != std::string::npos);
  }
  captureOne(*f.open(), "UPDATE t SET a = 'still writes' WHERE id = 1");
}

}  // namespace guards

TEST_CASE("a file-backed site reopens with its id, name, vector, log, tables and clock",
          "[core][capture][persist]") {
  test::TempDir dir;
  std::string path = dir.file("site.db");
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(7));
  auto lww = resolvers::lwwEverywhere();
  Hlc lastStamp;
  std::size_t held = 0;
  {
    auto created = Site::create(path, CreateOptions{"keeper", &ids, test::testClusterId()}, SiteOptions{&clock, lww});
    REQUIRE_OK(created);
    Site& s = **created;
    execOk(s, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)");
    REQUIRE_OK(s.track("t"));
    captureOne(s, "INSERT INTO t VALUES (1, 'x', 10)");
    clock.advance(10'000);
    lastStamp = captureOne(s, "UPDATE t SET a = 'y' WHERE id = 1").hlc;
    held = test::allTransactions(s).size();
  }
  clock.set(clock.nowMillis() - 60'000);  // the machine's clock went back while it was closed
  auto reopened = Site::open(path, SiteOptions{&clock, lww});
  REQUIRE_OK(reopened);
  Site& s = **reopened;
  CHECK(s.id() == test::testSiteId(7));
  CHECK(s.clusterId() == test::testClusterId());
  CHECK(s.name() == "keeper");
  CHECK(s.vector().value().get(s.id()) == 2);
  CHECK(test::allTransactions(s).size() == held);
  CHECK(s.trackedTables() == std::vector<std::string>{"t"});
  Transaction t = captureOne(s, "UPDATE t SET b = 11 WHERE id = 1");
  CHECK(t.dot == dotOf(s, 3));
  CHECK(t.hlc > lastStamp);
  REQUIRE(t.rows.size() == 1);
  checkWrite(t.rows[0], 2, Int(10), Int(11), {dotOf(s, 1)});
}

TEST_CASE("a row changed several times in one transaction replicates its net effect", "[core][capture][txn]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  const char* steps[] = {
      "BEGIN; INSERT INTO t VALUES (1, 'a', 1); UPDATE t SET a = 'b' WHERE id = 1; COMMIT;",
      "BEGIN; UPDATE t SET a = 'c' WHERE id = 1; UPDATE t SET a = 'd', b = 2 WHERE id = 1; COMMIT;",
      "BEGIN; INSERT INTO t VALUES (2, 'x', 2); DELETE FROM t WHERE id = 2; COMMIT;",
      "BEGIN; INSERT INTO t VALUES (3, 'x', 3); COMMIT; BEGIN; UPDATE t SET b = 30 WHERE id = 3;"
      " DELETE FROM t WHERE id = 3; COMMIT;",
      "BEGIN; DELETE FROM t WHERE id = 1; INSERT INTO t VALUES (1, 'again', NULL); COMMIT;",
  };
  for (const char* sql : steps) {
    INFO(sql);
    execOk(s, sql);
    checkReplica(c, 0, {"t"});
  }
  CHECK(test::tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("again"), Null()}});
}

TEST_CASE("rows inserted in bulk are read back at commit with their net values, runs and stragglers alike",
          "[core][capture][txn]") {
  // An insert into a rowid table keeps only the rowid; the commit reads the rows back, a dense
  // run with one range scan. Changes later in the transaction must show, and deleted rows must not.
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  Transaction txn = captureOne(s,
                               "BEGIN;"
                               " WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200)"
                               " INSERT INTO t SELECT x, 'r' || x, x FROM n;"
                               " INSERT INTO t VALUES (1000, 'far', 1), (5000, 'farther', 2);"  // not in a run
                               " UPDATE t SET a = 'changed' WHERE id BETWEEN 40 AND 49 OR id = 1000;"
                               " DELETE FROM t WHERE id BETWEEN 60 AND 79 OR id = 200 OR id = 5000;"
                               " INSERT INTO t VALUES (70, 'back', NULL);"
                               " SAVEPOINT sp; UPDATE t SET b = -1 WHERE id <= 100;"
                               " DELETE FROM t WHERE id > 150; ROLLBACK TO sp;"
                               " RELEASE sp;"
                               "COMMIT;");
  auto stored = test::tableContents(s, "t");
  REQUIRE(stored.size() == 200u - 20 - 1 + 1 + 1);  // 1..200 less 60..79 and 200, plus 70 and 1000
  REQUIRE(txn.rows.size() == stored.size());
  for (const auto& row : stored) {
    INFO("row " << row[0].asInteger());
    const RowChange* r = findRow(txn, "t", {row[0]});
    REQUIRE(r != nullptr);
    CHECK(r->op == RowOp::kInsert);
    checkWrite(*r, 1, Null(), row[1], {});
    checkWrite(*r, 2, Null(), row[2], {});
  }
  CHECK(findRow(txn, "t", {Int(45)})->columns[0].newValue == Txt("changed"));
  CHECK(findRow(txn, "t", {Int(70)})->columns[0].newValue == Txt("back"));
  CHECK(findRow(txn, "t", {Int(5)})->columns[1].newValue == Int(5));
  CHECK(findRow(txn, "t", {Int(65)}) == nullptr);
  CHECK(findRow(txn, "t", {Int(5000)}) == nullptr);
  checkReplica(c, 0, {"t"});
}

TEST_CASE("identifiers that need quoting are tracked, captured and replicated", "[core][capture][keys]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE \"odd \"\"name\"\"\"(\"my key\" INTEGER PRIMARY KEY, \"select\" TEXT, \"a'b\" INTEGER);";
  o.tracked = {"odd \"name\""};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  auto columns = s.columns("odd \"name\"");
  REQUIRE_OK(columns);
  CHECK(*columns == std::vector<std::string>{"my key", "select", "a'b"});
  Transaction t = captureOne(s, "INSERT INTO \"odd \"\"name\"\"\" VALUES (1, 'x', 2)");
  REQUIRE(t.rows.size() == 1);
  CHECK(t.rows[0].table == "odd \"name\"");
  captureOne(s, "UPDATE \"odd \"\"name\"\"\" SET \"select\" = 'y', \"a'b\" = 3");
  checkReplica(c, 0, {"odd \"name\""});
}

TEST_CASE("an untyped key keeps the integer 1 and the text '1' as different rows", "[core][capture][keys]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE k(id PRIMARY KEY, v);";
  o.tracked = {"k"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  Transaction t = captureOne(s, "INSERT INTO k VALUES (1, 'int'), ('1', 'text'), (X'01', 'blob'), (1.5, 'real')");
  INFO(describe(t));
  CHECK(t.rows.size() == 4);
  CHECK(findRow(t, "k", {Int(1)}) != nullptr);
  CHECK(findRow(t, "k", {Txt("1")}) != nullptr);
  CHECK(findRow(t, "k", {Bytes("\x01")}) != nullptr);
  CHECK(findRow(t, "k", {Real(1.5)}) != nullptr);
  captureOne(s, "UPDATE k SET v = 'TEXT' WHERE id = '1'");
  checkReplica(c, 0, {"k"});
  CHECK(test::tableContents(c[1], "k").size() == 4);
}

TEST_CASE("an INSERT that lets SQLite choose the rowid key is captured with the chosen key",
          "[core][capture][keys]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  Transaction t = captureOne(s, "INSERT INTO t(a, b) VALUES ('auto', 1)");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  CHECK(t.rows[0].pk == Row{Int(1)});
  checkReplica(c, 0, {"t"});
}

TEST_CASE("a large BLOB is captured and replicated byte for byte", "[core][capture][values]") {
  Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) % 251);
  execOk(s, "INSERT INTO t VALUES (?1, ?2, ?3)", {Int(1), Bytes(big), Null()});
  Transaction t = test::transactionWithDot(s, dotOf(s, 1));
  REQUIRE(t.rows.size() == 1);
  checkWrite(t.rows[0], 1, Null(), Bytes(big), {});
  checkReplica(c, 0, {"t"});
}

TEST_CASE("text read from row images keeps embedded NULs, empty strings and long values exactly",
          "[core][capture][keys]") {
  ClusterOptions o;
  o.schema =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
      "CREATE TABLE k(name TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;";
  o.tracked = {"t", "k"};
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  std::string nul("a\0b", 3), lng(5000, 'x'), key("k\0ey", 4);
  execOk(s, "INSERT INTO t VALUES (1, ?1, ?2)", {Txt(nul), Txt("")});
  execOk(s, "INSERT INTO k VALUES (?1, ?2)", {Txt(key), Txt(lng)});
  // The old images come from the stored records, the new ones from the statement.
  Transaction t = captureOne(s, "UPDATE t SET a = a || 'z', b = b || 'y'");
  INFO(describe(t));
  REQUIRE(t.rows.size() == 1);
  checkWrite(t.rows[0], 1, Txt(nul), Txt(nul + "z"), {dotOf(s, 1)});
  checkWrite(t.rows[0], 2, Txt(""), Txt("y"), {dotOf(s, 1)});
  Transaction u = captureOne(s, "UPDATE k SET v = v || 'w'");
  INFO(describe(u));
  REQUIRE(u.rows.size() == 1);
  CHECK(u.rows[0].pk == Row{Txt(key)});
  checkWrite(u.rows[0], 1, Txt(lng), Txt(lng + "w"), {dotOf(s, 2)});
  checkReplica(c, 0, {"t", "k"});
}

}  // namespace parley
