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
  Cluster c(2);
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
  deliver(s, c[1]);
  std::vector<Row> expected{{Int(1), Txt("r2"), Int(1)}, {Int(2), Txt("r2"), Int(2)}, {Int(3), Txt("r2"), Int(3)}};
  CHECK(tableContents(s, "t") == expected);
  CHECK(tableContents(c[1], "t") == expected);
}

TEST_CASE("a kept statement run without parameters binds NULL, not the last run's values",
          "[core][exec][statements]") {
  Cluster c(1);
  Site& s = c[0];
  const char* insert = "INSERT INTO t VALUES (?1, ?2, ?3)";
  execOk(s, insert, {Int(1), Txt("x"), Int(10)});
  // Without parameters the key is NULL: SQLite picks the next rowid, and a and b are NULL.
  execOk(s, insert);
  CHECK(tableContents(s, "t") == std::vector<Row>{{Int(1), Txt("x"), Int(10)}, {Int(2), Null(), Null()}});
}

TEST_CASE("a kept statement sees the schema as it is now", "[core][exec][statements]") {
  Cluster c(1);
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
  Cluster c(1);
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
  Cluster c(1);
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

}  // namespace
}  // namespace parley::test
