// The commit's fast metadata paths (core/local_meta.*) and batched metadata reads
// (core/touched_meta.*) against the general fold, as an oracle: with SiteOptions::checkCapture
// every commit also folds each row the general way (decode, foldRow, encode) and fails if the
// fast path's metadata bytes or bases differ. Random histories on three sites mix bulk and
// single-row writes, sparse and dense key sets, tombstones, concurrent writes and every column
// kind, so the fast paths meet remote and concurrent dots, counters and rejections.
// PARLEY_PROPERTY_CASES=N runs N seeds (default 6); every failure prints its seed. A second test
// checks that every row of a commit of any size records its version, whichever path read and
// wrote its metadata.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <string>

#include <fmt/format.h>

#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::execOk;

int cases() {
  const char* v = std::getenv("PARLEY_PROPERTY_CASES");
  return v && *v ? std::max(1, std::atoi(v) / 50) : 6;
}

test::ClusterOptions options() {
  test::ClusterOptions o;
  o.schema =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c INTEGER, d, e TEXT);"
      "CREATE TABLE u(k TEXT PRIMARY KEY, a, b, c INTEGER, d);";
  o.tracked = {"t", "u"};
  o.checkCapture = true;
  TableConfig config;
  config.overrides = {{"b", "merge"}, {"c", "counter"}, {"d", "reject"}};
  o.config = config;
  return o;
}

// One random local transaction at `s`.
std::string randomWrite(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  int lo = 1 + pick(300), width = 1 + pick(200), step = 1 + pick(8);
  std::string range = fmt::format("id BETWEEN {} AND {} AND id % {} = 0", lo, lo + width, step);
  switch (pick(9)) {
    case 0:
      return fmt::format(
          "WITH RECURSIVE n(x) AS (SELECT {0} UNION ALL SELECT x + {2} FROM n WHERE x + {2} <= {1}) "
          "INSERT OR IGNORE INTO t SELECT x, x, x, 0, x, 'row ' || x FROM n",
          lo, lo + width, step);
    case 1: return fmt::format("UPDATE t SET a = a + 1 WHERE {}", range);
    case 2: return fmt::format("UPDATE t SET b = b + 2, e = e || '+' WHERE {}", range);
    case 3: return fmt::format("UPDATE t SET c = c + 1, a = 'x' WHERE {}", range);
    case 4: return fmt::format("UPDATE t SET d = d + 1 WHERE {}", range);
    case 5: return fmt::format("DELETE FROM t WHERE {}", range);
    case 6:
      return fmt::format("BEGIN; UPDATE t SET a = a + 1 WHERE {0}; UPDATE t SET a = a - 1, e = 'y' WHERE {0}; "
                         "INSERT OR REPLACE INTO t VALUES ({1}, 1, 2, 3, 4, 'z'); COMMIT",
                         range, lo);
    case 7:
      return fmt::format("INSERT INTO u VALUES ('k{0}', 'w', {0}, 0, {0}) ON CONFLICT(k) DO UPDATE SET b = b + 1",
                         pick(40));
    default: return fmt::format("UPDATE u SET a = a || 'w', c = c + 1 WHERE b % {} = 0", step);
  }
}

}  // namespace

TEST_CASE("fast commit metadata equals the general fold's on random histories", "[core][capture][fastpath]") {
  for (int k = 0; k < cases(); ++k) {
    auto seed = static_cast<std::uint32_t>(k + 1);
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    Cluster c(test::clusterOptions(3, options()));
    for (int step = 0; step < 60; ++step) {
      Site& s = c[rng() % 3];
      std::string sql = randomWrite(rng);
      INFO("step " << step << ": " << sql);
      auto r = s.exec(sql);
      // Writes may fail on purpose (a duplicate key); the fast path's check must never be why.
      if (!r.ok()) REQUIRE(r.status().message().find("fast metadata path") == std::string::npos);
      if (rng() % 4 == 0) {
        std::size_t a = rng() % 3, b = (a + 1 + rng() % 2) % 3;
        c.syncPair(a, b);
      }
    }
    c.syncAll();
    for (std::size_t i = 1; i < c.size(); ++i) CHECK(test::tableContents(c[i], "t") == test::tableContents(c[0], "t"));
  }
}

