// Schema changes whose place in canonical order decides the state (DESIGN.md, "Schema and
// configuration changes"): a UNIQUE index created while other sites write, and a configure
// switching a column between lww and merge while other sites write it. Every test delivers the
// concurrent transactions in every order and compares the sites with each other (rows, digests,
// index presence, conflict log) and with the fold worked out by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "parley/testing/cluster.hpp"
#include "support/sites.hpp"
#include "parley/replication.hpp"

namespace parley::test {
namespace {

using testing::Cluster;
using testing::Options;

constexpr std::size_t kA = 0, kB = 1, kC = 2;

Options accounts() {
  Options o;
  o.sites = {"a", "b", "c"};
  o.schema = "CREATE TABLE account(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)";
  o.clockStepMs = 5;
  return o;
}

bool hasIndex(Cluster& c, std::size_t site, const std::string& name) {
  return !c.query(site, "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = '" + name + "'").empty();
}

// The conflict log rows that must agree everywhere once every site holds the same transactions:
// schema conflicts and rejections, without whether they are final yet.
std::set<std::string> decisions(Cluster& c, std::size_t site) {
  std::set<std::string> out;
  for (const auto& r : c.conflicts(site))
    if (r.kind == ConflictKind::kSchema || r.outcome == ConflictOutcome::kRejected)
      out.insert(fmt::format("{} {} {} {} {} {} [{}] {}", toString(r.kind), r.table, r.column, r.remoteDot.toString(),
                             toString(r.outcome), r.localValue.isNull() ? "" : r.localValue.toDisplay(), r.reason,
                             r.pk.size()));
  return out;
}

// Every order of the six deliveries between three sites (each sends what the receiver lacks,
// its own and what it forwards); `run` sets a fresh cluster up, delivers, and checks.
void everyDeliveryOrder(const std::function<void(const std::vector<std::pair<std::size_t, std::size_t>>&)>& run) {
  std::vector<std::pair<std::size_t, std::size_t>> links = {{kA, kB}, {kA, kC}, {kB, kA}, {kB, kC}, {kC, kA}, {kC, kB}};
  std::sort(links.begin(), links.end());
  int orders = 0;
  do {
    run(links);
    ++orders;
  } while (std::next_permutation(links.begin(), links.end()));
  CHECK(orders == 720);
}

void deliverAll(Cluster& c, const std::vector<std::pair<std::size_t, std::size_t>>& order) {
  c.heal();
  for (const auto& [from, to] : order) c.deliver(from, to);
  c.syncAll();
}

// Equal rows, digests, index presence and decisions at every site.
void requireSame(Cluster& c, const std::string& index) {
  c.assertConverged();
  auto digests = c.site(kA).replication().digests();
  REQUIRE_OK(digests);
  for (std::size_t s : {kB, kC}) {
    auto other = c.site(s).replication().digests();
    REQUIRE_OK(other);
    CHECK(*other == *digests);
    CHECK(hasIndex(c, s, index) == hasIndex(c, kA, index));
    CHECK(decisions(c, s) == decisions(c, kA));
  }
}

// a creates a UNIQUE index on owner while b, partitioned away, inserts a second 'ann'; b's
// insert is made at b's clock + `bAt`, the index at a's clock + 1000 ms.
Cluster uniqueRace(std::uint64_t bAt) {
  Cluster c(accounts());
  c.execOk(kA, "INSERT INTO account VALUES (1, 'ann', 100), (2, 'bob', 50)");
  c.syncAll();
  c.partition({{kA}, {kB}, {kC}});
  c.advanceClock(kA, 1000);
  c.execOk(kA, "CREATE UNIQUE INDEX one_owner ON account(owner)");
  c.advanceClock(kB, bAt);
  c.execOk(kB, "INSERT INTO account VALUES (3, 'ann', 7)");
  return c;
}

}  // namespace

TEST_CASE("a UNIQUE index made while another site inserts a duplicate after it rejects the insert everywhere, "
          "in every delivery order",
          "[core][schema][unique][issue25]") {
  everyDeliveryOrder([](const auto& order) {
    Cluster c = uniqueRace(2000);  // the insert sorts after the index
    deliverAll(c, order);
    requireSame(c, "one_owner");
    for (std::size_t s : {kA, kB, kC}) {
      CHECK(hasIndex(c, s, "one_owner"));
      CHECK(c.value(s, "SELECT count(*) FROM account").asInteger() == 2);
    }
    auto rejected = c.rejected(kB);  // b hears that its own insert was rejected, a row per column
    REQUIRE_FALSE(rejected.empty());
    for (const auto& r : rejected) {
      CHECK(r.table == "account");
      CHECK(r.remoteDot == rejected[0].remoteDot);
      CHECK_THAT(r.reason, Catch::Contains("UNIQUE"));
    }
    // The index holds for later writes too: a duplicate is refused where it is written.
    CHECK_FALSE(c.exec(kC, "UPDATE account SET owner = 'ann' WHERE id = 2"));
  });
}

TEST_CASE("a UNIQUE index made while another site inserts a duplicate before it is created nowhere and is a schema "
          "conflict naming the key, in every delivery order",
          "[core][schema][unique][issue25]") {
  everyDeliveryOrder([](const auto& order) {
    Cluster c = uniqueRace(0);  // the insert sorts before the index
    deliverAll(c, order);
    requireSame(c, "one_owner");
    for (std::size_t s : {kA, kB, kC}) {
      CHECK_FALSE(hasIndex(c, s, "one_owner"));
      CHECK(c.value(s, "SELECT count(*) FROM account WHERE owner = 'ann'").asInteger() == 2);
      auto all = c.conflicts(s);
      auto schema = std::count_if(all.begin(), all.end(), [](const ConflictReport& r) {
        return r.kind == ConflictKind::kSchema && r.column == "one_owner" && r.localValue == Value::text("'ann'") &&
               r.reason.find("not created") != std::string::npos;
      });
      CHECK(schema == 1);
    }
    // Without the index, a third 'ann' is an ordinary write.
    c.execOk(kC, "INSERT INTO account VALUES (4, 'ann', 1)");
    c.syncAll();
    c.assertConverged();
  });
}

TEST_CASE("a UNIQUE index on rows holding duplicates is refused where it is made, in one line, and reaches no one",
          "[core][schema][unique][issue25]") {
  Cluster c(accounts());
  c.execOk(kA, "INSERT INTO account VALUES (1, 'ann', 100), (2, 'ann', 50)");
  c.syncAll();
  auto refused = c.exec(kA, "CREATE UNIQUE INDEX one_owner ON account(owner)");
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.status().message(), Catch::Contains("UNIQUE constraint failed"));  // SQLite's own
  c.syncAll();
  for (std::size_t s : {kA, kB, kC}) {
    CHECK_FALSE(hasIndex(c, s, "one_owner"));
    CHECK(c.conflicts(s).empty());
  }
  c.assertConverged();
}

