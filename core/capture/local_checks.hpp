// LocalChecks: a local commit's writes to columns whose strategy checks them before they
// commit (ColumnResolver::checksLocalWrites, admitLocal: a bounded counter refuses a write
// beyond this site's rights). Hands each strategy the cell after the write and the writes to
// the cell of held transactions that are not final and may still be rejected, so that it
// can count them pessimistically (DESIGN.md, "Bounded counter").
#pragma once

#include <optional>
#include <vector>

#include "catalog.hpp"
#include "parley/resolver.hpp"
#include "parley/transaction.hpp"
#include "row_meta.hpp"
#include "capture_state.hpp"

namespace parley {

class LocalChecks {
 public:
  // REQUIRES: `s` outlives it; inside the commit's write transaction.
  explicit LocalChecks(CaptureState& s) : s_(s) {}
  // Throws Error with the strategy's status if it refuses one of `change`'s writes. `after`:
  // the row's metadata after the change; `values`: its values after it (nullopt: deleted).
  void check(const TableInfo& t, const RowChange& change, const RowMeta& after, const std::optional<Row>& values);

 private:
  // Held transactions not final yet that may still be rejected, with the fold's decision;
  // read at the first check of a commit. None when no tracked table can reject.
  const std::vector<std::pair<Transaction, bool>>& pending();
  std::vector<PendingWrite> pendingFor(const TableInfo& t, const Row& pk, std::uint32_t column);
  bool mayBeRejected(const Transaction& t) const;

  CaptureState& s_;
  std::optional<std::vector<std::pair<Transaction, bool>>> pending_;
};

}  // namespace parley
