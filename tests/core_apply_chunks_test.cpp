// Applying a remote transaction in chunks (SiteOptions::applyChunkRows): a site that folds and
// writes a large transaction a few rows at a time ends exactly as one that applies it whole,
// with the same rows, conflict log and decisions, whichever order the transactions arrive in;
// a rejection met in a late chunk leaves none of the earlier chunks' rows; tables with
// constraints are applied whole. Oracle: a site with the default chunk size, which applies
// these transactions whole.
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/sites.hpp"
#include "support/workload.hpp"

namespace parley::test {
namespace {

constexpr std::size_t kWhole = 0, kChunked = 1;

// Sites 0 and 1 receive; 2 and 3 write. Site 1 applies in chunks of `chunk` rows.
testing::Cluster receivers(std::size_t chunk, TableConfig config,
                  std::string schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);"
                                       "CREATE TABLE u(k TEXT PRIMARY KEY, v);") {
  ClusterOptions o;
  o.schema = std::move(schema);
  o.tracked = {"t", "u"};
  o.config = std::move(config);
  o.applyChunkRows = {SiteOptions{}.applyChunkRows, chunk};
  o.resolvers = resolvers::standard();
  return testing::Cluster(test::clusterOptions(4, o));
}

// The newest transaction `site` made itself.
Transaction lastOwn(Site& site) {
  Transaction last;
  for (auto& t : allTransactions(site))
    if (t.dot.site == site.id() && t.dot.seq > last.dot.seq) last = std::move(t);
  REQUIRE(last.dot.seq > 0);
  return last;
}

// Rows 1..100 of t and keys k1..k30 of u, held by every site.
void seed(testing::Cluster& c) {
  execOk(c[2],
         "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 100) "
         "INSERT INTO t SELECT x, x, 'b' || x FROM r;"
         "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 30) "
         "INSERT INTO u SELECT 'k' || x, x FROM r;");
  c.syncAll();
}

void expectSameSites(testing::Cluster& c) {
  CHECK(describe(tableContents(c[kChunked], "t")) == describe(tableContents(c[kWhole], "t")));
  CHECK(describe(tableContents(c[kChunked], "u")) == describe(tableContents(c[kWhole], "u")));
  auto whole = conflictIdentities(c[kWhole]);
  auto chunked = conflictIdentities(c[kChunked]);
  INFO(difference(whole, chunked));
  CHECK(chunked == whole);
}

}  // namespace

TEST_CASE("a transaction applied in chunks ends as one applied whole, in either arrival order",
          "[core][apply][chunks]") {
  std::size_t chunk = GENERATE(1u, 7u, 64u);
  bool lateFirst = GENERATE(false, true);
  INFO("chunk " << chunk << (lateFirst ? ", the later transaction arrives first" : ""));
  TableConfig fww;
  fww.columns = "fww";
  fww.updateDelete = fww.deleteUpdate = "fww";  // order-sensitive: a late arrival re-folds
  testing::Cluster c = receivers(chunk, fww);
  seed(c);

  // Concurrent: site 2 rewrites most of t and some of u; site 3, a millisecond later, updates
  // and deletes rows that overlap it and inserts new ones.
  execOk(c[2],
         "BEGIN; UPDATE t SET a = a * 10 WHERE id <= 90; DELETE FROM t WHERE id BETWEEN 91 AND 95;"
         "UPDATE u SET v = 'two' WHERE k < 'k2'; COMMIT");
  c.clock(3).advance(1);
  execOk(c[3],
         "BEGIN; UPDATE t SET b = 'three', a = -id WHERE id % 4 = 0; DELETE FROM t WHERE id BETWEEN 50 AND 54;"
         "UPDATE t SET a = 0 WHERE id BETWEEN 93 AND 100;"
         "WITH RECURSIVE r(x) AS (SELECT 200 UNION ALL SELECT x + 1 FROM r WHERE x < 230) "
         "INSERT INTO t SELECT x, x, 'new' FROM r; UPDATE u SET v = 'three' WHERE k >= 'k1'; COMMIT");
  std::vector<Transaction> txns = {lastOwn(c[2]), lastOwn(c[3])};
  REQUIRE(txns[0].rows.size() > 64);
  REQUIRE(txns[1].rows.size() > 64);
  if (lateFirst) std::swap(txns[0], txns[1]);

  std::size_t conflicts = 0;
  for (std::size_t site : {kWhole, kChunked}) {
    std::size_t reported = 0, refolded = 0;
    for (const auto& t : txns) {
      ApplyResult r = applyOk(c[site], std::span(&t, 1));
      reported += r.conflicts.size();
      refolded += r.refolded;
    }
    CHECK(refolded == (lateFirst ? 1u : 0u));
    if (site == kWhole) conflicts = reported;
    else CHECK(reported == conflicts);
  }
  CHECK(conflicts > 0);
  expectSameSites(c);
  c.syncAll();
  for (std::size_t i = 1; i < c.size(); ++i)
    CHECK(describe(tableContents(c[i], "t")) == describe(tableContents(c[0], "t")));
}

