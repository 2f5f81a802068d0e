// Time across sites: a site's HLC floor survives compaction and reopening (issue 22, finding 4),
// and clock skew beyond the bound is recorded per origin, reported with its remedy, and
// attributed to the site whose clock ran ahead.
//
// The sites are files (so they can be closed and reopened), each with its own ManualClock.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::execOk;
using test::Int;
using test::tableContents;
using test::Txt;

constexpr std::uint64_t kDayMs = 24ULL * 3600 * 1000;

// File-backed sites of one cluster, with schema t(id, a, b) tracked, every site a member of
// every other.
class FileSites {
 public:
  explicit FileSites(std::size_t n, std::chrono::milliseconds maxSkew = std::chrono::minutes(1))
      : maxSkew_(maxSkew) {
    for (std::size_t i = 0; i < n; ++i) {
      clocks_.push_back(std::make_unique<ManualClock>());
      ids_.push_back(std::make_unique<test::FixedIdSource>(
          test::testSiteId(static_cast<std::uint8_t>(i + 1))));
      auto created = Site::create(
          path(i),
          CreateOptions{"site" + std::to_string(i), ids_.back().get(), test::testClusterId()},
          options(i));
      REQUIRE_OK(created);
      sites_.push_back(std::move(created).value());
      execOk(*sites_.back(), "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)");
      REQUIRE_OK(sites_.back()->track("t"));
    }
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (i != j) REQUIRE_OK(sites_[i]->replication().acknowledge(sites_[j]->id(), {}));
  }

  Site& operator[](std::size_t i) { return *sites_.at(i); }
  ManualClock& clock(std::size_t i) { return *clocks_.at(i); }
  std::string path(std::size_t i) const { return dir_.file("site" + std::to_string(i) + ".db"); }

  // Closes site i and opens its file again, as every parley command does.
  void reopen(std::size_t i) {
    sites_.at(i).reset();
    auto opened = Site::open(path(i), options(i));
    REQUIRE_OK(opened);
    sites_[i] = std::move(opened).value();
  }

  // Every pair, twice: each site then holds everything and knows every other holds it.
  void syncAll() {
    for (int round = 0; round < 2; ++round)
      for (std::size_t i = 0; i < sites_.size(); ++i)
        for (std::size_t j = i + 1; j < sites_.size(); ++j) test::exchange(*sites_[i], *sites_[j]);
  }

 private:
  SiteOptions options(std::size_t i) { return SiteOptions{clocks_.at(i).get(), lww_, maxSkew_}; }

  test::TempDir dir_;
  std::chrono::milliseconds maxSkew_;
  std::shared_ptr<const ResolverProvider> lww_ = resolvers::lwwEverywhere();
  std::vector<std::unique_ptr<ManualClock>> clocks_;
  std::vector<std::unique_ptr<test::FixedIdSource>> ids_;
  std::vector<std::unique_ptr<Site>> sites_;
};

// The HLC of the site's own transaction `seq`, as peers get it (the log before it may be
// compacted).
Hlc ownHlc(Site& site, std::uint64_t seq) {
  VersionVector since = site.vector().value();
  since.set(site.id(), seq - 1);
  for (const auto& t : test::changesOk(site, since))
    if (t.dot == Dot{site.id(), seq}) return t.hlc;
  FAIL("site " << site.name() << " does not hold its transaction " << seq);
  return {};
}

// Compacts site i, which must drop its whole log.
void compactAll(FileSites& sites, std::size_t i) {
  auto dropped = sites[i].replication().compact();
  REQUIRE_OK(dropped);
  CHECK(*dropped > 0);
  auto size = sites[i].replication().logSize();
  REQUIRE_OK(size);
  REQUIRE(size->first == 0);
}

}  // namespace

