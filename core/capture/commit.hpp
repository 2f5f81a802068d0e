// Turns the rows a local transaction touched into one Transaction: compares each row's image
// before the transaction with its image after it (from the capture, or re-read), records
// column writes with their bases, gives the transaction its dot, HLC and causal context,
// updates row metadata and appends it to the log. Each row's change is encoded into the log
// body as soon as it is made (no Transaction::rows is built).
#pragma once

#include <optional>
#include <vector>

#include "capture.hpp"
#include "parley/transaction.hpp"
#include "capture_state.hpp"

namespace parley {

// REQUIRES: inside the write transaction that made the changes, capture not yet committed.
// Returns the new transaction's dot; nullopt (and no transaction) if the rows' net change is
// nothing. Keeps the transaction's undo record (every site keeps one for every transaction, so a
// re-fold can reach back to any: apply.hpp).
std::optional<Dot> commitLocal(CaptureState& s, const TouchedRows& touched);

// Commits one transaction holding a strategy operation (Site::commitOperation): a write of
// `op` to the cell (t, pk, column) that the column's strategy interprets and that leaves the
// row's values as they are. Throws Error: kNotFound if the row is not there, the strategy's
// refusal (admitLocal) otherwise.
// REQUIRES: inside a write transaction; `column` is not a key column.
Dot commitOperation(CaptureState& s, const TableInfo& t, const Row& pk, std::uint32_t column, const Value& op);

// Commits one schema transaction (storage/schema_change.hpp) holding `rows`, which only the apply
// engine's schema step reads: no row metadata, nothing folded, no undo record (re-folds apply
// schema changes again, which changes nothing). Returns its stamp.
// REQUIRES: inside a write transaction; `rows` are schema change rows.
Stamp commitSchema(CaptureState& s, std::vector<RowChange> rows);

}  // namespace parley
