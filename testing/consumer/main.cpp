// Uses the installed parley::testing without a test framework: two sites, a concurrent
// counter update, convergence; and parley::sync, refusing a missing change-set file.
// Exits 0 and prints the total when both hold.
#include <iostream>

#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"
#include "parley/testing/cluster.hpp"

int main() {
  parley::testing::Options o;
  o.schema = "CREATE TABLE stock(sku INTEGER PRIMARY KEY, qty INTEGER);";
  o.configs["stock"].overrides["qty"] = "counter";
  parley::testing::Cluster c(o);
  c.execOk(0, "INSERT INTO stock VALUES (1, 10)");
  c.syncAll();
  c.partition({{0}, {1}});
  c.execOk(0, "UPDATE stock SET qty = qty + 1");
  c.execOk(1, "UPDATE stock SET qty = qty + 2");
  c.heal();
  c.syncAll();
  c.assertConverged();
  std::int64_t qty = c.value(1, "SELECT qty FROM stock").asInteger();
  std::cout << "qty " << qty << "\n";
  auto missing = parley::sync::inspectChanges("/nonexistent/changes.pcs");
  std::cout << "inspect: " << missing.status().toString() << "\n";
  return qty == 13 && !missing.ok() ? 0 : 1;
}
