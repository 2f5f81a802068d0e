// The strategy seam: column strategies defined here, outside core and the library, registered
// through the registry's extension point (Registry::addColumn), fold like the built-in ones.
//   max    keeps the greater of concurrent numbers (a pick through resolve()); a superseding
//          write still replaces the cell, so arrival order matters and it declares itself
//          order-sensitive: the engine re-folds late arrivals in canonical order.
//   floor  a delta merge that rejects a transaction taking the cell below 0 (meet() overridden:
//          its own value rule and its own acceptance rule).
// Sites given the same concurrent transactions in every order converge, and the conflict log
// names the strategy.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "parley/resolver.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::applyOk;
using testing::Cluster;
using test::ClusterOptions;
using test::describe;
using test::execOk;
using test::Int;
using test::tableContents;
using test::Txt;

double numberOf(const Value& v) {
  return v.type() == Value::Type::kInteger ? static_cast<double>(v.asInteger()) : v.asReal();
}

class MaxColumn final : public ColumnResolver {
 public:
  std::string_view name() const override { return "max"; }
  CellResolution resolve(const CellConflict& c) const override {
    bool numbers = c.local.value.isNumeric() && c.remote.value.isNumeric();
    bool remoteWins = numbers ? numberOf(c.remote.value) > numberOf(c.local.value) : c.remote.stamp > c.local.stamp;
    return {remoteWins ? CellOutcome::kTakeRemote : CellOutcome::kKeepLocal, {}};
  }
  bool orderSensitive() const override { return true; }
};

class FloorColumn final : public ColumnResolver {
 public:
  std::string_view name() const override { return "floor"; }
  CellStep meet(const CellWrite& w) const override {
    const Value& now = w.inPlace;
    const ColumnWrite& write = w.write;
    bool integers = now.type() == Value::Type::kInteger && write.newValue.type() == Value::Type::kInteger &&
                    write.oldValue.type() == Value::Type::kInteger;
    if (!integers) return ColumnResolver::meet(w);
    std::int64_t after = now.asInteger() + (write.newValue.asInteger() - write.oldValue.asInteger());
    // A write over exactly what it read is taken as written (a local write always is).
    if (after < 0 && !(now == write.oldValue))
      return CellStep::reject("column \"" + std::string(w.column) + "\" would go below 0");
    return CellStep::set(Value::integer(after));
  }
  CellResolution resolve(const CellConflict& c) const override {
    return {c.remote.stamp > c.local.stamp ? CellOutcome::kTakeRemote : CellOutcome::kKeepLocal, {}};
  }
  bool orderSensitive() const override { return true; }
  bool replacesWhenSuperseded() const override { return false; }
  bool foldsDeltas() const override { return true; }
};

// A pick under any name, for the registry's name checks.
class NamedPick final : public ColumnResolver {
 public:
  explicit NamedPick(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  CellResolution resolve(const CellConflict&) const override { return {}; }
  bool orderSensitive() const override { return false; }

 private:
  std::string name_;
};

std::shared_ptr<const ResolverProvider> customRegistry() {
  auto r = resolvers::standard();
  REQUIRE_OK(r->addColumn(std::make_unique<MaxColumn>()));
  REQUIRE_OK(r->addColumn(std::make_unique<FloorColumn>()));
  return r;
}

// Column a is lww, column b uses `strategy`.
ClusterOptions withColumnB(const std::string& strategy) {
  ClusterOptions o;
  o.resolvers = customRegistry();
  TableConfig config;
  config.overrides["b"] = strategy;
  o.config = config;
  return o;
}

std::vector<Row> rowOne(Site& site) { return tableContents(site, "t"); }

}  // namespace

