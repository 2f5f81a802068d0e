// The conflict log: parley_conflicts, one row per conflict the fold met, queryable with SQL.
//
// Rows are keyed by the transaction decided (the incoming write, later in canonical order),
// the cell and the kind, so re-delivery never duplicates them. When a re-fold undoes a
// transaction its rows are forgotten and written again as the fold meets them anew; when its
// decision becomes final they are marked final and never change again.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "parley/conflict.hpp"
#include "handles.hpp"

namespace parley::conflict_log {

// Records the conflicts the fold met, each stamped with `clock`'s time.
void record(store::Log log, Clock& clock, const std::vector<ConflictReport>& conflicts);
// Forgets the rows of transaction `txn` (a re-fold is undoing it).
void forget(store::Log log, const Dot& txn);
// Marks final the rows of `origin`'s transactions with seq <= upTo.
void markFinal(store::Log log, const SiteId& origin, std::uint64_t upTo);
// Rows in the order they were recorded; `table` filters when set.
std::vector<ConflictReport> list(SiteState& s, const std::optional<std::string>& table);

std::string kindName(ConflictKind kind);
std::string outcomeName(ConflictOutcome outcome);

}  // namespace parley::conflict_log
