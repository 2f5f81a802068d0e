// History: what peers have acknowledged and how far behind they are, compaction of the log
// once every member holds it, the error a peer gets when it needs compacted history, and
// cloning a new site from a snapshot.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/in_process.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::execOk;
using test::tableContents;

const PeerStatus* peerOf(const std::vector<PeerStatus>& peers, const SiteId& id) {
  for (const auto& p : peers)
    if (p.site == id) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("a peer's lag counts the transactions it has not acknowledged and their age", "[core][history]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  c.syncPair(0, 1);
  auto peers = c[0].replication().peers();
  REQUIRE_OK(peers);
  const PeerStatus* p = peerOf(*peers, c[1].id());
  REQUIRE(p != nullptr);
  CHECK(p->pending == 0);
  CHECK(p->lagSeconds == 0);

  c.clock(0).advance(1000);
  execOk(c[0], "INSERT INTO t VALUES (2, 'b', 2)");
  execOk(c[0], "INSERT INTO t VALUES (3, 'c', 3)");
  c.clock(0).advance(4000);
  peers = c[0].replication().peers();
  REQUIRE_OK(peers);
  p = peerOf(*peers, c[1].id());
  REQUIRE(p != nullptr);
  CHECK(p->pending == 2);
  CHECK(p->lagSeconds == Approx(4.0));

  c.syncPair(0, 1);
  peers = c[0].replication().peers();
  REQUIRE_OK(peers);
  CHECK(peerOf(*peers, c[1].id())->pending == 0);
}

TEST_CASE("compaction drops only what every member acknowledged, and a peer needing it must re-clone",
          "[core][history]") {
  Cluster c(test::clusterOptions(3));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  execOk(c[0], "INSERT INTO t VALUES (2, 'b', 2)");
  c.syncPair(0, 1);

  SECTION("nothing goes while a member has not acknowledged") {
    auto dropped = c[0].replication().compact();
    REQUIRE_OK(dropped);
    CHECK(*dropped == 0);
    auto size = c[0].replication().logSize();
    REQUIRE_OK(size);
    CHECK(size->first == 2);
  }

  SECTION("once everyone holds it, it goes; the site still syncs new writes") {
    c.syncPair(1, 2);
    c.syncPair(0, 1);
    auto dropped = c[0].replication().compact();
    REQUIRE_OK(dropped);
    CHECK(*dropped == 2);
    auto size = c[0].replication().logSize();
    REQUIRE_OK(size);
    CHECK(size->first == 0);

    execOk(c[0], "UPDATE t SET a = 'z' WHERE id = 1");
    c.syncPair(0, 2);
    CHECK(tableContents(c[2], "t") == tableContents(c[0], "t"));
  }

  SECTION("a site that lacks compacted transactions gets a clear error") {
    c.syncPair(1, 2);
    c.syncPair(0, 1);
    REQUIRE_OK(c[0].replication().compact());
    std::size_t fresh = test::addSite(c);
    auto changes = c[0].replication().changesSince(c[fresh].vector().value());
    REQUIRE_FALSE(changes.ok());
    CHECK(changes.status().code() == Status::Code::kNotFound);
    CHECK_THAT(changes.status().message(), Catch::Contains("compacted") && Catch::Contains("clone"));
  }
}

TEST_CASE("a clone has the source's data, log and configuration under a new id, and both sync on",
          "[core][history][clone]") {
  test::TempDir dir;
  ManualClock clock;
  RandomIdSource ids;
  SiteOptions options{&clock, resolvers::standard(), std::chrono::minutes(1)};
  auto source = Site::create(dir.file("a.db"), {"a", &ids, {}}, options);
  REQUIRE_OK(source);
  execOk(**source, "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER)");
  execOk(**source, "INSERT INTO t VALUES (1, 10)");
  TableConfig config;
  config.overrides["n"] = "counter";
  REQUIRE_OK((*source)->track("t", config));

  auto clone = (*source)->clone(dir.file("b.db"), {"b", &ids, {}}, options);
  REQUIRE_OK(clone);
  CHECK((*clone)->id() != (*source)->id());
  CHECK((*clone)->clusterId() == (*source)->clusterId());
  CHECK((*clone)->name() == "b");
  CHECK((*clone)->vector().value() == (*source)->vector().value());
  CHECK((*clone)->replication().schemaFingerprint() ==
        (*source)->replication().schemaFingerprint());
  CHECK(tableContents(**clone, "t") == tableContents(**source, "t"));
  CHECK_FALSE((*source)->clone(dir.file("b.db"), {"c", &ids, {}}, options).ok());  // exists

  clock.advance(10);
  execOk(**source, "UPDATE t SET n = n + 5");
  execOk(**clone, "UPDATE t SET n = n - 3");
  auto synced = syncSites(**source, **clone);
  REQUIRE_OK(synced);
  std::vector<Row> expected{{test::Int(1), test::Int(12)}};
  CHECK(tableContents(**source, "t") == expected);
  CHECK(tableContents(**clone, "t") == expected);
}

}  // namespace parley