TEST_CASE("a dropped UNIQUE index comes back when a re-fold undoes its drop, and goes again after",
          "[core][schema][unique][issue25]") {
  everyDeliveryOrder([](const auto& order) {
    Cluster c(accounts());
    c.execOk(kA, "INSERT INTO account VALUES (1, 'ann', 100), (2, 'bob', 50)");
    c.execOk(kA, "CREATE UNIQUE INDEX one_owner ON account(owner)");
    c.syncAll();
    c.partition({{kA}, {kB}, {kC}});
    c.advanceClock(kA, 1000);
    c.execOk(kA, "DROP INDEX one_owner");
    c.advanceClock(kB, 2000);
    c.execOk(kB, "UPDATE account SET balance = 1 WHERE id = 1");  // after the drop: no duplicate
    c.execOk(kC, "UPDATE account SET balance = 2 WHERE id = 2");  // before it
    deliverAll(c, order);
    requireSame(c, "one_owner");
    for (std::size_t s : {kA, kB, kC}) CHECK_FALSE(hasIndex(c, s, "one_owner"));
    c.execOk(kB, "INSERT INTO account VALUES (3, 'ann', 0)");
    c.syncAll();
    c.assertConverged();
  });
}

// a switches balance from lww to merge at +1000 ms; b withdraws 100 before it (+0), c 200 after it
// (+2000), both from the same 1000. The fold: b's write supersedes (900), then merge: c's
// concurrent write adds its delta (900 - 200 = 700). Plain lww would keep c's 800; merge
// throughout gives 700 too, so the second half switches back: b's write at +3000 supersedes
// under merge (650), then lww at +4000, and c's concurrent write at +5000 wins whole (670);
// merge would give 620.
TEST_CASE("a configure switching a column between lww and merge while two sites write it folds the same at every "
          "site, in every delivery order",
          "[core][schema][configure][issue25]") {
  auto setUp = []() {
    Cluster c(accounts());
    c.execOk(kA, "CREATE TABLE wallet(id INTEGER PRIMARY KEY, balance INTEGER)");
    REQUIRE_OK(c.site(kA).trackEverywhere("wallet"));
    c.execOk(kA, "INSERT INTO wallet VALUES (1, 1000)");
    c.syncAll();
    c.partition({{kA}, {kB}, {kC}});
    return c;
  };
  TableConfig merge, lww;
  merge.overrides["balance"] = "merge";
  lww.overrides["balance"] = "lww";
  everyDeliveryOrder([&](const auto& order) {
    Cluster c = setUp();
    c.execOk(kB, "UPDATE wallet SET balance = balance - 100");
    c.advanceClock(kA, 1000);
    REQUIRE_OK(c.site(kA).configure("wallet", merge));
    c.advanceClock(kC, 2000);
    c.execOk(kC, "UPDATE wallet SET balance = balance - 200");
    deliverAll(c, order);
    c.assertConverged();
    for (std::size_t s : {kA, kB, kC}) {
      CHECK(c.value(s, "SELECT balance FROM wallet").asInteger() == 700);
      CHECK(c.site(s).config("wallet").value().overrides.at("balance") == "merge");
    }
    requireSame(c, "none");
    c.partition({{kA}, {kB}, {kC}});
    c.advanceClock(kB, 1000);
    c.execOk(kB, "UPDATE wallet SET balance = balance - 50");
    c.advanceClock(kA, 2000);
    REQUIRE_OK(c.site(kA).configure("wallet", lww));
    c.advanceClock(kC, 3000);
    c.execOk(kC, "UPDATE wallet SET balance = balance - 30");
    deliverAll(c, order);
    for (std::size_t s : {kA, kB, kC}) CHECK(c.value(s, "SELECT balance FROM wallet").asInteger() == 670);
    requireSame(c, "none");
  });
}

}  // namespace parley::test
