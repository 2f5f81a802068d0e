// GCounter and PNCounter: exact examples (the bank, toString, overflow), then properties on
// seeded random states: values agree with a std::map oracle, merge is commutative, associative
// and idempotent, replicas owning disjoint sites converge to the counter that applied every op
// whatever the gossip order, and fromTotals rebuilds a counter exactly. Every failure prints its
// seed and the states involved.
#include <catch2/catch.hpp>

#include "support/ids.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "parley/crdt/counter.hpp"
#include "parley/crdt/site_id.hpp"

namespace Catch {

template <>
struct StringMaker<parley::GCounter> {
  static std::string convert(const parley::GCounter& g) {
    std::string out;
    for (const auto& [site, total] : g.entries())
      out += (out.empty() ? "" : ", ") + site.shortHex() + ":" + std::to_string(total);
    return "{" + out + "}";
  }
};

template <>
struct StringMaker<parley::PNCounter> {
  static std::string convert(const parley::PNCounter& c) { return c.toString(); }
};

}  // namespace Catch

namespace parley {
namespace {

constexpr std::uint32_t kSeeds = 300;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

using test::randomSiteId;
using test::testSiteId;

// A small pool, so random counters share sites.
std::vector<SiteId> sitePool(std::mt19937& rng, int size) {
  std::vector<SiteId> pool;
  for (int i = 0; i < size; ++i) pool.push_back(randomSiteId(rng));
  return pool;
}

struct Op {
  SiteId site;
  std::int64_t delta;
};

// Random ops on the pool's sites; deltas in [lo, hi], zero included.
std::vector<Op> randomOps(std::mt19937& rng, const std::vector<SiteId>& pool, std::int64_t lo,
                          std::int64_t hi) {
  std::uniform_int_distribution<std::size_t> count(0, 12), pick(0, pool.size() - 1);
  std::uniform_int_distribution<std::int64_t> delta(lo, hi);
  std::vector<Op> ops(count(rng));
  for (auto& op : ops) op = {pool[pick(rng)], delta(rng)};
  return ops;
}

template <typename Counter>
Counter applied(const std::vector<Op>& ops) {
  Counter c;
  for (const auto& op : ops) c.add(op.site, op.delta);
  return c;
}

GCounter randomG(std::mt19937& rng, const std::vector<SiteId>& pool) {
  return applied<GCounter>(randomOps(rng, pool, 0, 40));
}

PNCounter randomPN(std::mt19937& rng, const std::vector<SiteId>& pool) {
  return applied<PNCounter>(randomOps(rng, pool, -40, 40));
}

template <typename Counter>
Counter merged(Counter a, const Counter& b) {
  a.merge(b);
  return a;
}

// The oracle: each site's sum of positive deltas and sum of negated negative deltas.
struct Totals {
  std::int64_t p = 0;
  std::int64_t n = 0;
};
using Oracle = std::map<SiteId, Totals>;

Oracle oracleOf(const std::vector<Op>& ops) {
  Oracle o;
  for (const auto& op : ops) (op.delta >= 0 ? o[op.site].p : o[op.site].n) += std::abs(op.delta);
  return o;
}

// Strictly increasing site ids, every total positive.
bool sortedWithoutZeros(const GCounter& g) {
  const auto& e = g.entries();
  auto notBefore = [](const auto& x, const auto& y) { return !(x.first < y.first); };
  return std::adjacent_find(e.begin(), e.end(), notBefore) == e.end() &&
         std::all_of(e.begin(), e.end(), [](const auto& x) { return x.second > 0; });
}

bool pointwiseLeq(const GCounter& a, const GCounter& b) {
  return std::all_of(a.entries().begin(), a.entries().end(),
                     [&](const auto& e) { return e.second <= b.get(e.first); });
}

bool pointwiseLeq(const PNCounter& a, const PNCounter& b) {
  return pointwiseLeq(a.increments(), b.increments()) &&
         pointwiseLeq(a.decrements(), b.decrements());
}

template <typename Counter>
void requireLatticeLaws(const Counter& a, const Counter& b, const Counter& c) {
  CAPTURE(a, b, c);
  REQUIRE(merged(a, b) == merged(b, a));
  REQUIRE(merged(merged(a, b), c) == merged(a, merged(b, c)));
  REQUIRE(merged(a, a) == a);
  REQUIRE(merged(merged(a, b), b) == merged(a, b));
  REQUIRE(merged(a, Counter{}) == a);
  // The merge is the least upper bound.
  REQUIRE(pointwiseLeq(a, merged(a, b)));
  REQUIRE(pointwiseLeq(b, merged(a, b)));
  if (pointwiseLeq(a, c) && pointwiseLeq(b, c)) REQUIRE(pointwiseLeq(merged(a, b), c));
}

// Each site belongs to one of `replicas` replicas, which applies that site's ops.
std::vector<std::vector<Op>> splitByOwner(std::mt19937& rng, const std::vector<SiteId>& pool,
                                          const std::vector<Op>& ops, std::size_t replicas) {
  std::uniform_int_distribution<std::size_t> pick(0, replicas - 1);
  std::map<SiteId, std::size_t> owner;
  for (const auto& s : pool) owner[s] = pick(rng);
  std::vector<std::vector<Op>> out(replicas);
  for (const auto& op : ops) out[owner[op.site]].push_back(op);
  return out;
}

// Every state a replica passes through while applying its ops in a shuffled order; the last
// is its final state.
template <typename Counter>
std::vector<Counter> historyOf(std::mt19937& rng, std::vector<Op> ops) {
  std::shuffle(ops.begin(), ops.end(), rng);
  std::vector<Counter> states{Counter{}};
  for (const auto& op : ops) {
    states.push_back(states.back());
    states.back().add(op.site, op.delta);
  }
  return states;
}

// Gossip: the final states plus random stale snapshots, delivered in a random order.
template <typename Counter>
std::vector<Counter> gossipOf(std::mt19937& rng,
                              const std::vector<std::vector<Counter>>& histories) {
  std::vector<Counter> messages;
  for (const auto& h : histories) {
    messages.push_back(h.back());
    std::uniform_int_distribution<std::size_t> pick(0, h.size() - 1);
    for (int i = 0; i < 3; ++i) messages.push_back(h[pick(rng)]);
  }
  std::shuffle(messages.begin(), messages.end(), rng);
  return messages;
}

template <typename Counter>
void requireConvergence(std::uint32_t seed, std::int64_t lo, std::int64_t hi) {
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  auto pool = sitePool(rng, 5);
  auto ops = randomOps(rng, pool, lo, hi);
  Counter all = applied<Counter>(ops);
  std::vector<std::vector<Counter>> histories;
  for (const auto& share : splitByOwner(rng, pool, ops, 3))
    histories.push_back(historyOf<Counter>(rng, share));
  for (const auto& h : histories) {
    Counter replica = h.back();
    for (const auto& message : gossipOf(rng, histories)) replica.merge(message);
    CAPTURE(all, replica);
    REQUIRE(replica == all);
  }
}

template <typename Counter>
void requireDisjointMergeSums(std::uint32_t seed, std::int64_t lo, std::int64_t hi) {
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  auto pool = sitePool(rng, 6);
  std::vector<SiteId> left(pool.begin(), pool.begin() + 3), right(pool.begin() + 3, pool.end());
  Counter a = applied<Counter>(randomOps(rng, left, lo, hi));
  Counter b = applied<Counter>(randomOps(rng, right, lo, hi));
  CAPTURE(a, b);
  REQUIRE(merged(a, b).value() == a.value() + b.value());
  REQUIRE(merged(b, a).value() == a.value() + b.value());
}

template <typename T>
std::vector<T> shuffled(std::vector<T> v, std::mt19937& rng) {
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

}  // namespace

TEST_CASE("a grow-only counter's value is the sum of its sites' totals", "[crdt][counter]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pool = sitePool(rng, 4);
    auto ops = randomOps(rng, pool, 0, 40);
    GCounter g = applied<GCounter>(ops);
    Oracle o = oracleOf(ops);
    CAPTURE(g);
    std::int64_t sum = 0;
    for (const auto& s : pool) {
      REQUIRE(g.get(s) == o[s].p);
      sum += o[s].p;
    }
    REQUIRE(g.value() == sum);
    REQUIRE(sortedWithoutZeros(g));
    REQUIRE(g.get(randomSiteId(rng)) == 0);
  }
}

TEST_CASE("a grow-only counter knows nothing of an unknown site", "[crdt][counter]") {
  GCounter g;
  CHECK(g.value() == 0);
  CHECK(g.get(testSiteId(1)) == 0);
  g.add(testSiteId(2), 5);
  CHECK(g.get(testSiteId(1)) == 0);
  g.add(testSiteId(1), 0);
  CHECK(g.entries().size() == 1);  // adding zero creates no entry
  CHECK(g == applied<GCounter>({{testSiteId(2), 5}}));
}

TEST_CASE("a grow-only counter refuses a negative amount and keeps its state", "[crdt][counter]") {
  GCounter g;
  g.add(testSiteId(1), 7);
  GCounter before = g;
  CHECK_THROWS_AS(g.add(testSiteId(1), -1), std::invalid_argument);
  CHECK_THROWS_AS(g.add(testSiteId(2), kMin), std::invalid_argument);
  CHECK(g == before);
}

TEST_CASE("merge of grow-only counters is commutative, associative and idempotent",
          "[crdt][counter][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pool = sitePool(rng, 5);
    GCounter a = randomG(rng, pool), b = randomG(rng, pool), c = randomG(rng, pool);
    requireLatticeLaws(a, b, c);
    GCounter ab = merged(a, b);
    REQUIRE(sortedWithoutZeros(ab));
    for (const auto& s : pool) REQUIRE(ab.get(s) == std::max(a.get(s), b.get(s)));
  }
}

