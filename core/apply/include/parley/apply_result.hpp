// What an apply of remote transactions reports (Site::apply() in parley/site.hpp): counts,
// the conflicts met, and warnings such as clock skew.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/conflict.hpp"
#include "parley/crdt/site_id.hpp"

namespace parley {

// A site whose transactions arrived stamped further ahead of this site's clock than
// SiteOptions::maxClockSkew. Such transactions are applied (refusing them would block every
// later transaction of that origin and of every site that heard from it), but each arrival is
// reported, and the record is kept (parley_clock_skew) until a transaction of that origin
// arrives within the bound or real time catches up with the newest of its timestamps.
struct ClockSkewRecord {
  SiteId origin;  // whose transactions arrived ahead
  // Whose clock ran ahead: the origin itself, or a site in the origin's causal past whose
  // timestamp it carries (a hybrid logical clock keeps the greatest time it has seen).
  SiteId source;
  std::uint64_t greatestAheadMs = 0;  // the greatest skew seen since it went beyond the bound
  std::uint64_t greatestAtMs = 0;     // when that arrived (this site's clock)
  std::uint64_t lastAtMs = 0;         // when a transaction beyond the bound last arrived
  std::uint64_t aheadNowMs = 0;       // how far the origin's newest timestamp is ahead of this site's clock now
};

// The one-line report of `r` at site `here`: the skew, whose clock to fix, and what it does
// meanwhile. `nameOf` names a site (its short id when empty). Starts with "clock skew: ".
std::string describe(const ClockSkewRecord& r, const std::function<std::string(const SiteId&)>& nameOf = {},
                     std::string_view here = "this site");

// Something an apply noticed that the user should hear of, without failing it: a kind a
// caller decides by (the command line reports clock skew its own way, once per origin) and
// one line saying it.
struct ApplyWarning {
  enum class Kind : std::uint8_t {
    kClockSkew,  // an origin's transactions arrived stamped beyond the clock skew bound
  };
  Kind kind = Kind::kClockSkew;
  std::string message;  // one line; for kClockSkew it starts with "clock skew: "
  bool operator==(const ApplyWarning&) const = default;
};

struct ApplyResult {
  std::size_t applied = 0;     // transactions newly applied
  std::size_t duplicates = 0;  // already held: ignored
  std::size_t refolded = 0;    // held transactions undone and re-applied after a late arrival
  std::size_t rejected = 0;    // transactions the fold rejected (re-folded ones included)
  std::vector<ConflictReport> conflicts;
  std::vector<ApplyWarning> warnings;
};

}  // namespace parley
