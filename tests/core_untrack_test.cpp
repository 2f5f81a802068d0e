// Untracking a table (README "Changing the schema"): a table tracked everywhere is untracked at
// every site by a schema transaction; writes made at sites that had not received it still reach
// every site, in any delivery order; writes made after it are plain; once every site holds it,
// parley forgets the table. A table tracked by hand is untracked at one site only.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "parley/replication.hpp"
#include "parley/testing/cluster.hpp"
#include "support/sites.hpp"

namespace parley::test {
namespace {

using testing::Cluster;
using testing::Options;

Options sitesNamed(std::vector<std::string> names) {
  Options o;
  o.sites = std::move(names);
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
    Cluster c(sitesNamed({"a", "b", "c"}));
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
  Cluster c(sitesNamed({"a", "b", "c"}));
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
  CHECK(c.site(1).replication().verify().ok());
}

TEST_CASE("until every site holds an untrack, the table's schema cannot change and it cannot be tracked again",
          "[core][schema][untrack][issue25]") {
  Cluster c(sitesNamed({"a", "b", "c"}));
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
  Cluster c(sitesNamed({"a", "b"}));
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 5)");
  c.syncAll();
  REQUIRE(c.site(0).untrack("account").isOk());
  CHECK(c.site(0).trackedTables().empty());
  CHECK(tracks(c, 1, "account"));
  CHECK(parleyKnows(c, 0, "account") == 0);
  CHECK(c.site(0).replication().schemaFingerprint() != c.site(1).replication().schemaFingerprint());
  c.execOk(0, "UPDATE account SET owner = 'plain' WHERE id = 1");  // no guard, no capture
  REQUIRE(c.site(1).untrack("account").isOk());
  c.syncAll();
  CHECK(c.value(0, "SELECT owner FROM account") == Value::text("plain"));
  CHECK(c.value(1, "SELECT owner FROM account") == Value::text("ann"));
  CHECK_FALSE(c.site(1).untrack("account").isOk());
}

TEST_CASE("a table tracked again elsewhere reaches a site whose untrack is not final yet",
          "[core][schema][untrack][issue25]") {
  Cluster c(sitesNamed({"a", "b"}));
  c.execOk(0, "CREATE TABLE wallet(id INTEGER PRIMARY KEY, owner TEXT, cents INTEGER)");
  c.execOk(0, "INSERT INTO wallet VALUES (1, 'ann', 100)");
  REQUIRE(c.site(0).trackEverywhere("wallet").isOk());
  c.syncAll();
  REQUIRE(c.site(0).untrack("wallet").isOk());
  c.execOk(0, "DELETE FROM wallet");  // a plain table at a: its own
  c.deliver(0, 1);                    // b holds the untrack; a does not know b does
  REQUIRE_FALSE(tracks(c, 1, "wallet"));
  REQUIRE(parleyKnows(c, 1, "wallet") == 0);  // final at b (a made it): b may track it again
  c.execOk(1, "DELETE FROM wallet WHERE id = 1");
  c.execOk(1, "INSERT INTO wallet VALUES (2, 'bob', 5)");
  REQUIRE(c.site(1).trackEverywhere("wallet").isOk());
  c.deliver(1, 0);
  CHECK(tracks(c, 0, "wallet"));
  c.execOk(0, "UPDATE wallet SET cents = 6 WHERE id = 2");
  c.syncAll();
  c.assertConverged();
  CHECK(c.value(1, "SELECT cents FROM wallet WHERE id = 2") == Value::integer(6));
}

// Random writes at three partitioned sites, one of which untracks the table at a random point,
// delivered in random orders with duplicates: every run ends with the same rows at every site
// and the table forgotten everywhere. A site writes the table only while it does not hold the
// untrack (after that its writes are its own, replicated nowhere).
TEST_CASE("random writes around an untrack converge in every delivery order", "[core][schema][untrack][property][issue25]") {
  const int runs = 30;
  for (int run = 0; run < runs; ++run) {
    CAPTURE(run);
    Options o = test::faultyRun(sitesNamed({"a", "b", "c"}), run);
    Cluster c(o);
    std::mt19937_64 rng(o.seed);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    c.execOk(0, "CREATE TABLE wallet(id INTEGER PRIMARY KEY, owner TEXT, cents INTEGER)");
    for (int id = 1; id <= 6; ++id) c.execOk(0, fmt::format("INSERT INTO wallet VALUES ({}, 'o{}', {})", id, id, id));
    REQUIRE(c.site(0).trackEverywhere("wallet").isOk());
    c.syncAll();
    const int untrackAt = static_cast<int>(pick(10));
    const std::size_t untracker = pick(3);
    for (int round = 0; round < 14; ++round) {
      if (pick(3) == 0) c.partition({{0}, {1, 2}});
      else if (pick(2) == 0) c.partition({{0, 1}, {2}});
      else c.heal();
      if (round == untrackAt) REQUIRE(c.site(untracker).untrack("wallet").isOk());
      for (std::size_t s = 0; s < 3; ++s) {
        if (!tracks(c, s, "wallet")) continue;
        int id = static_cast<int>(pick(8)) + 1;
        switch (pick(3)) {
          case 0: c.execOk(s, fmt::format("UPDATE wallet SET cents = cents + {} WHERE id = {}", round + 1, id)); break;
          case 1: c.execOk(s, fmt::format("INSERT OR REPLACE INTO wallet VALUES ({}, 's{}r{}', 0)", id, s, round)); break;
          default: c.execOk(s, fmt::format("DELETE FROM wallet WHERE id = {}", id)); break;
        }
      }
      for (int k = 0; k < 2; ++k) {
        std::size_t from = pick(3), to = (from + 1 + pick(2)) % 3;
        try {
          c.send(from, to);
        } catch (const testing::ClusterError&) {
          // cut apart by the partition
        }
        c.step();
      }
    }
    c.heal();
    c.syncAll();
    auto rows = c.query(0, "SELECT id, owner, cents FROM wallet ORDER BY id");
    for (std::size_t s = 0; s < 3; ++s) {
      CAPTURE(s);
      CHECK(c.query(s, "SELECT id, owner, cents FROM wallet ORDER BY id") == rows);
      CHECK_FALSE(tracks(c, s, "wallet"));
      CHECK(parleyKnows(c, s, "wallet") == 0);
    }
    c.assertConverged();
  }
}

}  // namespace parley::test