namespace parley {
namespace {

// Whether `dot` is final at a site by the definition (DESIGN.md, "Provisional and final"):
// every member (the site, the origins it holds, every site it has an acknowledgement from) has
// acknowledged a vector covering it, and the site holds that member's own writes up to it.
bool finalByDefinition(const SiteId& self, const VersionVector& held,
                       const std::vector<std::pair<SiteId, VersionVector>>& acks, const Dot& dot) {
  std::vector<SiteId> members{self};
  for (const auto& [origin, seq] : held.entries()) members.push_back(origin);
  for (const auto& [site, v] : acks) members.push_back(site);
  for (const SiteId& m : members) {
    auto it = std::find_if(acks.begin(), acks.end(), [&](const auto& a) { return a.first == m; });
    if (it == acks.end() || !it->second.contains(dot) || held.get(m) < it->second.get(m)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("decisions become final exactly when the definition says, as acknowledgements and writes interleave",
          "[core][history][finality]") {
  std::size_t finals = 0, seen = 0;
  for (std::uint32_t seed = 1; seed <= 12; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    Cluster c(test::clusterOptions(4));
    std::vector<std::set<Dot>> wasFinal(c.size());
    std::uniform_int_distribution<std::size_t> pick(0, c.size() - 1);
    std::uniform_int_distribution<int> op(0, 2), row(1, 5);
    for (int step = 0; step < 40; ++step) {
      std::size_t i = pick(rng), j = pick(rng);
      int what = op(rng);
      INFO("step " << step << ": op " << what << " sites " << i << ", " << j);
      if (what == 0) {
        execOk(c[i], "INSERT INTO t(id, a) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET a = excluded.a",
               {Value::integer(row(rng)), Value::integer(step)});
      } else if (what == 1 && i != j) {
        c.deliver(i, j);
      } else if (i != j) {
        test::passAcknowledgements(c[i], c[j]);
      }
      for (std::size_t k = 0; k < c.size(); ++k) {
        auto acks = c[k].replication().acknowledgements();
        REQUIRE_OK(acks);
        VersionVector held = c[k].vector().value();
        for (const auto& t : test::allTransactions(c[k])) {
          auto d = c[k].decision(t.dot);
          REQUIRE_OK(d);
          bool expected = wasFinal[k].count(t.dot) > 0 || finalByDefinition(c[k].id(), held, *acks, t.dot);
          INFO("at site " << k << ", transaction " << t.dot.toString());
          REQUIRE(d->final == expected);
          if (expected) wasFinal[k].insert(t.dot);
        }
      }
    }
    for (std::size_t k = 0; k < c.size(); ++k) {
      finals += wasFinal[k].size();
      seen += test::allTransactions(c[k]).size();
    }
  }
  // The walks reach both outcomes: some decisions final, some still provisional.
  CAPTURE(finals, seen);
  CHECK(finals > 0);
  CHECK(finals < seen);
}

}  // namespace parley

namespace parley {

TEST_CASE("a forgotten member no longer holds back compaction, and acknowledgements about it are ignored",
          "[core][history][forget]") {
  Cluster c(test::clusterOptions(3));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  execOk(c[0], "INSERT INTO t VALUES (2, 'b', 2)");
  c.syncPair(0, 1);
  auto dropped = c[0].replication().compact();
  REQUIRE_OK(dropped);
  CHECK(*dropped == 0);  // c[2] never acknowledged

  CHECK(c[0].replication().forget(c[0].id()).code() == Status::Code::kInvalidArgument);
  REQUIRE_OK(c[0].replication().forget(c[2].id()));
  auto forgotten = c[0].replication().forgotten();
  REQUIRE_OK(forgotten);
  CHECK(*forgotten == std::vector<SiteId>{c[2].id()});
  REQUIRE_OK(c[0].replication().acknowledge(c[2].id(), {}));  // gossip about it changes nothing
  auto acks = c[0].replication().acknowledgements();
  REQUIRE_OK(acks);
  CHECK(std::none_of(acks->begin(), acks->end(), [&](const auto& a) { return a.first == c[2].id(); }));

  dropped = c[0].replication().compact();
  REQUIRE_OK(dropped);
  CHECK(*dropped == 2);
  CHECK(tableContents(c[0], "t") == tableContents(c[1], "t"));
}

TEST_CASE("in-process sync refuses a forgotten site both ways and passes what was forgotten on",
          "[core][history][forget]") {
  Cluster c(test::clusterOptions(3));
  execOk(c[2], "INSERT INTO t VALUES (1, 'from the site to forget', 1)");
  c.syncPair(2, 0);
  REQUIRE_OK(c[0].replication().forget(c[2].id()));
  REQUIRE_OK(syncSites(c[0], c[1]));
  auto forgotten = c[1].replication().forgotten();
  REQUIRE_OK(forgotten);
  CHECK(*forgotten == std::vector<SiteId>{c[2].id()});
  CHECK(tableContents(c[1], "t") == tableContents(c[0], "t"));  // its writes already held stay

  for (auto [a, b] : {std::pair{&c[2], &c[1]}, std::pair{&c[1], &c[2]}}) {
    auto refused = syncSites(*a, *b);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.status().message(), Catch::Contains("site " + c[2].id().shortHex() + " was forgotten") &&
                                               Catch::Contains("clone a new site from a current member"));
  }
}

}  // namespace parley
