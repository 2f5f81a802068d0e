// The commit's fast metadata paths (core/local_meta.*) and batched metadata reads
// (core/touched_meta.*) against the general fold, as an oracle: with PARLEY_CHECK_CAPTURE=1
// every commit also folds each row the general way (decode, foldRow, encode) and fails if the
// fast path's metadata bytes or bases differ. Random histories on three sites mix bulk and
// single-row writes, sparse and dense key sets, tombstones, concurrent writes and every column
// kind, so the fast paths meet remote and concurrent dots, counters and rejections.
// PARLEY_PROPERTY_CASES=N runs N seeds (default 6); every failure prints its seed.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <string>

#include <fmt/format.h>

#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::Cluster;
using test::execOk;

// Sets an environment variable for the scope of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

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
  ScopedEnv check("PARLEY_CHECK_CAPTURE", "1");
  for (int k = 0; k < cases(); ++k) {
    auto seed = static_cast<std::uint32_t>(k + 1);
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    Cluster c(3, options());
    for (int step = 0; step < 60; ++step) {
      Site& s = c[rng() % 3];
      std::string sql = randomWrite(rng);
      INFO("step " << step << ": " << sql);
      auto r = s.exec(sql);
      // Writes may fail on purpose (a duplicate key); the fast path's check must never be why.
      if (!r.ok()) REQUIRE(r.status().message().find("fast metadata path") == std::string::npos);
      if (rng() % 4 == 0) {
        std::size_t a = rng() % 3, b = (a + 1 + rng() % 2) % 3;
        test::syncPair(c[a], c[b]);
      }
    }
    test::syncAll(c);
    for (std::size_t i = 1; i < c.size(); ++i) CHECK(test::tableContents(c[i], "t") == test::tableContents(c[0], "t"));
  }
}

}  // namespace parley
