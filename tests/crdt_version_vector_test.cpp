// SiteId, Dots and VersionVector: exact examples, then the lattice laws (merge is commutative,
// associative, idempotent; leq/compare agree with a std::map oracle) on seeded random vectors.
#include <catch2/catch.hpp>

#include "support/ids.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "parley/crdt/dot.hpp"
#include "parley/crdt/site_id.hpp"
#include "parley/crdt/version_vector.hpp"
#include "support/printers.hpp"

namespace parley {
namespace {

using test::randomSiteId;
using test::testSiteId;

using Oracle = std::map<SiteId, std::uint64_t>;

// A random vector over a small pool of sites, so vectors share entries; zero means absent.
std::pair<VersionVector, Oracle> randomVector(std::mt19937& rng, const std::vector<SiteId>& pool) {
  VersionVector v;
  Oracle o;
  std::uniform_int_distribution<int> present(0, 2);
  std::uniform_int_distribution<std::uint64_t> seq(1, 6);
  for (const auto& s : pool) {
    if (present(rng) == 0) continue;
    auto n = seq(rng);
    v.set(s, n);
    o[s] = n;
  }
  return {v, o};
}

std::uint64_t oracleGet(const Oracle& o, const SiteId& s) {
  auto it = o.find(s);
  return it == o.end() ? 0 : it->second;
}

bool oracleLeq(const Oracle& a, const Oracle& b) {
  return std::all_of(a.begin(), a.end(), [&](const auto& e) { return e.second <= oracleGet(b, e.first); });
}

VersionVector merged(VersionVector a, const VersionVector& b) {
  a.merge(b);
  return a;
}

// Three random vectors over a pool of 5 sites, each with its oracle, from `seed`.
struct RandomTriple {
  explicit RandomTriple(std::uint32_t seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 5; ++i) pool.push_back(randomSiteId(rng));
    std::tie(a, oa) = randomVector(rng, pool);
    std::tie(b, ob) = randomVector(rng, pool);
    std::tie(c, oc) = randomVector(rng, pool);
  }
  std::vector<SiteId> pool;
  VersionVector a;
  Oracle oa;
  VersionVector b;
  Oracle ob;
  VersionVector c;
  Oracle oc;
};

}  // namespace