TEST_CASE("merge of PN counters is commutative, associative and idempotent",
          "[crdt][counter][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pool = sitePool(rng, 5);
    PNCounter a = randomPN(rng, pool), b = randomPN(rng, pool), c = randomPN(rng, pool);
    requireLatticeLaws(a, b, c);
  }
}

TEST_CASE("replicas owning disjoint sites converge to the counter that applied every op",
          "[crdt][counter][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    requireConvergence<GCounter>(seed, 0, 40);
    requireConvergence<PNCounter>(seed, -40, 40);
  }
}

TEST_CASE("merging replicas that never saw each other's sites adds their values",
          "[crdt][counter][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    requireDisjointMergeSums<GCounter>(seed, 0, 40);
    requireDisjointMergeSums<PNCounter>(seed, -40, 40);
  }
}

TEST_CASE("a PN counter's value is increments minus decrements, site by site",
          "[crdt][counter][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pool = sitePool(rng, 4);
    auto ops = randomOps(rng, pool, -40, 40);
    PNCounter c = applied<PNCounter>(ops);
    Oracle o = oracleOf(ops);
    CAPTURE(c);
    std::int64_t net = 0;
    for (const auto& s : pool) {
      REQUIRE(c.increments().get(s) == o[s].p);
      REQUIRE(c.decrements().get(s) == o[s].n);
      REQUIRE(c.contribution(s) == o[s].p - o[s].n);
      net += o[s].p - o[s].n;
    }
    REQUIRE(c.value() == net);
    REQUIRE(c.value() == c.increments().value() - c.decrements().value());
    REQUIRE(sortedWithoutZeros(c.increments()));
    REQUIRE(sortedWithoutZeros(c.decrements()));
    REQUIRE(c.contribution(randomSiteId(rng)) == 0);
  }
}

