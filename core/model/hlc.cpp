#include "parley/hlc.hpp"

#include <algorithm>

namespace parley {
namespace {

constexpr std::uint32_t kMaxLogical = 0xffff;

// The smallest timestamp strictly greater than `t`; carries into the millisecond field
// when the logical counter is exhausted (a timestamp then runs slightly ahead of real time).
Hlc successor(Hlc t) {
  if (t.logical() < kMaxLogical) return Hlc::make(t.physicalMs(), t.logical() + 1);
  return Hlc::make(t.physicalMs() + 1, 0);
}

}  // namespace

std::string Hlc::toString() const {
  return std::to_string(physicalMs()) + "." + std::to_string(logical());
}

std::uint64_t SystemClock::nowMillis() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

Hlc HlcClock::now() {
  Hlc physical = Hlc::make(clock_.nowMillis(), 0);
  last_ = physical > last_ ? physical : successor(last_);
  return last_;
}

std::optional<ClockSkew> HlcClock::receive(Hlc remote) {
  std::uint64_t physicalMs = clock_.nowMillis();
  std::optional<ClockSkew> skew;
  if (remote.physicalMs() > physicalMs + static_cast<std::uint64_t>(maxSkew_.count()))
    skew = ClockSkew{remote.physicalMs() - physicalMs};
  Hlc physical = Hlc::make(physicalMs, 0);
  Hlc top = std::max({physical, last_, remote});
  last_ = top == physical && top > last_ && top > remote ? physical : successor(top);
  return skew;
}

void HlcClock::restore(Hlc floor) { last_ = std::max(last_, floor); }

}  // namespace parley