// Commits write their rows' metadata by several paths, chosen by how many rows of a table they
// touch and how densely (one lookup and one write per row, or a range scan and one batched
// statement). Whatever the path, every row of a commit must record the commit's dot: the next
// write to each of its cells reads exactly the version the commit left.
TEST_CASE("every row of a commit of any size records its version", "[core][capture][fastpath]") {
  auto rowidKeyed = GENERATE(true, false);
  auto rows = GENERATE(1, 2, 7, 8, 9, 31, 32, 33, 100);
  // Every row, every other row (a range scan then meets rows it was not asked for), or keys
  // too sparse for a range scan.
  auto spacing = GENERATE(1, 2, 10);
  INFO((rowidKeyed ? "rowid" : "text") << " keys, " << rows << " rows " << spacing << " apart");
  test::ClusterOptions o;
  o.schema = rowidKeyed ? "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);" : "CREATE TABLE t(id TEXT PRIMARY KEY, a, b);";
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  std::string key = rowidKeyed ? "x" : "'k' || x";
  std::string keys =
      fmt::format("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {}) ", rows * spacing);
  std::string where = rowidKeyed ? "id" : "CAST(substr(id, 2) AS INTEGER)";
  std::string range = fmt::format("{0} % {1} = 1 % {1} AND {0} <= {2}", where, spacing, rows * spacing);
  Transaction inserted = test::captureOne(s, keys + fmt::format("INSERT INTO t SELECT {}, x, 'b' FROM n", key));
  Transaction first = test::captureOne(s, fmt::format("UPDATE t SET a = a + 1 WHERE {}", range));
  Transaction second = test::captureOne(s, fmt::format("UPDATE t SET a = a + 1, b = b || 'c' WHERE {}", range));
  REQUIRE(first.rows.size() == static_cast<std::size_t>(rows));
  REQUIRE(second.rows.size() == static_cast<std::size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    std::int64_t x = 1 + static_cast<std::int64_t>(i) * spacing;
    Row pk{rowidKeyed ? test::Int(x) : test::Txt(fmt::format("k{}", x))};
    INFO("row " << x);
    test::requireBases(second, pk, inserted.dot, first.dot, inserted.dot);
  }
  Transaction deleted = test::captureOne(s, fmt::format("DELETE FROM t WHERE {}", range));
  REQUIRE(deleted.rows.size() == static_cast<std::size_t>(rows));
  for (const RowChange& r : deleted.rows) CHECK(r.rowBase == Dots{inserted.dot});
}

// A commit reads and writes its rows' metadata a chunk of rows at a time (65,536). Across
// chunks, rows whose metadata an earlier chunk wrote are not read again, and rows beyond the
// greatest rowid with metadata when the commit began (here inserted in descending order, after
// updates of existing rows in the same transaction) are known to have none.
TEST_CASE("a commit of more rows than a metadata chunk records every row's version", "[core][capture][fastpath]") {
  auto rowidKeyed = GENERATE(true, false);
  INFO((rowidKeyed ? "rowid" : "text") << " keys");
  constexpr std::int64_t n = 70000;
  test::ClusterOptions o;
  o.schema = rowidKeyed ? "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);" : "CREATE TABLE t(id TEXT PRIMARY KEY, a, b);";
  Cluster c(test::clusterOptions(1, o));
  Site& s = c[0];
  std::string key = rowidKeyed ? "x" : "printf('k%06d', x)";
  auto keys = [&](std::int64_t from, std::int64_t to) {
    return fmt::format("WITH RECURSIVE n(x) AS (SELECT {} UNION ALL SELECT x + 1 FROM n WHERE x < {}) ", from, to);
  };
  Transaction inserted = test::captureOne(s, keys(1, n) + fmt::format("INSERT INTO t SELECT {}, x, 'b' FROM n", key));
  Transaction mixed = test::captureOne(
      s, fmt::format("BEGIN; UPDATE t SET a = a + 1; {} INSERT INTO t SELECT {}, x, 'b' FROM n ORDER BY x DESC; COMMIT",
                     keys(n + 1, 2 * n), key));
  Transaction updated = test::captureOne(s, "UPDATE t SET a = a + 1, b = b || 'c'");
  REQUIRE(inserted.rows.size() == static_cast<std::size_t>(n));
  REQUIRE(mixed.rows.size() == static_cast<std::size_t>(2 * n));
  REQUIRE(updated.rows.size() == static_cast<std::size_t>(2 * n));
  // Rows 1..n were inserted by `inserted` and had a changed by `mixed`; the rest were inserted by `mixed`.
  auto old = [&](const RowChange& r) {
    return rowidKeyed ? r.pk.at(0).asInteger() <= n : r.pk.at(0).asText() <= fmt::format("k{:06d}", n);
  };
  std::int64_t wrong = 0;
  for (const RowChange& r : updated.rows) {
    Dot born = old(r) ? inserted.dot : mixed.dot;
    const ColumnWrite* a = test::findColumn(r, 1);
    const ColumnWrite* b = test::findColumn(r, 2);
    bool right = r.rowBase == Dots{born} && a && a->base == Dots{mixed.dot} && b && b->base == Dots{born};
    wrong += !right;
  }
  CHECK(wrong == 0);
  Transaction deleted = test::captureOne(s, "DELETE FROM t");
  REQUIRE(deleted.rows.size() == static_cast<std::size_t>(2 * n));
  wrong = 0;
  for (const RowChange& r : deleted.rows) wrong += r.rowBase != Dots{old(r) ? inserted.dot : mixed.dot};
  CHECK(wrong == 0);
}

}  // namespace parley
