// Site::exec keeps the statements it ran most recently prepared (sql::StmtCache) and runs them
// again when given the same text. Running a kept statement must be indistinguishable from
// preparing it afresh: every run captured, no parameter left over from the last run, the schema
// as it is now, a failed run leaving nothing behind, and DDL never kept.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley::test {
namespace {

const char* const kUpdate = "UPDATE t SET a = ?1 WHERE id = ?2";

TEST_CASE("the same UPDATE run again with new parameters captures every run and replicates",
          "[core][exec][statements]") {
  testing::Cluster c(test::clusterOptions(2));
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3)");
  SECTION("one transaction each") {
    for (std::int64_t round = 0; round < 3; ++round)
      for (std::int64_t id = 1; id <= 3; ++id) {
        Transaction t = captureOne(s, kUpdate, {Txt("r" + std::to_string(round)), Int(id)});
        REQUIRE(t.rows.size() == 1);
        CHECK(findRow(t, "t", {Int(id)}) != nullptr);
      }
  }
  SECTION("all in one transaction") {
    execOk(s, "BEGIN");
    for (std::int64_t id = 1; id <= 3; ++id) execOk(s, kUpdate, {Txt("r2"), Int(id)});
    Transaction t = captureOne(s, "COMMIT");
    CHECK(t.rows.size() == 3);
  }
  c.deliver(0, 1);
  std::vector<Row> expected{{Int(1), Txt("r2"), Int(1)}, {Int(2), Txt("r2"), Int(2)}, {Int(3), Txt("r2"), Int(3)}};
  CHECK(tableContents(s, "t") == expected);
  CHECK(tableContents(c[1], "t") == expected);
}

TEST_CASE("a kept statement run without parameters binds NULL, not the last run's values",
          "[core][exec][statements]") {
  testing::Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  const char* insert = "INSERT INTO t VALUES (?1, ?2, ?3)";
  execOk(s, insert, {Int(1), Txt("x"), Int(10)});
  // Without parameters the key is NULL: SQLite picks the next rowid, and a and b are NULL.
  execOk(s, insert);
  CHECK(tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("x"), Int(10)}, {Int(2), Null(), Null()}});
}

TEST_CASE("a kept statement sees the schema as it is now", "[core][exec][statements]") {
  testing::Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  execOk(s, "CREATE TABLE plain(id INTEGER PRIMARY KEY, x)");
  execOk(s, "INSERT INTO plain VALUES (1, 1)");
  const char* select = "SELECT * FROM plain";
  CHECK(execOk(s, select).columns == std::vector<std::string>{"id", "x"});
  execOk(s, "ALTER TABLE plain ADD COLUMN y DEFAULT 7");
  QueryResult after = execOk(s, select);
  CHECK(after.columns == std::vector<std::string>{"id", "x", "y"});
  CHECK(after.rows == std::vector<Row>{{Int(1), Int(1), Int(7)}});
  // Tracking a table the statement writes: its next run is captured.
  const char* insert = "INSERT INTO plain(x) VALUES (?1)";
  captureNothing(s, "INSERT INTO plain(x) VALUES (2)");
  execOk(s, insert, {Int(2)});
  REQUIRE_OK(s.track("plain"));
  Transaction t = captureOne(s, insert, {Int(3)});
  CHECK(t.rows.size() == 1);
}

TEST_CASE("a kept statement that fails leaves nothing behind and runs again", "[core][exec][statements]") {
  testing::Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  const char* insert = "INSERT INTO t VALUES (?1, 'a', 1)";
  execOk(s, insert, {Int(1)});
  auto failed = s.exec(insert, {Int(1)});  // the key is taken
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Status::Code::kConstraint);
  Transaction t = captureOne(s, insert, {Int(2)});
  CHECK(t.rows.size() == 1);
  CHECK(queryInt(s, "SELECT count(*) FROM t") == 2);
  // Wrong parameter counts fail before the statement runs, and leave it usable.
  CHECK_FALSE(s.exec(insert, {Int(3), Int(4)}).ok());
  execOk(s, insert, {Int(3)});
  CHECK(queryInt(s, "SELECT count(*) FROM t") == 3);
}

TEST_CASE("DDL and several statements in one text are prepared afresh each time", "[core][exec][statements]") {
  testing::Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  // Kept, the second CREATE would not see the DROP in between.
  for (int round = 0; round < 3; ++round) {
    execOk(s, "CREATE TABLE scratch(x)");
    execOk(s, "DROP TABLE scratch");
  }
  // Dropping a tracked table is refused every time, not only when first prepared.
  for (int round = 0; round < 2; ++round) {
    auto dropped = s.exec("DROP TABLE t");
    REQUIRE_FALSE(dropped.ok());
    CHECK(dropped.status().message().find("replicated by parley") != std::string::npos);
  }
  const char* two = "INSERT INTO t(a) VALUES ('a'); SELECT count(*) FROM t";
  for (std::int64_t n = 1; n <= 3; ++n) CHECK(execOk(s, two).rows == std::vector<Row>{{Int(n)}});
}


