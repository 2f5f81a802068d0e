// A small seeded generator (SplitMix64) whose output is the same on every platform and
// standard library, unlike std::uniform_*_distribution. Used by the cluster's scheduler.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::testing {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // True with probability p (p <= 0: never, p >= 1: always). Draws once either way, so the
  // sequence does not depend on the probabilities.
  bool chance(double p) {
    double u = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return u < p;
  }
  // Uniform in [0, n). REQUIRES: n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

}  // namespace parley::testing