TEST_CASE("concurrent withdrawals of 100 and 200 merge to -300 on both sites",
          "[crdt][counter][bank]") {
  SiteId a = testSiteId(0xaa), b = testSiteId(0xbb);
  PNCounter atA, atB;
  atA.add(a, -100);
  atB.add(b, -200);
  PNCounter aHears = merged(atA, atB), bHears = merged(atB, atA);
  CHECK(aHears.value() == -300);
  CHECK(bHears.value() == -300);
  CHECK(aHears == bHears);
  CHECK(aHears.contribution(a) == -100);
  CHECK(aHears.contribution(b) == -200);
  CHECK(merged(aHears, atA) == aHears);  // a duplicate delivery changes nothing
}

TEST_CASE("adding zero to a PN counter changes nothing", "[crdt][counter]") {
  PNCounter c;
  c.add(testSiteId(1), 0);
  CHECK(c == PNCounter{});
  CHECK(c.toString() == "{}");
}

TEST_CASE("PN counter text lists each site's increments and decrements", "[crdt][counter]") {
  PNCounter c;
  c.add(*SiteId::fromHex("1a2b3c4d000000000000000000000000"), 100);
  c.add(*SiteId::fromHex("1a2b3c4d000000000000000000000000"), -30);
  c.add(testSiteId(0xff), -5);
  c.add(testSiteId(0x01), 2);
  CHECK(c.toString() == "{01010101:+2-0, 1a2b3c4d:+100-30, ffffffff:+0-5}");
}

