// Undo records (core/storage/undo.hpp) as re-folds use them: kept in the log row, with what a
// local commit's updates replaced left to the transaction's body, and read from format 7's
// table of their own in a file written before.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "parley/replication.hpp"
#include "support/fww_file_sites.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::execOk;
using test::Int;
using test::queryInt;
using test::tableContents;
using test::Txt;

// Rewrites a closed site file as parley's format 7 kept it: undo records in parley_undo (rowid
// = application order), none in the log rows.
void toFormat7(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db,
                        "BEGIN;"
                        "CREATE TABLE parley_undo(site INTEGER NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL,"
                        "                         PRIMARY KEY(site, seq));"
                        "INSERT INTO parley_undo(site, seq, body) SELECT id >> 40, id & 1099511627775, undo "
                        "  FROM parley_log WHERE undo IS NOT NULL ORDER BY applied;"
                        "ALTER TABLE parley_log DROP COLUMN undo;"
                        "ALTER TABLE parley_log DROP COLUMN applied;"
                        "UPDATE parley_meta SET value = '7' WHERE key = 'format';"
                        "COMMIT;",
                        nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
  REQUIRE(message.empty());
}

TEST_CASE("a site file of format 7 opens as format 8 and re-folds a late arrival through records of both formats",
          "[core][undo][persist]") {
  test::FwwFileSites s;
  execOk(s[0], "INSERT INTO t VALUES (1, 'a', 0)");  // A:1
  test::transfer(s[0], s[1]);
  test::transfer(s[0], s[2]);
  s.clock(1).advance(10);
  execOk(s[1], "UPDATE t SET a = 'b' WHERE id = 1");  // B:1
  execOk(s[1], "INSERT INTO t VALUES (2, 'x', 0)");   // B:2
  test::transfer(s[1], s[2]);
  s.clock(0).advance(5);
  execOk(s[0], "UPDATE t SET a = 'a2' WHERE id = 1");  // A:2: concurrent with B:1, sorts before it

  s.close(2);
  toFormat7(s.path(2));
  s.open(2);
  CHECK(queryInt(s[2], "SELECT count(*) FROM parley_meta WHERE key = 'format' AND CAST(value AS TEXT) = '8'") == 1);
  CHECK(queryInt(s[2], "SELECT count(*) FROM parley_undo") == 3);  // A:1, B:1, B:2
  s.clock(2).advance(20);
  execOk(s[2], "UPDATE t SET b = b + 1 WHERE id = 2");  // C:1, its record in its log row
  CHECK(queryInt(s[2], "SELECT count(*) FROM parley_log WHERE undo IS NOT NULL") == 1);

  auto r = test::transfer(s[0], s[2]);  // A:2 arrives late: B:1, B:2 and C:1 are undone and folded again
  CHECK(r.refolded == 3);
  CHECK(queryInt(s[2], "SELECT count(*) FROM parley_undo") == 1);  // A:1's stays where it was
  CHECK(queryInt(s[2], "SELECT count(*) FROM parley_log WHERE undo IS NOT NULL") == 4);
  s.exchangeAll();
  std::vector<Row> expected{{Int(1), Txt("a2"), Int(0)}, {Int(2), Txt("x"), Int(1)}};
  CHECK(tableContents(s[2], "t") == expected);
  CHECK(tableContents(s[1], "t") == expected);
  CHECK(tableContents(s[0], "t") == expected);
}

TEST_CASE("a local UPDATE of a bulk insert's rows keeps an undo record that does not grow with them, and a re-fold "
          "still restores every row",
          "[core][undo]") {
  test::FwwFileSites s;
  execOk(s[2], "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
               "INSERT INTO t SELECT i, 'r', 0 FROM n");  // C:1, one insert range
  test::transfer(s[2], s[0]);
  s.clock(2).advance(10);
  execOk(s[2], "UPDATE t SET b = b + 1");  // C:2
  CHECK(queryInt(s[2], "SELECT length(undo) FROM parley_log WHERE id = (SELECT max(id) FROM parley_log)") < 64);
  s.clock(0).advance(5);
  execOk(s[0], "UPDATE t SET b = 100 WHERE id = 5");  // A:1: sorts before C:2, concurrent with it on row 5
  auto r = test::transfer(s[0], s[2]);
  CHECK(r.refolded == 1);
  s.exchangeAll();
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(queryInt(s[i], "SELECT b FROM t WHERE id = 5") == 100);  // fww keeps the earlier write
    CHECK(queryInt(s[i], "SELECT sum(b) FROM t") == 999 + 100);
    CHECK(queryInt(s[i], "SELECT count(*) FROM t WHERE a = 'r'") == 1000);
  }
  CHECK(tableContents(s[2], "t") == tableContents(s[0], "t"));
  CHECK(tableContents(s[1], "t") == tableContents(s[0], "t"));
}

}  // namespace
}  // namespace parley