TEST_CASE(
    "a site whose clock ran a day ahead keeps its HLC floor through compact and reopen, peers "
    "accept its "
    "next write",
    "[core][clock][hlc]") {
  FileSites sites(3);
  sites.clock(0).advance(kDayMs);
  execOk(sites[0], "INSERT INTO t VALUES (1, 'ahead', 1)");
  Hlc ahead = ownHlc(sites[0], 1);
  sites.clock(0).set(sites.clock(0).nowMillis() - kDayMs);  // the clock is fixed
  sites.syncAll();
  compactAll(sites, 0);
  sites.reopen(0);

  CHECK(sites[0].replication().lastHlc() >= ahead);
  execOk(sites[0], "UPDATE t SET a = 'after' WHERE id = 1");
  sites.reopen(0);
  Hlc after = ownHlc(sites[0], 2);
  CHECK(after > ahead);
  auto [toPeer, fromPeer] =
      test::exchange(sites[0], sites[2]);  // would throw: "its origin is not a parley site"
  CHECK(toPeer.applied == 1);
  CHECK(tableContents(sites[2], "t") == std::vector<Row>{{Int(1), Txt("after"), Int(1)}});
}

TEST_CASE(
    "a site with a right clock that heard from a peer a day ahead keeps that HLC floor through "
    "compact "
    "and reopen",
    "[core][clock][hlc]") {
  FileSites sites(3);
  sites.clock(1).advance(kDayMs);
  execOk(sites[1], "INSERT INTO t VALUES (1, 'from the future', 1)");
  test::exchange(sites[0], sites[1]);
  execOk(sites[0], "UPDATE t SET b = 2 WHERE id = 1");  // stamped after what it heard
  Hlc heard = ownHlc(sites[0], 1);
  CHECK(heard > ownHlc(sites[1], 1));
  sites.syncAll();
  compactAll(sites, 0);
  sites.reopen(0);

  execOk(sites[0], "UPDATE t SET a = 'later' WHERE id = 1");
  CHECK(ownHlc(sites[0], 2) > heard);
  auto [toPeer, fromPeer] = test::exchange(sites[0], sites[2]);
  CHECK(toPeer.applied == 1);
  CHECK(tableContents(sites[2], "t") == std::vector<Row>{{Int(1), Txt("later"), Int(2)}});
}

}  // namespace parley

