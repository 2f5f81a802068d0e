// HlcClock against a ManualClock: monotonic whatever the physical clock does, the receive
// rule of Kulkarni et al. 2014, skew reporting, and restore().
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <random>

#include "parley/hlc.hpp"
#include "support/printers.hpp"

namespace parley {
namespace {

constexpr std::uint64_t kT = 1'700'000'000'000ULL;
constexpr std::chrono::milliseconds kSkew{1000};

}  // namespace

TEST_CASE("an hlc packs milliseconds above a 16-bit logical counter", "[core][hlc]") {
  Hlc h = Hlc::make(kT, 7);
  CHECK(h.physicalMs() == kT);
  CHECK(h.logical() == 7);
  CHECK(h.value == ((kT << 16) | 7));
  CHECK(Hlc::make(kT, 0xffff) < Hlc::make(kT + 1, 0));
  CHECK(Hlc::make(kT, 1) < Hlc::make(kT, 2));
  CHECK(h.toString() == "1700000000000.7");
}

TEST_CASE("now() follows the physical clock when it moves forward", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  CHECK(hlc.now() == Hlc::make(kT, 0));
  clock.advance(5);
  CHECK(hlc.now() == Hlc::make(kT + 5, 0));
  CHECK(hlc.last() == Hlc::make(kT + 5, 0));
}

TEST_CASE("now() counts logically while the physical clock stands still", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  Hlc previous = hlc.now();
  for (std::uint32_t i = 1; i <= 100; ++i) {
    Hlc next = hlc.now();
    INFO("call " << i);
    REQUIRE(next > previous);
    REQUIRE(next == Hlc::make(kT, i));
    previous = next;
  }
}

TEST_CASE("now() stays strictly increasing when the physical clock goes backwards", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  hlc.now();
  clock.advance(10);
  Hlc high = hlc.now();
  REQUIRE(high == Hlc::make(kT + 10, 0));
  clock.set(kT - 5000);
  Hlc a = hlc.now();
  Hlc b = hlc.now();
  CHECK(a > high);
  CHECK(b > a);
  // The physical part stays at the highest time seen; the counter moves.
  CHECK(a == Hlc::make(kT + 10, 1));
  CHECK(b == Hlc::make(kT + 10, 2));
  // Once real time passes the old high mark the counter resets.
  clock.set(kT + 11);
  CHECK(hlc.now() == Hlc::make(kT + 11, 0));
}

TEST_CASE("now() is strictly increasing under a random walk of the physical clock", "[core][hlc][property]") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> step(-50, 50);
    std::uniform_int_distribution<int> remoteOffset(-3000, 3000);
    ManualClock clock(kT);
    HlcClock hlc(clock, kSkew);
    Hlc previous = hlc.now();
    for (int i = 0; i < 500; ++i) {
      clock.set(static_cast<std::uint64_t>(static_cast<std::int64_t>(clock.nowMillis()) + step(rng)));
      if (i % 7 == 0) {
        Hlc remote = Hlc::make(static_cast<std::uint64_t>(static_cast<std::int64_t>(clock.nowMillis()) +
                                                          remoteOffset(rng)),
                               static_cast<std::uint32_t>(i % 5));
        hlc.receive(remote);
        INFO("step " << i << " remote " << remote.toString());
        REQUIRE(hlc.last() > remote);
        REQUIRE(hlc.last() > previous);
        previous = hlc.last();
      }
      Hlc next = hlc.now();
      INFO("step " << i);
      REQUIRE(next > previous);
      REQUIRE(next.physicalMs() >= clock.nowMillis());
      previous = next;
    }
  }
}

TEST_CASE("the logical counter carries into the milliseconds when it overflows", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  Hlc previous = hlc.now();
  for (std::uint32_t i = 0; i < 0x10000 + 10; ++i) {
    Hlc next = hlc.now();
    if (!(next > previous)) {
      INFO("call " << i << ": " << previous.toString() << " then " << next.toString());
      REQUIRE(next > previous);
    }
    previous = next;
  }
  CHECK(previous.physicalMs() == kT + 1);
}

TEST_CASE("after receive() every local timestamp is greater than the remote one", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  hlc.now();
  Hlc remote = Hlc::make(kT + 500, 7);
  CHECK_FALSE(hlc.receive(remote).has_value());
  CHECK(hlc.last() > remote);
  Hlc next = hlc.now();
  CHECK(next > remote);
  // Kulkarni et al.: l = max(l, l_m, pt) = l_m, c = c_m + 1; then a local event c + 1.
  CHECK(hlc.last() == Hlc::make(kT + 500, 9));
  CHECK(next == Hlc::make(kT + 500, 9));
}

TEST_CASE("receive() of an older remote timestamp still advances the clock", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  Hlc local = hlc.now();
  CHECK_FALSE(hlc.receive(Hlc::make(kT - 100, 3)).has_value());
  CHECK(hlc.last() > local);
  CHECK(hlc.now() > local);
}

TEST_CASE("receive() of a remote equal to the local clock moves past both", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  Hlc local = hlc.now();
  hlc.receive(local);
  CHECK(hlc.last() > local);
}

TEST_CASE("receive() reports a remote clock ahead by more than maxSkew", "[core][hlc][skew]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);

  SECTION("within the bound nothing is reported") {
    CHECK_FALSE(hlc.receive(Hlc::make(kT + 999, 0)).has_value());
    CHECK_FALSE(hlc.receive(Hlc::make(kT + 1000, 0)).has_value());
  }
  SECTION("beyond the bound the skew is reported with how far ahead it is") {
    auto skew = hlc.receive(Hlc::make(kT + 5000, 3));
    REQUIRE(skew.has_value());
    CHECK(skew->aheadMs == 5000);
    // The timestamp is still merged: causality needs it.
    CHECK(hlc.last() > Hlc::make(kT + 5000, 3));
    CHECK(hlc.now() > Hlc::make(kT + 5000, 3));
  }
  SECTION("just past the bound is reported") {
    auto skew = hlc.receive(Hlc::make(kT + 1001, 0));
    REQUIRE(skew.has_value());
    CHECK(skew->aheadMs == 1001);
  }
  SECTION("skew is measured against the physical clock, not the hlc") {
    // Our own hlc ran ahead (e.g. an earlier skewed remote); a remote close to real time is fine.
    hlc.restore(Hlc::make(kT + 60'000, 0));
    CHECK_FALSE(hlc.receive(Hlc::make(kT + 10, 0)).has_value());
    auto skew = hlc.receive(Hlc::make(kT + 61'000, 0));
    REQUIRE(skew.has_value());
    CHECK(skew->aheadMs == 61'000);
  }
}

TEST_CASE("restore() raises the clock to a floor and never lowers it", "[core][hlc]") {
  ManualClock clock(kT);
  HlcClock hlc(clock, kSkew);
  Hlc floor = Hlc::make(kT + 10'000, 4);
  hlc.restore(floor);
  CHECK(hlc.last() == floor);
  Hlc next = hlc.now();
  CHECK(next > floor);
  CHECK(next == Hlc::make(kT + 10'000, 5));

  hlc.restore(Hlc::make(kT, 0));
  CHECK(hlc.last() == next);
  CHECK(hlc.now() > next);
}

}  // namespace parley
