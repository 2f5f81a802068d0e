// An inventory whose stock counts add up and whose names go to the latest writer.
#include <catch2/catch.hpp>

#include "parley/testing/cluster.hpp"

using parley::Value;
using parley::testing::Cluster;

parley::testing::Options inventoryCluster() {
  parley::testing::Options o;
  o.sites = {"depot", "shop", "truck"};
  o.schema = "CREATE TABLE inventory(sku INTEGER PRIMARY KEY, name TEXT, qty INTEGER);";
  o.configs["inventory"].overrides["qty"] = "counter";  // name keeps the default, lww
  return o;
}

TEST_CASE("concurrent stock movements add up and the latest rename wins", "[inventory]") {
  Cluster c(inventoryCluster());
  std::size_t depot = c.index("depot"), shop = c.index("shop"), truck = c.index("truck");
  c.execOk(depot, "INSERT INTO inventory VALUES (1, 'bolt', 100)");
  c.syncAll();

  c.partition({{depot}, {shop}, {truck}});  // nobody hears anybody
  c.advanceClock(shop, 10);                 // the shop writes 10 ms after the start,
  c.advanceClock(truck, 20);                // the truck 20 ms after: its rename is the latest
  c.execOk(depot, "UPDATE inventory SET qty = qty + 50 WHERE sku = 1");
  c.execOk(shop, "UPDATE inventory SET qty = qty - 30, name = 'hex bolt' WHERE sku = 1");
  c.execOk(truck, "UPDATE inventory SET qty = qty - 5, name = 'bolt M8' WHERE sku = 1");

  c.heal();
  c.syncAll();
  // On failure: a diff per table, key and column, and the seed.
  REQUIRE_NOTHROW(c.assertConverged());
  for (std::size_t site = 0; site < c.size(); ++site) {
    // Every movement counts (100 + 50 - 30 - 5); the truck's rename is the latest.
    CHECK(c.value(site, "SELECT qty FROM inventory WHERE sku = 1").asInteger() == 115);
    CHECK(c.value(site, "SELECT name FROM inventory WHERE sku = 1").asText() == "bolt M8");
  }
  // The conflict log says what was resolved, and how.
  bool renameResolved = false;
  for (const auto& conflict : c.conflicts(depot))
    renameResolved |= conflict.column == "name" && conflict.result == Value::text("bolt M8");
  CHECK(renameResolved);
}

TEST_CASE("the counts add up on a network that drops, duplicates and reorders", "[inventory]") {
  auto seed = GENERATE(range(1, 6));
  auto options = inventoryCluster();
  options.seed = seed;               // every failure message says "seed=N"
  options.faults = {0.3, 0.2, 0.5};  // drop, duplicate, reorder
  Cluster c(options);
  c.execOk(0, "INSERT INTO inventory VALUES (1, 'bolt', 100)");
  c.syncAll();
  for (int round = 0; round < 10; ++round) {
    for (std::size_t site = 0; site < c.size(); ++site) {
      c.execOk(site, "UPDATE inventory SET qty = qty + 1 WHERE sku = 1");
      c.send(site, (site + 1) % c.size());
    }
    c.step();
  }
  c.syncAll();
  REQUIRE_NOTHROW(c.assertConverged());
  CHECK(c.value(2, "SELECT qty FROM inventory").asInteger() == 130);  // each +1 exactly once
}