TEST_CASE("a total that would overflow int64 throws and leaves the counter unchanged",
          "[crdt][counter][overflow]") {
  SiteId s = testSiteId(1);
  GCounter g;
  g.add(s, kMax);
  CHECK_THROWS_AS(g.add(s, 1), std::overflow_error);
  CHECK(g.get(s) == kMax);

  PNCounter c;
  CHECK_THROWS_AS(c.add(s, kMin), std::overflow_error);
  CHECK(c == PNCounter{});
  c.add(s, kMax);
  c.add(s, kMin + 1);
  CHECK(c.contribution(s) == 0);
  CHECK(c.value() == 0);
  PNCounter before = c;
  CHECK_THROWS_AS(c.add(s, 1), std::overflow_error);
  CHECK_THROWS_AS(c.add(s, -1), std::overflow_error);
  CHECK(c == before);
  CHECK(merged(c, before) == c);  // merge takes maxima, it never adds
}

TEST_CASE("a value whose sum does not fit in int64 throws rather than wrapping",
          "[crdt][counter][overflow]") {
  GCounter g;
  g.add(testSiteId(1), kMax);
  g.add(testSiteId(2), 1);
  CHECK_THROWS_AS(g.value(), std::overflow_error);

  PNCounter c;
  c.add(testSiteId(1), kMin + 1);
  c.add(testSiteId(2), -1);
  CHECK_THROWS_AS(c.value(), std::overflow_error);
  CHECK(c.contribution(testSiteId(1)) == kMin + 1);
}

TEST_CASE("fromTotals rebuilds the counter its totals came from", "[crdt][counter][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    auto pool = sitePool(rng, 5);
    PNCounter c = randomPN(rng, pool);
    CAPTURE(c);
    const auto& p = c.increments().entries();
    const auto& n = c.decrements().entries();
    REQUIRE(PNCounter::fromTotals(p, n) == c);
    REQUIRE(PNCounter::fromTotals(shuffled(p, rng), shuffled(n, rng)) == c);

    // Zero totals are omitted; a site listed twice keeps its larger total, as merge would.
    auto noisy = p;
    noisy.push_back({randomSiteId(rng), 0});
    for (const auto& e : p) noisy.push_back({e.first, e.second / 2});
    REQUIRE(PNCounter::fromTotals(shuffled(noisy, rng), n) == c);
  }
}

TEST_CASE("fromTotals refuses a negative total", "[crdt][counter]") {
  CHECK_THROWS_AS(PNCounter::fromTotals({{testSiteId(1), -1}}, {}), std::invalid_argument);
  CHECK_THROWS_AS(PNCounter::fromTotals({}, {{testSiteId(1), -1}}), std::invalid_argument);
  CHECK(PNCounter::fromTotals({}, {}) == PNCounter{});
}

}  // namespace parley
