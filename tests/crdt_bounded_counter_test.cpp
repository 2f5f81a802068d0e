// BoundedCounter and RightsMoves: exact examples (rights start with the inserting site, move,
// refuse what a site does not hold), then properties on seeded random states: merge is
// commutative, associative and idempotent, and replicas that each own a site, make only
// checked operations and gossip their states in random order never see a value below zero
// and converge to the same state. Every failure prints its seed.
#include <catch2/catch.hpp>

#include "support/ids.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "parley/crdt/bounded_counter.hpp"

namespace Catch {
template <>
struct StringMaker<parley::BoundedCounter> {
  static std::string convert(const parley::BoundedCounter& c) { return c.toString() + " value " + std::to_string(c.value()); }
};
}  // namespace Catch

namespace parley {
namespace {

using test::testSiteId;

constexpr std::uint32_t kSeeds = 300;

TEST_CASE("a bounded counter's rights start at the site that adds, move, and refuse what a site lacks",
          "[crdt][bounded]") {
  SiteId ny = testSiteId(1), london = testSiteId(2);
  BoundedCounter c;
  c.add(ny, 1000);  // the row's insert at New York: its rights
  CHECK(c.rights(ny) == 1000);
  CHECK(c.rights(london) == 0);
  CHECK_FALSE(c.tryAdd(london, -1));
  CHECK(c.tryMove(ny, london, 300));
  CHECK(c.rights(ny) == 700);
  CHECK(c.rights(london) == 300);
  CHECK(c.tryAdd(london, -200));
  CHECK_FALSE(c.tryAdd(london, -101));
  CHECK(c.tryAdd(london, 50));  // own increments grow rights
  CHECK(c.rights(london) == 150);
  CHECK(c.value() == 850);
  CHECK(c.rights(ny) + c.rights(london) == c.value());
  CHECK_FALSE(c.tryMove(ny, london, 701));
  CHECK_FALSE(c.tryMove(ny, ny, 1));
  c.ask(london, 400);
  CHECK(c.outstanding(london) == 400);
  c.move(ny, london, 100);
  CHECK(c.outstanding(london) == 300);
}

// A random state built from unchecked operations of a few sites, each entry owned by one site
// as in a real history: the states of two replicas are two prefixes of each site's operations.
struct History {
  struct Op {
    int kind;  // 0 add, 1 move, 2 ask
    SiteId site, to;
    std::int64_t amount;
  };
  std::vector<std::vector<Op>> perSite;

  BoundedCounter prefix(const std::vector<std::size_t>& lengths) const {
    BoundedCounter c;
    for (std::size_t s = 0; s < perSite.size(); ++s) {
      // Replaying a prefix of s's operations in order gives s's entries; asks are registers.
      for (std::size_t i = 0; i < lengths[s]; ++i) {
        const Op& op = perSite[s][i];
        if (op.kind == 0) c.add(op.site, op.amount);
        else if (op.kind == 1) c.move(op.site, op.to, op.amount);
      }
    }
    // Asks are registers of their site's wanted total: the greatest prefix value.
    for (std::size_t s = 0; s < perSite.size(); ++s)
      for (std::size_t i = 0; i < lengths[s]; ++i)
        if (perSite[s][i].kind == 2) {
          RightsMoves m;
          m.want(perSite[s][i].site, perSite[s][i].amount);
          c.merge(BoundedCounter({}, m));
        }
    return c;
  }
};

History randomHistory(std::mt19937& rng, int sites) {
  History h;
  h.perSite.resize(static_cast<std::size_t>(sites));
  std::uniform_int_distribution<int> kind(0, 2), count(0, 10), pick(1, sites);
  std::uniform_int_distribution<std::int64_t> amount(-50, 100);
  for (int s = 0; s < sites; ++s) {
    std::int64_t wanted = 0;
    for (int i = 0, n = count(rng); i < n; ++i) {
      int k = kind(rng);
      SiteId self = testSiteId(static_cast<std::uint8_t>(s + 1));
      SiteId to = testSiteId(static_cast<std::uint8_t>(pick(rng)));
      if (k == 1 && to == self) k = 0;
      std::int64_t a = amount(rng);
      if (k != 0) a = a < 0 ? -a : a;
      if (k == 2) a = wanted += a;  // a site's wanted total only grows along its history
      h.perSite[static_cast<std::size_t>(s)].push_back({k, self, to, a});
    }
  }
  return h;
}

std::vector<std::size_t> randomPrefix(std::mt19937& rng, const History& h) {
  std::vector<std::size_t> out;
  for (const auto& ops : h.perSite) out.push_back(std::uniform_int_distribution<std::size_t>(0, ops.size())(rng));
  return out;
}

TEST_CASE("bounded counter merge is commutative, associative and idempotent", "[crdt][bounded][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    History h = randomHistory(rng, 4);
    BoundedCounter a = h.prefix(randomPrefix(rng, h)), b = h.prefix(randomPrefix(rng, h)),
                   c = h.prefix(randomPrefix(rng, h));
    BoundedCounter ab = a, ba = b;
    ab.merge(b);
    ba.merge(a);
    REQUIRE(ab == ba);
    BoundedCounter ab_c = ab, bc = b;
    ab_c.merge(c);
    bc.merge(c);
    BoundedCounter a_bc = a;
    a_bc.merge(bc);
    REQUIRE(ab_c == a_bc);
    BoundedCounter aa = a;
    aa.merge(a);
    REQUIRE(aa == a);
    // Merging prefixes gives the longer prefix of each site: the same as replaying it.
    std::vector<std::size_t> p = randomPrefix(rng, h), q = randomPrefix(rng, h), longest(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) longest[i] = std::max(p[i], q[i]);
    BoundedCounter pq = h.prefix(p);
    pq.merge(h.prefix(q));
    REQUIRE(pq == h.prefix(longest));
  }
}

TEST_CASE("replicas that spend only their rights never see a value below zero, and converge",
          "[crdt][bounded][property]") {
  for (std::uint32_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    constexpr int kSites = 4;
    std::vector<BoundedCounter> replicas(kSites);
    replicas[0].add(testSiteId(1), 500);  // the insert
    std::uniform_int_distribution<int> pick(0, kSites - 1), action(0, 3);
    std::uniform_int_distribution<std::int64_t> amount(1, 200);
    for (int step = 0; step < 200; ++step) {
      int r = pick(rng);
      SiteId self = testSiteId(static_cast<std::uint8_t>(r + 1));
      BoundedCounter& mine = replicas[static_cast<std::size_t>(r)];
      switch (action(rng)) {
        case 0: mine.tryAdd(self, -amount(rng)); break;
        case 1: mine.tryAdd(self, amount(rng) / 4); break;
        case 2: mine.tryMove(self, testSiteId(static_cast<std::uint8_t>(pick(rng) + 1)), amount(rng)); break;
        case 3: mine.merge(replicas[static_cast<std::size_t>(pick(rng))]); break;
      }
      for (const auto& replica : replicas) {
        REQUIRE(replica.value() >= 0);
        for (int s = 0; s < kSites; ++s) REQUIRE(replica.rights(testSiteId(static_cast<std::uint8_t>(s + 1))) >= 0);
      }
    }
    BoundedCounter all;
    for (const auto& replica : replicas) all.merge(replica);
    for (auto& replica : replicas) replica.merge(all);
    for (const auto& replica : replicas) REQUIRE(replica == all);
    std::int64_t sum = 0;
    for (const auto& site : all.sites()) sum += all.rights(site);
    REQUIRE(sum == all.value());
    REQUIRE(all.value() >= 0);
  }
}

}  // namespace
}  // namespace parley