TEST_CASE("a strategy registered outside the library is found by name, and a taken or malformed name is refused",
          "[resolvers][strategy]") {
  auto r = resolvers::standard();
  REQUIRE_OK(r->addColumn(std::make_unique<MaxColumn>()));
  REQUIRE(r->column("max") != nullptr);
  CHECK(r->column("max")->name() == "max");
  CHECK_FALSE(r->addColumn(std::make_unique<MaxColumn>()).isOk());
  CHECK_FALSE(r->addColumn(std::make_unique<NamedPick>("lww")).isOk());
  CHECK_FALSE(r->addColumn(std::make_unique<NamedPick>("two words")).isOk());
  CHECK_FALSE(r->addColumn(std::make_unique<NamedPick>("a=b")).isOk());
  CHECK_FALSE(r->addColumn(std::make_unique<NamedPick>("")).isOk());
  CHECK_FALSE(r->addColumn(nullptr).isOk());
}

TEST_CASE("a max strategy defined outside the library converges whatever order sites receive the writes in",
          "[resolvers][strategy][convergence]") {
  // Base b = 10. Site 0 writes 30, then 5 over its own 30; site 1, later and concurrently,
  // writes 20. Canonical order: 30, 5 (it supersedes 30), then 20 meets 5 concurrently and
  // wins: 20. Folded in arrival order 20, 30, 5 it would end at 5 (30 meets 20 and wins, then
  // 5 supersedes 30), so site 1 and a site that receives site 0's writes last must re-fold
  // them before site 1's.
  std::array<int, 2> order{0, 1};
  do {
    INFO("delivery order " << order[0] << "," << order[1]);
    Cluster c(test::clusterOptions(2, withColumnB("max")));
    execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
    c.deliver(0, 1);
    auto base = test::allTransactions(c[0]);
    VersionVector baseVector = c[0].vector().value();
    c.clock(0).advance(10);
    c.clock(1).advance(20);
    execOk(c[0], "UPDATE t SET b = 30 WHERE id = 1");
    c.clock(0).advance(1);
    execOk(c[0], "UPDATE t SET b = 5 WHERE id = 1");
    execOk(c[1], "UPDATE t SET b = 20 WHERE id = 1");
    std::array<std::vector<Transaction>, 2> batches{test::changesOk(c[0], baseVector), test::changesOk(c[1], baseVector)};

    std::size_t fresh = test::addSite(c);
    applyOk(c[fresh], base);
    for (int j : order) applyOk(c[fresh], batches[j]);
    c.syncAll();

    const std::vector<Row> expected{{Int(1), Txt("x"), Int(20)}};
    for (std::size_t i = 0; i < c.size(); ++i) {
      INFO("at site " << i << ": " << describe(rowOne(c[i])));
      CHECK(rowOne(c[i]) == expected);
    }
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_CASE("three sites' concurrent writes under a custom max strategy keep the greatest in every delivery order",
          "[resolvers][strategy][convergence]") {
  std::array<int, 3> order{0, 1, 2};
  do {
    INFO("delivery order " << order[0] << "," << order[1] << "," << order[2]);
    Cluster c(test::clusterOptions(3, withColumnB("max")));
    execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10), (2, 'y', 100)");
    c.deliver(0, 1);
    c.deliver(0, 2);
    auto base = test::allTransactions(c[0]);
    VersionVector baseVector = c[0].vector().value();
    const std::array<std::array<int, 2>, 3> writes{{{40, 7}, {70, 3}, {20, 9}}};
    std::array<std::vector<Transaction>, 3> batches;
    for (int i = 0; i < 3; ++i) {
      c.clock(i).advance(10 * (i + 1));
      execOk(c[i], "UPDATE t SET b = " + std::to_string(writes[i][0]) + " WHERE id = 1");
      execOk(c[i], "UPDATE t SET b = " + std::to_string(writes[i][1]) + ", a = 'by " + std::to_string(i) + "' WHERE id = 2");
    }
    for (int i = 0; i < 3; ++i) batches[i] = test::changesOk(c[i], baseVector);

    std::size_t fresh = test::addSite(c);
    applyOk(c[fresh], base);
    for (int j : order) applyOk(c[fresh], batches[j]);
    for (int i = 0; i < 3; ++i)
      for (int j : order)
        if (j != i) applyOk(c[i], batches[j]);

    // Row 1: the greatest concurrent write. Row 2: b the greatest, a the latest stamp (lww).
    const std::vector<Row> expected{{Int(1), Txt("x"), Int(70)}, {Int(2), Txt("by 2"), Int(9)}};
    for (std::size_t i = 0; i < c.size(); ++i) {
      INFO("at site " << i << ": " << describe(rowOne(c[i])));
      CHECK(rowOne(c[i]) == expected);
    }
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_CASE("a conflict decided by a custom strategy is logged under its name, alike at both sites",
          "[resolvers][strategy][conflicts]") {
  Cluster c(test::clusterOptions(2, withColumnB("max")));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 10)");
  c.deliver(0, 1);
  c.clock(0).advance(10);
  c.clock(1).advance(20);
  execOk(c[0], "UPDATE t SET b = 70 WHERE id = 1");
  execOk(c[1], "UPDATE t SET b = 30 WHERE id = 1");
  c.syncPair(0, 1);

  std::array<std::vector<ConflictReport>, 2> logs;
  for (int i = 0; i < 2; ++i) {
    auto conflicts = c[i].conflicts("t");
    REQUIRE_OK(conflicts);
    logs[i] = *conflicts;
    REQUIRE(logs[i].size() == 1);
    const ConflictReport& r = logs[i][0];
    INFO("at site " << i << ": " << describe(r));
    CHECK(r.kind == ConflictKind::kCell);
    CHECK(r.column == "b");
    CHECK(r.resolver == "max");
    CHECK(r.result == Int(70));
    CHECK(rowOne(c[i]) == std::vector<Row>{{Int(1), Txt("x"), Int(70)}});
  }
  CHECK(logs[0][0].remoteDot == logs[1][0].remoteDot);
  CHECK(logs[0][0].outcome == logs[1][0].outcome);
  CHECK(logs[0][0].localValue == logs[1][0].localValue);
  CHECK(logs[0][0].remoteValue == logs[1][0].remoteValue);
}

TEST_CASE("a custom floor strategy bounces the concurrent withdrawal that would overdraw, at every site and in every order",
          "[resolvers][strategy][bank]") {
  // Balance 1000; New York withdraws 600, London (later) 700. Canonical order: New York's
  // applies (400), London's would take the balance to -300 and is rejected, all of it.
  std::array<int, 2> order{0, 1};
  do {
    INFO("delivery order " << order[0] << "," << order[1]);
    Cluster c(test::clusterOptions(2, withColumnB("floor")));
    execOk(c[0], "INSERT INTO t VALUES (1, 'account', 1000)");
    c.deliver(0, 1);
    auto base = test::allTransactions(c[0]);
    VersionVector baseVector = c[0].vector().value();
    c.clock(0).advance(10);
    c.clock(1).advance(20);
    execOk(c[0], "UPDATE t SET b = b - 600 WHERE id = 1");
    execOk(c[1], "UPDATE t SET b = b - 700, a = 'london' WHERE id = 1");
    std::array<std::vector<Transaction>, 2> batches{test::changesOk(c[0], baseVector), test::changesOk(c[1], baseVector)};

    std::size_t fresh = test::addSite(c);
    applyOk(c[fresh], base);
    for (int j : order) applyOk(c[fresh], batches[j]);
    c.syncAll();

    const std::vector<Row> expected{{Int(1), Txt("account"), Int(400)}};
    for (std::size_t i = 0; i < c.size(); ++i) {
      INFO("at site " << i << ": " << describe(rowOne(c[i])));
      CHECK(rowOne(c[i]) == expected);
    }
    auto rejected = c[1].rejectedWrites();
    REQUIRE_OK(rejected);
    REQUIRE_FALSE(rejected->empty());
    CHECK(std::any_of(rejected->begin(), rejected->end(), [](const ConflictReport& r) {
      return r.column == "b" && r.remoteValue == Int(300) && r.reason.find("below 0") != std::string::npos;
    }));
  } while (std::next_permutation(order.begin(), order.end()));
}

}  // namespace parley
