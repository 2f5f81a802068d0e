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

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "parley/apply_result.hpp"
#include "apply_state.hpp"
#include "causal_context.hpp"
#include "context_view.hpp"
#include "parley/hlc.hpp"
#include "sqlite.hpp"
#include "state.hpp"

namespace parley::skew {

// parley_clock_skew over the site's connection: per origin (by local site index), what the
// newest arrivals beyond the bound said of its clock. `any` caches whether it holds a record
// (ApplyState::skewRecords); unknown until read.
struct Stored {
  std::uint32_t source = 0;
  std::uint64_t aheadMs = 0, atMs = 0, lastMs = 0, remoteMs = 0;
};
class Records {
 public:
  Records(sql::Db& db, std::optional<bool>& any) : db_(db), any_(any) {}

  std::optional<Stored> load(std::uint32_t site);
  void save(std::uint32_t site, const Stored& r);
  void clear(std::uint32_t site);
  bool any();
  // Drops the records whose origin's newest timestamp is not beyond `limitMs`.
  void dropUpTo(std::uint64_t limitMs);

 private:
  sql::Db& db_;
  std::optional<bool>& any_;
};

// What an arrival's timestamp is measured against: this site's physical clock, and how far ahead
// of it a timestamp may be (SiteOptions::maxClockSkew, the hybrid logical clock's bound).
struct Bound {
  Clock& physical;
  std::chrono::milliseconds ahead;
};

// One apply's arrivals: its new transactions in canonical order, already appended to the log,
// each with its full causal context.
struct Arrivals {
  std::span<const Transaction* const> fresh;
  std::span<const ContextView> contexts;
};

// Records and reports (result.warnings, one line per origin) the origins whose newest arrival is
// beyond the bound, and clears the records of those within it. `past` gives the log and its
// contexts, through which a timestamp carried from another site is traced to that site.
// REQUIRES: inside the apply's write transaction, the arrivals already appended to the log.
void noteArrivals(const Arrivals& arrivals, Bound bound, Records& records, causal::Contexts past, ApplyResult& result);

// The records whose origin's newest timestamp is still ahead of this site's clock by more than
// the bound.
std::vector<ClockSkewRecord> current(ApplyState& s);

}  // namespace parley::skew