namespace parley {

TEST_CASE(
    "a transaction beyond the skew bound is applied, reported with its remedy, and recorded per "
    "origin "
    "with the greatest skew and when",
    "[core][clock][skew]") {
  FileSites sites(2, std::chrono::seconds(1));
  sites.clock(1).advance(3'600'000);  // an hour fast
  execOk(sites[1], "INSERT INTO t VALUES (1, 'fast', 1)");
  ApplyResult atSlow = test::exchange(sites[1], sites[0]).first;
  CHECK(atSlow.applied == 1);
  REQUIRE(atSlow.warnings.size() == 1);
  CHECK(atSlow.warnings[0].kind == ApplyWarning::Kind::kClockSkew);
  const std::string& line = atSlow.warnings[0].message;
  CHECK_THAT(line, Catch::StartsWith("clock skew: transactions of " + sites[1].id().shortHex() +
                                     " arrive 60.0 min (3600000 ms) ahead of this site's clock"));
  CHECK_THAT(line, Catch::Contains("fix the clock at " + sites[1].id().shortHex() +
                                   ": its writes win lww conflicts until real time catches up"));

  sites.clock(0).advance(1000);
  sites.clock(1).advance(1000);
  execOk(sites[1], "UPDATE t SET a = 'faster' WHERE id = 1");
  sites.clock(1).advance(5000);  // a jump further ahead: the record keeps the greatest
  execOk(sites[1], "UPDATE t SET a = 'fastest' WHERE id = 1");
  CHECK(test::exchange(sites[1], sites[0]).first.warnings.size() == 1);  // one line per origin per apply
  sites.reopen(0);
  auto skews = sites[0].replication().clockSkews();
  REQUIRE_OK(skews);
  REQUIRE(skews->size() == 1);
  const ClockSkewRecord& r = skews->at(0);
  CHECK(r.origin == sites[1].id());
  CHECK(r.source == sites[1].id());
  CHECK(r.greatestAheadMs == 3'605'000);
  CHECK(r.greatestAtMs == sites.clock(0).nowMillis());
  CHECK(r.lastAtMs == sites.clock(0).nowMillis());
  CHECK(r.aheadNowMs == 3'605'000);
  CHECK(tableContents(sites[0], "t") == std::vector<Row>{{Int(1), Txt("fastest"), Int(1)}});
}

TEST_CASE(
    "a skew record stays until a transaction of its origin arrives within the bound or real time "
    "catches up",
    "[core][clock][skew]") {
  FileSites sites(3, std::chrono::seconds(1));
  sites.clock(1).advance(60'000);
  execOk(sites[1], "INSERT INTO t VALUES (1, 'fast', 1)");
  test::exchange(sites[1], sites[0]);
  REQUIRE(sites[0].replication().clockSkews().value().size() == 1);

  SECTION("real time catching up hides it, and the next apply drops it") {
    sites.clock(0).advance(59'500);
    CHECK(sites[0].replication().clockSkews().value().empty());
    CHECK(test::queryInt(sites[0], "SELECT count(*) FROM parley_clock_skew") == 1);
    execOk(sites[2], "INSERT INTO t VALUES (2, 'on time', 2)");
    CHECK(test::exchange(sites[2], sites[0]).first.warnings.empty());
    CHECK(test::queryInt(sites[0], "SELECT count(*) FROM parley_clock_skew") == 0);
  }
  SECTION("an arrival within the bound clears it") {
    sites.clock(0).advance(120'000);  // the origin's clock is fixed and time has passed its stamps
    sites.clock(1).advance(60'000);
    execOk(sites[1], "UPDATE t SET a = 'fixed' WHERE id = 1");
    CHECK(test::exchange(sites[1], sites[0]).first.warnings.empty());
    sites.clock(0).set(sites.clock(0).nowMillis() -
                       120'000);  // even if our clock went back, it is gone
    CHECK(sites[0].replication().clockSkews().value().empty());
  }
}

TEST_CASE(
    "skew carried by a site with a right clock is attributed to the site whose clock ran ahead",
    "[core][clock][skew]") {
  FileSites sites(3, std::chrono::seconds(1));
  sites.clock(0).advance(kDayMs);
  execOk(sites[0], "INSERT INTO t VALUES (1, 'fast', 1)");
  test::exchange(sites[0], sites[1]);  // site1 hears from it, and its writes carry that time
  execOk(sites[1], "INSERT INTO t VALUES (2, 'right clock', 2)");
  execOk(sites[1], "INSERT INTO t VALUES (3, 'right clock', 3)");
  ApplyResult atThird = test::exchange(sites[1], sites[2]).first;
  REQUIRE(atThird.warnings.size() == 2);
  std::string fast = sites[0].id().shortHex(), carrier = sites[1].id().shortHex();
  std::string carried = atThird.warnings[0].message.find("transactions of " + carrier) != std::string::npos
                            ? atThird.warnings[0].message
                            : atThird.warnings[1].message;
  CHECK_THAT(carried, Catch::Contains("transactions of " + carrier + " arrive") &&
                          Catch::Contains("carried from " + fast + ", whose clock ran ahead") &&
                          Catch::Contains("fix the clock at " + fast));
  auto skews = sites[2].replication().clockSkews();
  REQUIRE_OK(skews);
  REQUIRE(skews->size() == 2);
  for (const auto& r : *skews) CHECK(r.source == sites[0].id());

  // A later arrival of the carrier alone still names the fast site.
  sites.clock(1).advance(10);
  execOk(sites[1], "UPDATE t SET a = 'again' WHERE id = 2");
  auto later = test::exchange(sites[1], sites[2]).first;
  REQUIRE(later.warnings.size() == 1);
  CHECK_THAT(later.warnings[0].message, Catch::Contains("fix the clock at " + fast));
}

}  // namespace parley
