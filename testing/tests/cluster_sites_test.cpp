// parley::testing::Cluster for tests that choose every delivery: deliver() and syncPair()
// report what the receiver applied; site ids, members, SiteOptions and tracking are options;
// a site can join late.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/testing/cluster.hpp"

namespace parley::testing {
namespace {

Value Int(std::int64_t v) {
  return Value::integer(v);
}

Options lwwOptions() {
  Options o;
  o.sites = {"a", "b", "c"};
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);";
  return o;
}

SiteId idOf(std::uint8_t byte) {
  SiteId id;
  id.bytes.fill(byte);
  return id;
}

bool knows(Site& site, const SiteId& other) {
  auto acks = site.replication().acknowledgements();
  REQUIRE(acks.ok());
  for (const auto& [id, vector] : *acks)
    if (id == other) return true;
  return false;
}

}  // namespace

TEST_CASE("deliver returns what the receiver applied, conflicts included",
          "[testing][cluster][deliver]") {
  Cluster c(lwwOptions());
  c.execOk(0, "INSERT INTO t VALUES (1, 'from a')");
  c.execOk(1, "INSERT INTO t VALUES (1, 'from b')");
  c.execOk(1, "INSERT INTO t VALUES (2, 'only b')");

  ApplyResult atA = c.deliver(1, 0);
  CHECK(atA.applied == 2);
  CHECK(atA.rejected == 0);
  // The insert/insert of key 1, met column by column: as many reports as a's conflict log got.
  REQUIRE_FALSE(atA.conflicts.empty());
  CHECK(atA.conflicts.size() == c.conflicts(0).size());
  for (const auto& conflict : atA.conflicts) {
    CHECK(conflict.table == "t");
    CHECK(conflict.pk == Row{Int(1)});
  }

  // Nothing is left to send: the next delivery applies nothing.
  ApplyResult again = c.deliver(1, 0);
  CHECK(again.applied == 0);
  CHECK(again.conflicts.empty());
  CHECK(c.value(0, "SELECT count(*) FROM t") == Int(2));
}

TEST_CASE("syncPair leaves both sites holding the same and knowing the other does",
          "[testing][cluster][deliver]") {
  Cluster c(lwwOptions());
  c.execOk(0, "INSERT INTO t VALUES (1, 'x')");
  c.execOk(1, "INSERT INTO t VALUES (2, 'y')");
  auto [atB, atA] = c.syncPair(0, 1);
  CHECK(atB.applied == 1);
  CHECK(atA.applied == 1);
  c.assertConverged({0, 1});
  VersionVector held = c[0].vector().value();
  for (std::size_t site : {0, 1}) {
    auto acks = c[site].replication().acknowledgements();
    REQUIRE(acks.ok());
    for (std::size_t other : {0, 1}) {
      bool found = false;
      for (const auto& [id, vector] : *acks)
        if (id == c[other].id()) found = vector == held;
      INFO(c.name(site) << " knows what " << c.name(other) << " holds");
      CHECK(found);
    }
  }
}

TEST_CASE("Options::ids chooses the site ids, and so the winner of an lww tie",
          "[testing][cluster][ids]") {
  Options o = lwwOptions();
  o.ids = {idOf(9), idOf(2)};  // a sorts after b; c keeps simulatedSiteId(2)
  Cluster c(o);
  CHECK(c[0].id() == idOf(9));
  CHECK(c[1].id() == idOf(2));
  CHECK(c[2].id() == simulatedSiteId(2));
  CHECK(c[2].clusterId() == simulatedClusterId());
  c.execOk(0, "INSERT INTO t VALUES (1, 'by a')");
  c.execOk(1, "INSERT INTO t VALUES (1, 'by b')");
  REQUIRE(c[0].replication().lastHlc() == c[1].replication().lastHlc());
  c.syncPair(0, 1);
  CHECK(c.value(1, "SELECT v FROM t").asText() == "by a");

  o.ids = {idOf(5), idOf(5)};
  CHECK_THROWS_AS(Cluster(o), ClusterError);
}

TEST_CASE("without registerMembers a site learns of the others only from messages",
          "[testing][cluster][members]") {
  Options o = lwwOptions();
  o.registerMembers = false;
  Cluster c(o);
  CHECK_FALSE(knows(c[0], c[1].id()));
  c.execOk(1, "INSERT INTO t VALUES (1, 'x')");
  c.deliver(1, 0);
  CHECK(knows(c[0], c[1].id()));
  CHECK_FALSE(knows(c[0], c[2].id()));

  Cluster registered(lwwOptions());
  CHECK(knows(registered[0], registered[1].id()));
  CHECK(knows(registered[0], registered[2].id()));
}

TEST_CASE("Options::siteOptions adjusts each site's SiteOptions", "[testing][cluster][options]") {
  Options o = lwwOptions();
  std::vector<std::size_t> seen;
  o.siteOptions = [&seen](std::size_t site, SiteOptions& options) {
    seen.push_back(site);
    if (site == 1) options.maxClockSkew = std::chrono::milliseconds(10);
    options.checkCapture = true;
  };
  Cluster c(o);
  CHECK(seen == std::vector<std::size_t>{0, 1, 2});
  // Site 1 tolerates 10 ms of skew, site 2 the default minute.
  c.advanceClock(0, 5'000);
  c.execOk(0, "INSERT INTO t VALUES (1, 'ahead')");
  CHECK(c.deliver(0, 1).warnings.size() == 1);
  CHECK(c.deliver(0, 2).warnings.empty());
  CHECK(c.options().sites == lwwOptions().sites);
}

TEST_CASE("with track off the test tracks tables itself and converged() compares them",
          "[testing][cluster][track]") {
  Options o = lwwOptions();
  o.track = false;
  Cluster c(o);
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i].trackedTables().empty());
  TableConfig fww;
  fww.columns = "fww";
  for (std::size_t i = 0; i < c.size(); ++i) REQUIRE(c[i].track("t", fww).isOk());
  c.execOk(0, "INSERT INTO t VALUES (1, 'x')");
  CHECK_FALSE(c.converged());
  c.syncAll();
  c.assertConverged();
  CHECK(c.dump(2) == "table t\n  (1, 'x')\n");
}

TEST_CASE("a site added late gets the schema and tables, and catches up",
          "[testing][cluster][addSite]") {
  Cluster c(lwwOptions());
  c.execOk(0, "INSERT INTO t VALUES (1, 'early')");
  c.syncAll();
  std::size_t d = c.addSite("d");
  CHECK(d == 3);
  CHECK(c.name(d) == "d");
  CHECK(c.index("d") == d);
  CHECK(c[d].id() == simulatedSiteId(3));
  CHECK(c[d].trackedTables() == std::vector<std::string>{"t"});
  CHECK(knows(c[0], c[d].id()));
  CHECK(c.query(d, "SELECT * FROM t").empty());
  c.deliver(0, d);
  c.assertConverged();

  CHECK_THROWS_AS(c.addSite("d"), ClusterError);
  CHECK_THROWS_AS(c.addSite("e", c[0].id()), ClusterError);
  CHECK(c.size() == 4);
  std::size_t e = c.addSite("e", idOf(0x70));
  CHECK(c[e].id() == idOf(0x70));

  c.partition({{0, 1}});
  std::size_t f = c.addSite("f");
  CHECK_FALSE(c.connected(f, 0));
  CHECK_FALSE(c.connected(f, 2));
  c.heal();
  CHECK(c.connected(f, 0));
}

}  // namespace parley::testing
