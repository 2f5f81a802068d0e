// Applying large transactions: rows of rowid tables are read, updated and their metadata
// written many per statement (core/row_batch.*), dense key runs with one range scan, sparse
// keys with IN lists, other tables row by row. Oracle: the origin's table, and convergence
// of two sites that wrote concurrently. Every failure prints its seed.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/sites.hpp"

namespace parley::test {
namespace {

const char* kSchema =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);"
    "CREATE TABLE u(k TEXT PRIMARY KEY, v);";

ClusterOptions options() {
  ClusterOptions o;
  o.schema = kSchema;
  o.tracked = {"t", "u"};
  return o;
}

// A dense block with holes, a sparse scatter, negative keys and both ends of int64 (a range
// test that subtracted signed keys would overflow there).
std::vector<std::int64_t> initialKeys(std::mt19937& rng) {
  std::set<std::int64_t> keys;
  for (std::int64_t k = 1000; k < 1300; ++k)
    if (k % 3 != 0) keys.insert(k);
  std::uniform_int_distribution<std::int64_t> wide(-1'000'000'000, 1'000'000'000);
  for (int i = 0; i < 150; ++i) keys.insert(wide(rng));
  for (std::int64_t k : {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::min() + 1,
                         std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::max() - 2, -5L,
                         -4L, 0L})
    keys.insert(k);
  return {keys.begin(), keys.end()};
}

std::vector<std::int64_t> sample(std::mt19937& rng, const std::vector<std::int64_t>& from, double share) {
  std::vector<std::int64_t> out;
  std::bernoulli_distribution pick(share);
  for (auto k : from)
    if (pick(rng)) out.push_back(k);
  return out;
}

// One transaction of statements, as a single exec.
std::string txn(const std::vector<std::string>& statements) {
  std::string sql = "BEGIN;";
  for (const auto& s : statements) sql += s + ";";
  return sql + "COMMIT;";
}

std::string updates(std::mt19937& rng, const std::vector<std::int64_t>& keys, const char* tag) {
  std::uniform_int_distribution<int> value(0, 3);  // small: some updates write what is there
  std::string sql;
  for (auto k : keys) sql += fmt::format("UPDATE t SET a = {}, b = '{}{}' WHERE id = {};", value(rng), tag, k, k);
  return sql;
}

void expectSame(Site& a, Site& b) {
  CHECK(describe(tableContents(a, "t")) == describe(tableContents(b, "t")));
  CHECK(describe(tableContents(a, "u")) == describe(tableContents(b, "u")));
}

}  // namespace

TEST_CASE("large transactions over dense, sparse and extreme keys apply as at their origin and converge",
          "[core][apply][batch]") {
  std::uint32_t seed = GENERATE(range(1u, 6u));
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  testing::Cluster c(test::clusterOptions(2, options()));
  Site& a = c[0];
  Site& b = c[1];

  std::vector<std::int64_t> keys = initialKeys(rng);
  std::vector<std::string> insert;
  for (auto k : keys) insert.push_back(fmt::format("INSERT INTO t VALUES ({}, {}, 'x{}')", k, k % 7, k));
  for (int i = 0; i < 40; ++i) insert.push_back(fmt::format("INSERT INTO u VALUES ('k{}', {})", i, i));
  execOk(a, txn(insert));
  c.deliver(0, 1);
  expectSame(a, b);

  // Updates, deletes and inserts into the block's holes, in one transaction.
  std::vector<std::int64_t> deleted = sample(rng, keys, 0.1);
  std::string change = updates(rng, sample(rng, keys, 0.5), "u");
  for (auto k : deleted) change += fmt::format("DELETE FROM t WHERE id = {};", k);
  for (std::int64_t k = 1200; k < 1400; k += 3) change += fmt::format("INSERT OR REPLACE INTO t VALUES ({}, 1, 'h');", k);
  change += "UPDATE u SET v = v + 100 WHERE v % 2 = 0; UPDATE t SET a = a + 1 WHERE id BETWEEN 1100 AND 1250;";
  c.clock(0).advance(5);
  execOk(a, "BEGIN;" + change + "COMMIT;");
  c.deliver(0, 1);
  expectSame(a, b);

  // Concurrent: both update overlapping samples; B deletes some rows A updates; A brings back
  // rows deleted above (their metadata is a tombstone).
  c.clock(0).advance(10);
  c.clock(1).advance(20);
  std::string atA = updates(rng, sample(rng, keys, 0.4), "A");
  for (auto k : deleted) atA += fmt::format("INSERT OR REPLACE INTO t VALUES ({}, 9, 'back');", k);
  atA += "UPDATE t SET b = 'run' WHERE id BETWEEN 1000 AND 1150;";
  std::string atB = updates(rng, sample(rng, keys, 0.4), "B");
  for (auto k : sample(rng, keys, 0.05)) atB += fmt::format("DELETE FROM t WHERE id = {};", k);
  execOk(a, "BEGIN;" + atA + "COMMIT;");
  execOk(b, "BEGIN;" + atB + "COMMIT;");
  c.syncPair(0, 1);
  expectSame(a, b);

  // A newcomer that receives everything at once agrees too.
  std::size_t fresh = test::addSite(c);
  c.deliver(0, fresh);
  expectSame(a, c[fresh]);
}

}  // namespace parley::test
