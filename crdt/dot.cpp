#include "parley/crdt/dot.hpp"

#include <algorithm>

namespace parley {

std::string Dot::toString() const { return site.shortHex() + ":" + std::to_string(seq); }

void addDot(Dots& dots, const Dot& dot) {
  auto it = std::lower_bound(dots.begin(), dots.end(), dot);
  if (it == dots.end() || *it != dot) dots.insert(it, dot);
}

Dots unionOf(const Dots& a, const Dots& b) {
  Dots out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool containsDot(const Dots& dots, const Dot& dot) {
  return std::binary_search(dots.begin(), dots.end(), dot);
}

}  // namespace parley
