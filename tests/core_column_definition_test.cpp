// Two definitions of one column (README "Changing the schema"): sites that add a column of the
// same name concurrently with different definitions end, in every delivery order, with the
// definition first in canonical order, the same cells and equal digests; the other definition
// is a row of the conflict log.
#include <catch2/catch.hpp>

#include <algorithm>

#include "parley/replication.hpp"
#include "parley/testing/cluster.hpp"

namespace parley::test {
namespace {

using testing::Cluster;
using testing::Options;

std::string declaredType(Cluster& c, std::size_t site) {
  return c.value(site, "SELECT type || ' ' || ifnull(dflt_value, '') FROM pragma_table_info('account') WHERE name = 'tag'")
      .asText();
}

// b's add (later in canonical order) loses to a's "tag TEXT DEFAULT 'none'". Rows 4 and 5 never
// write tag (b's update of row 5 makes SQLite store b's default in it); b writes row 2's tag and
// inserts row 3; a writes row 1's.
void twoDefinitions(const std::string& bDefinition, const std::string& bValue, const std::string& expectedType,
                    const std::vector<Row>& expected) {
  // Who hears of what first: a's add or b's, at b, a and c.
  const std::vector<std::vector<std::pair<std::size_t, std::size_t>>> orders = {
      {{0, 1}, {1, 0}, {0, 2}, {1, 2}},  // b gets a's first; c gets a's, then b's
      {{1, 0}, {0, 1}, {1, 2}, {0, 2}},  // a gets b's first; c gets b's, then a's
      {{1, 2}, {2, 0}, {0, 1}, {0, 2}},  // a learns b's through c
  };
  for (std::size_t o = 0; o < orders.size(); ++o) {
    CAPTURE(o);
    Options opts;
    opts.sites = {"a", "b", "c"};
    opts.schema = "CREATE TABLE account(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)";
    opts.clockStepMs = 5;
    Cluster c(opts);
    c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 10), (2, 'bob', 20), (4, 'dee', 40), (5, 'eve', 50)");
    c.syncAll();
    c.partition({{0}, {1}, {2}});
    c.execOk(0, "ALTER TABLE account ADD COLUMN tag TEXT DEFAULT 'none'");
    c.advanceClock(1, 60'000);  // b's add is later: a's definition wins
    c.execOk(1, "ALTER TABLE account ADD COLUMN " + bDefinition);
    c.execOk(0, "UPDATE account SET tag = 'x' WHERE id = 1");
    c.execOk(1, "UPDATE account SET tag = " + bValue + " WHERE id = 2");
    c.execOk(1, "UPDATE account SET balance = 51 WHERE id = 5");  // SQLite stores b's default in row 5's tag
    c.execOk(1, "INSERT INTO account(id, owner, balance) VALUES (3, 'cy', 30)");  // tag: b's default, written
    c.heal();
    for (auto [from, to] : orders[o]) c.deliver(from, to);
    c.syncAll();
    c.assertConverged();
    for (std::size_t s = 0; s < 3; ++s) {
      CAPTURE(s);
      CHECK(declaredType(c, s) == expectedType);
      CHECK(c.query(s, "SELECT id, tag FROM account ORDER BY id") == expected);
      auto checks = c.site(s).replication().verify();
      REQUIRE(checks);
      for (const auto& d : *checks) CHECK(d.ok());
      CHECK(c.site(s).replication().digests().value() == c.site(0).replication().digests().value());
    }
    std::size_t logged = 0;
    for (std::size_t s = 0; s < 3; ++s)
      for (const auto& r : c.conflicts(s))
        if (r.kind == ConflictKind::kSchema && r.column == "tag") {
          ++logged;
          CHECK((r.remoteWon ? r.localValue : r.remoteValue) == Value::text("tag " + bDefinition.substr(4)));
        }
    CHECK(logged == 3);  // once at every site, each held both definitions
  }
}

}  // namespace

TEST_CASE("a column added at two sites with different defaults ends with the first definition everywhere",
          "[core][schema][issue25]") {
  twoDefinitions("tag TEXT DEFAULT 'other'", "'y'", "TEXT 'none'",
                 {{Value::integer(1), Value::text("x")},
                  {Value::integer(2), Value::text("y")},
                  {Value::integer(3), Value::text("other")},
                  {Value::integer(4), Value::text("none")},
                  {Value::integer(5), Value::text("none")}});
}

TEST_CASE("a column added at two sites with different types keeps the values as their writers stored them",
          "[core][schema][issue25]") {
  twoDefinitions("tag INTEGER DEFAULT 7", "42", "BLOB 'none'",
                 {{Value::integer(1), Value::text("x")},
                  {Value::integer(2), Value::integer(42)},
                  {Value::integer(3), Value::integer(7)},
                  {Value::integer(4), Value::text("none")},
                  {Value::integer(5), Value::text("none")}});
}

}  // namespace parley::test
