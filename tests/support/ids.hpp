// Site ids for tests: fixed ones whose order is known, and random ones from a seeded generator.
// std and crdt only, so the crdt tests can use it without core.
#pragma once

#include <cstdint>
#include <random>

#include "parley/crdt/site_id.hpp"

namespace parley::test {

// A site id whose 16 bytes all equal `n`; testSiteId(a) < testSiteId(b) iff a < b.
inline SiteId testSiteId(std::uint8_t n) {
  SiteId id;
  id.bytes.fill(n);
  return id;
}

inline SiteId randomSiteId(std::mt19937& rng) {
  SiteId id;
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : id.bytes) b = static_cast<std::uint8_t>(byte(rng));
  return id;
}

}  // namespace parley::test
