// Untracking a table (README "Changing the schema"): a table tracked everywhere is untracked at
// every site by a schema transaction; writes made at sites that had not received it still reach
// every site, in any delivery order; writes made after it are plain; once every site holds it,
// parley forgets the table. A table tracked by hand is untracked at one site only.
#include <catch2/catch.hpp>

#include <algorithm>

#include "parley/testing/cluster.hpp"

namespace parley::test {
namespace {

using testing::Cluster;
using testing::Options;

Options threeSites() {
  Options o;
  o.sites = {"a", "b", "c"};
  o.schema = "CREATE TABLE account(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)";
  o.clockStepMs = 5;
  return o;
}

bool tracks(Cluster& c, std::size_t site, const std::string& table) {
  auto all = c.site(site).trackedTables();
  return std::find(all.begin(), all.end(), table) != all.end();
}

std::int64_t parleyKnows(Cluster& c, std::size_t site, const std::string& table) {
  return c.value(site, "SELECT count(*) FROM parley_tables WHERE name = '" + table + "'").asInteger();
}

// a tracks `wallet` everywhere with two rows, every site holds it; then a untracks it while b
// updates a row and c inserts one, each not having heard of the untrack.
void untrackDuringWrites(Cluster& c) {
  c.execOk(0, "CREATE TABLE wallet(id INTEGER PRIMARY KEY, owner TEXT, cents INTEGER)");
  c.execOk(0, "INSERT INTO wallet VALUES (1, 'ann', 100), (2, 'bob', 50)");
  REQUIRE(c.site(0).trackEverywhere("wallet").isOk());
  c.syncAll();
  REQUIRE(tracks(c, 2, "wallet"));
  c.partition({{0}, {1}, {2}});
  REQUIRE(c.site(0).untrack("wallet").isOk());
  c.execOk(1, "UPDATE wallet SET cents = 75 WHERE id = 1");
  c.execOk(2, "INSERT INTO wallet VALUES (3, 'cy', 9)");
  c.heal();
}

}  // namespace

TEST_CASE("an untrack reaches every site, and writes made concurrently with it apply everywhere in any order",
          "[core][schema][untrack][issue25]") {
  // Each order delivers the untrack and the two concurrent writes to each site differently:
  // the untrack first, the writes first, or in between.
  const std::vector<std::vector<std::pair<std::size_t, std::size_t>>> orders = {
      {{0, 1}, {0, 2}, {1, 2}, {2, 1}, {1, 0}, {2, 0}},
      {{1, 0}, {2, 0}, {1, 2}, {2, 1}, {0, 1}, {0, 2}},
      {{1, 2}, {0, 2}, {2, 0}, {0, 1}, {2, 1}, {1, 0}},
      {{2, 1}, {0, 1}, {1, 0}, {1, 2}, {0, 2}, {2, 0}},
  };
  for (std::size_t o = 0; o < orders.size(); ++o) {
    CAPTURE(o);
    Cluster c(threeSites());
    untrackDuringWrites(c);
    CHECK_FALSE(tracks(c, 0, "wallet"));
    for (auto [from, to] : orders[o]) c.deliver(from, to);
    c.syncAll();
    const std::vector<Row> expected = {{Value::integer(1), Value::text("ann"), Value::integer(75)},
                                       {Value::integer(2), Value::text("bob"), Value::integer(50)},
                                       {Value::integer(3), Value::text("cy"), Value::integer(9)}};
    for (std::size_t s = 0; s < 3; ++s) {
      CAPTURE(s);
      CHECK(c.query(s, "SELECT id, owner, cents FROM wallet ORDER BY id") == expected);
      CHECK_FALSE(tracks(c, s, "wallet"));
      CHECK(parleyKnows(c, s, "wallet") == 0);  // final everywhere: forgotten
    }
    c.assertConverged();  // the tables still tracked
  }
}

TEST_CASE("writes to a table after its untrack are plain writes: they replicate nowhere",
          "[core][schema][untrack][issue25]") {
  Cluster c(threeSites());
  untrackDuringWrites(c);
  auto before = c.site(0).vector();
  REQUIRE(before);
  c.execOk(0, "UPDATE wallet SET owner = 'only at a' WHERE id = 2");  // a holds the untrack
  CHECK(c.site(0).vector().value() == *before);
  c.syncAll();
  c.execOk(1, "DELETE FROM wallet WHERE id = 3");  // b now holds it too
  c.syncAll();
  CHECK(c.value(0, "SELECT owner FROM wallet WHERE id = 2") == Value::text("only at a"));
  CHECK(c.value(1, "SELECT owner FROM wallet WHERE id = 2") == Value::text("bob"));
  CHECK(c.value(0, "SELECT count(*) FROM wallet") == Value::integer(3));
  CHECK(c.value(1, "SELECT count(*) FROM wallet") == Value::integer(2));
  CHECK(c.site(1).verify().ok());
}

TEST_CASE("until every site holds an untrack, the table's schema cannot change and it cannot be tracked again",
          "[core][schema][untrack][issue25]") {
  Cluster c(threeSites());
  untrackDuringWrites(c);
  auto alter = c.exec(0, "ALTER TABLE wallet ADD COLUMN note TEXT");
  REQUIRE_FALSE(alter);
  CHECK_THAT(alter.status().message(), Catch::Contains("is being untracked"));
  auto again = c.site(0).trackEverywhere("wallet");
  REQUIRE_FALSE(again.isOk());
  CHECK_THAT(again.message(), Catch::Contains("is being untracked"));
  CHECK_FALSE(c.site(0).untrack("wallet").isOk());
  c.syncAll();
  // Final everywhere: a plain table, which may be changed, and tracked again. Another site
  // holding rows in it must track it too: its rows become its own inserts.
  c.execOk(0, "ALTER TABLE wallet ADD COLUMN note TEXT");
  c.execOk(1, "ALTER TABLE wallet ADD COLUMN note TEXT");
  c.execOk(2, "ALTER TABLE wallet ADD COLUMN note TEXT");
  REQUIRE(c.site(0).trackEverywhere("wallet").isOk());
  CHECK_THROWS_WITH(c.deliver(0, 1), Catch::Contains("has rows here but is not tracked"));
  REQUIRE(c.site(1).trackEverywhere("wallet").isOk());
  REQUIRE(c.site(2).trackEverywhere("wallet").isOk());
  c.syncAll();  // the three sites' rows met as insert/insert conflicts: one table again
  c.assertConverged();
  c.execOk(1, "UPDATE wallet SET note = 'back' WHERE id = 1");
  c.syncAll();
  c.assertConverged();
  CHECK(c.value(2, "SELECT note FROM wallet WHERE id = 1") == Value::text("back"));
}

TEST_CASE("untracking a table tracked by hand is local to the site, and the fingerprint tells the others",
          "[core][schema][untrack][issue25]") {
  Options o = threeSites();
  o.sites = {"a", "b"};
  Cluster c(o);
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 5)");
  c.syncAll();
  REQUIRE(c.site(0).untrack("account").isOk());
  CHECK(c.site(0).trackedTables().empty());
  CHECK(tracks(c, 1, "account"));
  CHECK(parleyKnows(c, 0, "account") == 0);
  CHECK(c.site(0).schemaFingerprint() != c.site(1).schemaFingerprint());
  c.execOk(0, "UPDATE account SET owner = 'plain' WHERE id = 1");  // no guard, no capture
  REQUIRE(c.site(1).untrack("account").isOk());
  c.syncAll();
  CHECK(c.value(0, "SELECT owner FROM account") == Value::text("plain"));
  CHECK(c.value(1, "SELECT owner FROM account") == Value::text("ann"));
  CHECK_FALSE(c.site(1).untrack("account").isOk());
}

}  // namespace parley::test