TEST_CASE("a site id survives a round trip through hex", "[crdt][site_id]") {
  std::uint32_t seed = GENERATE(1u, 2u, 3u, 42u, 1234567u);
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  SiteId id = randomSiteId(rng);
  std::string hex = id.hex();
  CAPTURE(hex);
  REQUIRE(hex.size() == 32);
  CHECK(std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
  CHECK(id.shortHex() == hex.substr(0, 8));
  auto back = SiteId::fromHex(hex);
  REQUIRE(back.has_value());
  CHECK(*back == id);

  std::string dashed = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
                       hex.substr(16, 4) + "-" + hex.substr(20);
  auto fromDashed = SiteId::fromHex(dashed);
  REQUIRE(fromDashed.has_value());
  CHECK(*fromDashed == id);

  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  auto fromUpper = SiteId::fromHex(upper);
  REQUIRE(fromUpper.has_value());
  CHECK(*fromUpper == id);

  CHECK(SiteId::fromBytes(id.bytes.data(), id.bytes.size()) == id);
}

TEST_CASE("site id hex has a known spelling", "[crdt][site_id]") {
  SiteId id;
  for (std::size_t i = 0; i < 16; ++i) id.bytes[i] = static_cast<std::uint8_t>(i * 17);
  CHECK(id.hex() == "00112233445566778899aabbccddeeff");
  CHECK(id.shortHex() == "00112233");
  CHECK_FALSE(id.isNil());
  CHECK(SiteId{}.isNil());
  CHECK(SiteId{}.hex() == std::string(32, '0'));
}

TEST_CASE("malformed hex is not a site id", "[crdt][site_id]") {
  std::string good = "00112233445566778899aabbccddeeff";
  REQUIRE(SiteId::fromHex(good).has_value());
  CHECK_FALSE(SiteId::fromHex("").has_value());
  CHECK_FALSE(SiteId::fromHex(good.substr(0, 31)).has_value());
  CHECK_FALSE(SiteId::fromHex(good + "0").has_value());
  CHECK_FALSE(SiteId::fromHex("g0112233445566778899aabbccddeeff").has_value());
  CHECK_FALSE(SiteId::fromHex("00112233 445566778899aabbccddeef").has_value());
}

TEST_CASE("site ids order byte by byte from the first byte", "[crdt][site_id]") {
  SiteId low, high;
  low.bytes[15] = 0xff;
  high.bytes[0] = 0x01;
  CHECK(low < high);
  CHECK(testSiteId(1) < testSiteId(2));
  CHECK(testSiteId(2) == testSiteId(2));
}

TEST_CASE("addDot keeps a dot set sorted and free of duplicates", "[crdt][dot]") {
  Dots dots;
  addDot(dots, {testSiteId(2), 5});
  addDot(dots, {testSiteId(1), 9});
  addDot(dots, {testSiteId(2), 3});
  addDot(dots, {testSiteId(2), 5});
  addDot(dots, {testSiteId(1), 9});
  REQUIRE(dots.size() == 3);
  CHECK(dots[0] == Dot{testSiteId(1), 9});
  CHECK(dots[1] == Dot{testSiteId(2), 3});
  CHECK(dots[2] == Dot{testSiteId(2), 5});
  CHECK(std::is_sorted(dots.begin(), dots.end()));
  CHECK(containsDot(dots, {testSiteId(2), 3}));
  CHECK_FALSE(containsDot(dots, {testSiteId(2), 4}));
  CHECK_FALSE(containsDot(dots, {testSiteId(3), 5}));
  CHECK_FALSE(containsDot(Dots{}, {testSiteId(1), 1}));
}

TEST_CASE("unionOf two dot sets is their sorted set union", "[crdt][dot]") {
  Dots a, b;
  addDot(a, {testSiteId(1), 1});
  addDot(a, {testSiteId(3), 2});
  addDot(b, {testSiteId(3), 2});
  addDot(b, {testSiteId(2), 7});
  Dots u = unionOf(a, b);
  REQUIRE(u.size() == 3);
  CHECK(u[0] == Dot{testSiteId(1), 1});
  CHECK(u[1] == Dot{testSiteId(2), 7});
  CHECK(u[2] == Dot{testSiteId(3), 2});
  CHECK(unionOf(a, Dots{}) == a);
  CHECK(unionOf(Dots{}, Dots{}).empty());
}

TEST_CASE("dot text is the short site id and the seq", "[crdt][dot]") {
  CHECK(Dot{testSiteId(0xab), 17}.toString() == "abababab:17");
}

TEST_CASE("a version vector gets what was set and zero elsewhere", "[crdt][vv]") {
  VersionVector v;
  CHECK(v.empty());
  CHECK(v.get(testSiteId(1)) == 0);
  v.set(testSiteId(2), 4);
  v.set(testSiteId(1), 7);
  CHECK(v.get(testSiteId(1)) == 7);
  CHECK(v.get(testSiteId(2)) == 4);
  CHECK(v.get(testSiteId(3)) == 0);
  CHECK(v.total() == 11);
  REQUIRE(v.entries().size() == 2);
  CHECK(v.entries()[0].first == testSiteId(1));
  CHECK(v.entries()[1].first == testSiteId(2));
  CHECK(v.toString() == "{01010101:7, 02020202:4}");

  v.set(testSiteId(1), 2);
  CHECK(v.get(testSiteId(1)) == 2);  // set may lower
  v.set(testSiteId(1), 0);
  CHECK(v.get(testSiteId(1)) == 0);
  CHECK(v.entries().size() == 1);

  VersionVector onlyTwo;
  onlyTwo.set(testSiteId(2), 4);
  CHECK(v == onlyTwo);  // a zero entry is the same as no entry
}

TEST_CASE("advance raises an entry but never lowers it", "[crdt][vv]") {
  VersionVector v;
  v.advance({testSiteId(1), 3});
  CHECK(v.get(testSiteId(1)) == 3);
  v.advance({testSiteId(1), 2});
  CHECK(v.get(testSiteId(1)) == 3);
  v.advance({testSiteId(1), 4});
  CHECK(v.get(testSiteId(1)) == 4);
  v.advance({testSiteId(5), 1});
  CHECK(v.get(testSiteId(5)) == 1);
  CHECK(v.total() == 5);
}

TEST_CASE("contains and containsAll test dots against the vector", "[crdt][vv]") {
  VersionVector v;
  v.set(testSiteId(1), 3);
  v.set(testSiteId(2), 1);
  CHECK(v.contains({testSiteId(1), 1}));
  CHECK(v.contains({testSiteId(1), 3}));
  CHECK_FALSE(v.contains({testSiteId(1), 4}));
  CHECK_FALSE(v.contains({testSiteId(3), 1}));

  std::vector<Dot> held = {{testSiteId(1), 2}, {testSiteId(2), 1}};
  std::vector<Dot> oneMissing = {{testSiteId(1), 2}, {testSiteId(2), 2}};
  CHECK(v.containsAll(held));
  CHECK_FALSE(v.containsAll(oneMissing));
  CHECK(v.containsAll(std::vector<Dot>{}));
  CHECK(VersionVector{}.containsAll(std::vector<Dot>{}));
}

TEST_CASE("merge is the pointwise maximum", "[crdt][vv]") {
  VersionVector a, b;
  a.set(testSiteId(1), 5);
  a.set(testSiteId(2), 1);
  b.set(testSiteId(2), 3);
  b.set(testSiteId(3), 2);
  a.merge(b);
  CHECK(a.get(testSiteId(1)) == 5);
  CHECK(a.get(testSiteId(2)) == 3);
  CHECK(a.get(testSiteId(3)) == 2);
  CHECK(a.entries().size() == 3);
  CHECK(std::is_sorted(a.entries().begin(), a.entries().end()));
}

TEST_CASE("compare says Equal, Before, After or Concurrent", "[crdt][vv]") {
  VersionVector empty, a, b, c;
  a.set(testSiteId(1), 1);
  b.set(testSiteId(1), 2);
  c.set(testSiteId(2), 1);

  CHECK(empty.compare(empty) == CausalOrder::Equal);
  CHECK(empty.compare(a) == CausalOrder::Before);
  CHECK(a.compare(empty) == CausalOrder::After);
  CHECK(a.compare(a) == CausalOrder::Equal);
  CHECK(a.compare(b) == CausalOrder::Before);
  CHECK(b.compare(a) == CausalOrder::After);
  CHECK(b.compare(c) == CausalOrder::Concurrent);
  CHECK(c.compare(b) == CausalOrder::Concurrent);

  CHECK(a.leq(b));
  CHECK_FALSE(b.leq(a));
  CHECK(empty.leq(a));
  CHECK_FALSE(a.leq(empty));
  CHECK_FALSE(b.leq(c));
  CHECK_FALSE(c.leq(b));
}

TEST_CASE("merge is commutative, associative and idempotent on random vectors", "[crdt][vv][property]") {
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    RandomTriple t(seed);
    const auto& [pool, a, oa, b, ob, c, oc] = t;
    CAPTURE(a, b, c);

    REQUIRE(merged(a, b) == merged(b, a));
    REQUIRE(merged(merged(a, b), c) == merged(a, merged(b, c)));
    REQUIRE(merged(a, a) == a);
    REQUIRE(merged(merged(a, b), b) == merged(a, b));
    REQUIRE(merged(a, VersionVector{}) == a);

    // Against the oracle: the pointwise maximum, entries sorted and never zero.
    VersionVector ab = merged(a, b);
    std::set<SiteId> sites;
    for (const auto& [s, n] : oa) sites.insert(s);
    for (const auto& [s, n] : ob) sites.insert(s);
    REQUIRE(ab.entries().size() == sites.size());
    std::uint64_t total = 0;
    for (const auto& s : sites) {
      std::uint64_t expected = std::max(oracleGet(oa, s), oracleGet(ob, s));
      REQUIRE(ab.get(s) == expected);
      total += expected;
    }
    REQUIRE(ab.total() == total);
    REQUIRE(std::is_sorted(ab.entries().begin(), ab.entries().end()));
    for (const auto& e : ab.entries()) REQUIRE(e.second > 0);

    // The merge is the least upper bound.
    REQUIRE(a.leq(ab));
    REQUIRE(b.leq(ab));
    if (a.leq(c) && b.leq(c)) REQUIRE(ab.leq(c));

    // leq and compare agree with the oracle.
    REQUIRE(a.leq(b) == oracleLeq(oa, ob));
    bool le = oracleLeq(oa, ob), ge = oracleLeq(ob, oa);
    CausalOrder expected = le && ge ? CausalOrder::Equal
                           : le     ? CausalOrder::Before
                           : ge     ? CausalOrder::After
                                    : CausalOrder::Concurrent;
    REQUIRE(a.compare(b) == expected);
    REQUIRE((a == b) == (oa == ob));
  }
}

TEST_CASE("meet is the pointwise minimum and the greatest lower bound on random vectors", "[crdt][vv][property]") {
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    RandomTriple t(seed);
    const auto& [pool, a, oa, b, ob, c, oc] = t;
    CAPTURE(a, b, c);
    VersionVector ab = a;
    ab.meet(b);
    for (const auto& s : pool) REQUIRE(ab.get(s) == std::min(oracleGet(oa, s), oracleGet(ob, s)));
    REQUIRE(std::is_sorted(ab.entries().begin(), ab.entries().end()));
    for (const auto& e : ab.entries()) REQUIRE(e.second > 0);
    VersionVector ba = b;
    ba.meet(a);
    REQUIRE(ab == ba);
    REQUIRE(ab.leq(a));
    REQUIRE(ab.leq(b));
    if (c.leq(a) && c.leq(b)) REQUIRE(c.leq(ab));
    VersionVector none = a;
    none.meet(VersionVector{});
    REQUIRE(none.empty());
  }
}

}  // namespace parley