TEST_CASE("a rejection met in a late chunk leaves none of the transaction's rows and is logged for all of them",
          "[core][apply][chunks]") {
  bool lateFirst = GENERATE(false, true);
  INFO("the rejected transaction arrives " << (lateFirst ? "first" : "second"));
  TableConfig reject;
  reject.columns = "reject";
  testing::Cluster c = receivers(7, reject);
  seed(c);

  // Site 3 changes row 95's a first; site 2's later transaction changes a in rows 1..100 (row
  // 95 lies in the fourteenth chunk of 7) and b in u. Canonical order rejects site 2's.
  execOk(c[3], "UPDATE t SET a = -1 WHERE id = 95");
  c.clock(2).advance(1);
  execOk(c[2], "BEGIN; UPDATE t SET a = a + 1000; UPDATE u SET v = 'lost'; COMMIT");
  Transaction early = lastOwn(c[3]), late = lastOwn(c[2]);
  REQUIRE(late.rows.size() == 130);

  for (std::size_t site : {kWhole, kChunked}) {
    if (lateFirst) {
      applyOk(c[site], std::span(&late, 1));
      CHECK(queryInt(c[site], "SELECT a FROM t WHERE id = 1") == 1001);  // provisional, until the early one
    }
    applyOk(c[site], std::span(&early, 1));
    if (!lateFirst) applyOk(c[site], std::span(&late, 1));
    CHECK(decisionOk(c[site], late.dot).rejected);
    CHECK_FALSE(decisionOk(c[site], early.dot).rejected);
    CHECK(queryInt(c[site], "SELECT count(*) FROM t WHERE a >= 1000") == 0);
    CHECK(queryInt(c[site], "SELECT count(*) FROM u WHERE v = 'lost'") == 0);
    CHECK(queryInt(c[site], "SELECT a FROM t WHERE id = 95") == -1);
  }
  expectSameSites(c);
  auto chunked = conflictIdentities(c[kChunked]);
  std::size_t rejections = 0;
  for (const auto& id : chunked)
    if (std::get<0>(id) == late.dot) ++rejections;
  CHECK(rejections == late.rows.size());  // one record per row: 100 cells of a, 30 of v
}

TEST_CASE("a transaction on a table with constraints is applied whole: its rows may only fit together",
          "[core][apply][chunks]") {
  testing::Cluster c = receivers(2, TableConfig{},
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, a UNIQUE, b);"
                        "CREATE TABLE u(k TEXT PRIMARY KEY, v);");
  execOk(c[2], "INSERT INTO t VALUES (1, 'x', 0), (2, 'y', 0), (3, 'z', 0), (4, 'w', 0), (5, 'v', 0)");
  c.syncAll();
  // Row 1 and row 5 swap their unique values: row 1's new value only fits once row 5's is gone,
  // and the two rows lie in different chunks of 2.
  execOk(c[2], "BEGIN; UPDATE t SET b = 1; UPDATE t SET a = 'tmp' WHERE id = 1; UPDATE t SET a = 'x' WHERE id = 5;"
               "UPDATE t SET a = 'v' WHERE id = 1; COMMIT");
  Transaction swap = lastOwn(c[2]);
  REQUIRE(swap.rows.size() == 5);
  applyOk(c[kChunked], std::span(&swap, 1));
  CHECK(describe(tableContents(c[kChunked], "t")) == describe(tableContents(c[2], "t")));
  CHECK_FALSE(decisionOk(c[kChunked], swap.dot).rejected);
}

}  // namespace parley::test