// Issue 22, finding 6: what a statement does to the transaction comes from SQLite's parse (the
// authorizer), never from words in its text.
TEST_CASE("execAtomically runs several statements all or nothing whatever words their strings hold",
          "[core][exec][statements][issue22]") {
  ClusterOptions options;
  options.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b CHECK (b >= 0));";
  testing::Cluster c(test::clusterOptions(1, options));
  Site& s = c[0];
  execOk(s, "INSERT INTO t VALUES (1, 'x', 1000), (2, 'y', 1000)");
  VersionVector before = s.vector().value();
  for (const char* credit : {"UPDATE t SET b = b + 150, a = 'rent, end of month' WHERE id = 2",
                             "UPDATE t SET b = b + CASE WHEN a = 'y' THEN 150 END WHERE id = 2",
                             "UPDATE t SET b = b + 150, a = 'BEGIN; COMMIT' WHERE id = 2",
                             "CREATE TRIGGER tr AFTER UPDATE ON t BEGIN SELECT 'END'; END; "
                             "UPDATE t SET b = b + 150 WHERE id = 2"}) {
    INFO(credit);
    auto r = s.execAtomically(std::string(credit) + "; UPDATE t SET b = b - 5000 WHERE id = 1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kConstraint);
    CHECK(tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("x"), Int(1000)}, {Int(2), Txt("y"), Int(1000)}});
    CHECK(s.vector().value() == before);
  }
  CHECK(queryInt(s, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name = 'tr'") == 0);
  // The transfer that succeeds is one transaction.
  REQUIRE_OK(s.execAtomically("UPDATE t SET b = b - 150 WHERE id = 1; UPDATE t SET b = b + 150, a = 'end' WHERE id = 2"));
  CHECK(s.vector().value().get(s.id()) == before.get(s.id()) + 1);
  CHECK(tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("x"), Int(850)}, {Int(2), Txt("end"), Int(1150)}});
}

TEST_CASE("exec sees BEGIN, COMMIT and savepoints as SQLite parses them, not as their text reads",
          "[core][exec][statements][issue22]") {
  testing::Cluster c(test::clusterOptions(1));
  Site& s = c[0];
  // Comments and odd spellings around the keywords do not hide them.
  execOk(s, "/* begin */ BEGIN /* end */ DEFERRED TRANSACTION");
  execOk(s, "INSERT INTO t VALUES (1, 'END', 'COMMIT')");
  Transaction t = captureOne(s, "-- commit here\n END TRANSACTION");
  CHECK(t.rows.size() == 1);
  execOk(s, "SAVEPOINT \"outer one\"");
  execOk(s, "INSERT INTO t VALUES (2, 'RELEASE outer', NULL)");
  captureOne(s, "RELEASE SAVEPOINT \"OUTER ONE\"");  // names compare without regard to case
  // Text that manages its own transaction runs as written through execAtomically too.
  auto r = s.execAtomically("BEGIN; INSERT INTO t VALUES (3, 'a', 'b'); COMMIT; INSERT INTO t VALUES (4, NULL, NULL)");
  REQUIRE_OK(r);
  CHECK(queryInt(s, "SELECT count(*) FROM t") == 4);
  // VACUUM authorizes nothing when prepared: it runs outside any transaction.
  REQUIRE_OK(s.execAtomically("UPDATE t SET a = 'v' WHERE id = 4; VACUUM"));
  REQUIRE_OK(s.exec("VACUUM"));
  CHECK(queryInt(s, "SELECT count(*) FROM t WHERE a = 'v'") == 1);
  // EXPLAIN of a transaction statement only describes it: the text stays all or nothing.
  CHECK_FALSE(s.execAtomically("UPDATE t SET a = 'explained' WHERE id = 4; EXPLAIN BEGIN; INSERT INTO t VALUES (4, 0, 0)").ok());
  CHECK(queryInt(s, "SELECT count(*) FROM t WHERE a = 'explained'") == 0);
  // A pragma table-valued function inside a write does not make the write unwrapped.
  captureOne(s, "UPDATE t SET b = (SELECT count(*) FROM pragma_table_info('t')) WHERE id = 4");
}

}  // namespace
}  // namespace parley::test
