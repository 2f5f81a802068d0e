// Dot: the identity (site, seq) of one transaction; seq counts that site's transactions from 1.
// Dots: a small set of dots, kept sorted and without duplicates.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "parley/crdt/site_id.hpp"

namespace parley {

struct Dot {
  SiteId site;
  std::uint64_t seq = 0;

  friend auto operator<=>(const Dot&, const Dot&) = default;
  std::string toString() const;  // "1a2b3c4d:17"
};

using Dots = std::vector<Dot>;

// Inserts `dot` into the sorted set `dots` unless present.
void addDot(Dots& dots, const Dot& dot);
// The sorted union of two sorted sets.
Dots unionOf(const Dots& a, const Dots& b);
bool containsDot(const Dots& dots, const Dot& dot);

}  // namespace parley
