// Clock skew: remote transactions stamped further ahead of this site's clock than the bound
// (SiteOptions::maxClockSkew).
//
// Such a transaction is applied: its timestamp is part of its identity in the canonical order,
// and refusing it would block every later transaction of its origin and of every site that heard
// from it. But a hybrid logical clock keeps the greatest time it has seen, so one fast clock
// carries every site that hears from it ahead, and their writes win lww conflicts until real
// time catches up. So every arrival beyond the bound is reported, naming the site whose clock
// ran ahead, and parley_clock_skew keeps per origin what `status` shows, written in the apply's
// transaction: the record stays until a transaction of that origin arrives within the bound.
#pragma once

#include <span>
#include <vector>

#include "parley/apply_result.hpp"
#include "apply_state.hpp"

namespace parley::skew {

// Records and reports (result.warnings, one line per origin) the origins whose newest
// transaction in `fresh` is beyond the bound, and clears the records of those within it.
// contexts[i] is fresh[i]'s full causal context.
// REQUIRES: inside the apply's write transaction, `fresh` already appended to the log.
void noteArrivals(ApplyState& s, std::span<const Transaction* const> fresh,
                  std::span<const ContextView> contexts, ApplyResult& result);

// The records whose origin's newest timestamp is still ahead of this site's clock by more than
// the bound.
std::vector<ClockSkewRecord> current(ApplyState& s);

}  // namespace parley::skew
