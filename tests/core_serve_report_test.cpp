// What a site keeps for parley status about the processes replicating it: the report of a
// `parley serve` (Site::recordServe), read back by another connection, replaced whole, not
// copied into a clone; peer names from syncs; the conflict log counted per resolver.
#include <catch2/catch.hpp>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::execOk;

ServeReport reportWith(std::vector<ServePeerRecord> peers) {
  ServeReport r;
  r.pid = 4242;
  r.host = "here";
  r.listen = "127.0.0.1:7878";
  r.startedMs = 1000;
  r.updatedMs = 2000;
  r.peers = std::move(peers);
  return r;
}

}  // namespace

TEST_CASE("a serve report written by one connection is read back whole by another, and replaced whole",
          "[core][status]") {
  test::TempDir dir;
  ManualClock clock;
  RandomIdSource ids;
  SiteOptions options{&clock, resolvers::standard(), std::chrono::minutes(1)};
  auto writer = Site::create(dir.file("a.db"), {"a", &ids, {}}, options);
  REQUIRE_OK(writer);
  auto reader = Site::open(dir.file("a.db"), options);
  REQUIRE_OK(reader);
  auto none = (*reader)->replication().serveReport();
  REQUIRE_OK(none);
  CHECK_FALSE(none->has_value());

  SiteId london = ids.newId();
  ServePeerRecord streaming{"127.0.0.1:7001", london, "london", "streaming", 1500, "", 0, 1500, 0};
  ServePeerRecord retrying{"127.0.0.1:7002", std::nullopt, "", "never connected", 1000, "connection refused", 1900, 0, 3};
  REQUIRE_OK((*writer)->replication().recordServe(reportWith({streaming, retrying})));
  auto read = (*reader)->replication().serveReport();
  REQUIRE_OK(read);
  REQUIRE(read->has_value());
  const ServeReport& r = **read;
  CHECK(r.pid == 4242);
  CHECK(r.host == "here");
  CHECK(r.listen == "127.0.0.1:7878");
  CHECK(r.updatedMs == 2000);
  CHECK(r.stoppedMs == 0);
  REQUIRE(r.peers.size() == 2);
  CHECK(r.peers[0] == streaming);
  CHECK(r.peers[1] == retrying);

  // The next report replaces the peers: one dropped from the command line goes.
  auto stopped = reportWith({streaming});
  stopped.stoppedMs = 3000;
  REQUIRE_OK((*writer)->replication().recordServe(stopped));
  read = (*reader)->replication().serveReport();
  REQUIRE_OK(read);
  CHECK((*read)->stoppedMs == 3000);
  CHECK((*read)->peers.size() == 1);

  // A clone is a new site: its source's serve is not its own.
  auto clone = (*writer)->clone(dir.file("b.db"), {"b", &ids, {}}, options);
  REQUIRE_OK(clone);
  auto cloned = (*clone)->replication().serveReport();
  REQUIRE_OK(cloned);
  CHECK_FALSE(cloned->has_value());
  CHECK((*writer)->replication().serveReport().value().has_value());
}

TEST_CASE("a peer's name is known once it synced directly, and conflicts are counted per resolver",
          "[core][status]") {
  Cluster c(test::clusterOptions(2));
  auto before = c[0].replication().peers();
  REQUIRE_OK(before);
  REQUIRE(before->size() == 1);
  CHECK(before->at(0).name.empty());
  REQUIRE_OK(c[0].replication().noteSync(c[1].id(), "london"));
  auto after = c[0].replication().peers();
  REQUIRE_OK(after);
  CHECK(after->at(0).name == "london");
  REQUIRE_OK(c[0].replication().noteSync(c[1].id()));  // no name: the known one stays
  CHECK(c[0].replication().peers().value().at(0).name == "london");

  auto empty = c[0].replication().conflictCounts();
  REQUIRE_OK(empty);
  CHECK(empty->empty());
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1)");
  c.syncPair(0, 1);
  execOk(c[0], "UPDATE t SET a = 'ny' WHERE id = 1");
  execOk(c[1], "UPDATE t SET a = 'london' WHERE id = 1");
  c.syncPair(0, 1);
  auto counts = c[1].replication().conflictCounts();
  REQUIRE_OK(counts);
  REQUIRE(counts->size() == 1);
  CHECK(counts->at(0).resolver == "lww");
  CHECK(counts->at(0).conflicts == c[1].conflicts().value().size());
  CHECK(counts->at(0).conflicts >= 1);
  CHECK(counts->at(0).rejected == 0);
}

TEST_CASE("rejected writes are counted under their resolver", "[core][status]") {
  test::ClusterOptions o;
  o.resolvers = resolvers::standard();
  TableConfig config;
  config.overrides["b"] = "reject";
  o.config = config;
  Cluster c(test::clusterOptions(2, o));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1)");
  c.syncPair(0, 1);
  execOk(c[0], "UPDATE t SET b = 2 WHERE id = 1");
  execOk(c[1], "UPDATE t SET b = 3 WHERE id = 1");
  c.syncPair(0, 1);
  for (std::size_t i = 0; i < 2; ++i) {
    auto counts = c[i].replication().conflictCounts();
    REQUIRE_OK(counts);
    std::uint64_t rejected = 0, rejectRows = 0;
    for (const auto& count : *counts) {
      if (count.resolver == "reject") rejectRows = count.conflicts;
      rejected += count.rejected;
    }
    std::uint64_t logged = 0;
    for (const auto& r : c[i].conflicts().value()) logged += r.outcome == ConflictOutcome::kRejected;
    CHECK(rejected == logged);
    CHECK(rejected >= 1);
    CHECK(rejectRows >= rejected);
  }
}

}  // namespace parley
