// One step of the fold: the new state of one row after one row change of one transaction.
//
// Pure: no SQLite, no I/O. Given the row's metadata and values before, the row change and its
// transaction, it classifies each write against the row's dots (supersedes, already applied,
// or concurrent), carries out the step the column's strategy takes (ColumnResolver::meet in
// parley/resolver.hpp) and the table's row policies, and returns the row's metadata and
// values after, the conflicts met, or that the transaction must be rejected. The same
// function turns a local commit into metadata (every local write supersedes what it read), so
// local and remote histories fold alike.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "context_view.hpp"
#include "parley/conflict.hpp"
#include "parley/transaction.hpp"
#include "row_meta.hpp"

namespace parley {

struct RowState {
  std::optional<RowMeta> meta;  // nullopt: this site has never seen the row
  std::optional<Row> values;    // the stored row when meta->alive

  // The row's values in place: stored, or kept in its tombstone; nullopt if never seen.
  std::optional<Row> current() const;
};

struct FoldStep {
  RowMeta meta;
  std::optional<Row> values;  // the row to store; nullopt: absent
  std::vector<ConflictReport> conflicts;
  // Set when the transaction must be rejected as a whole; meta and values are then unusable.
  std::optional<std::string> rejection;
};

// `context`: txn's full causal context (txn.context may hold only what its encoding carried); a
// VersionVector converts to a view of itself.
FoldStep foldRow(const TableInfo& table, const RowState& before, const RowChange& change, const Transaction& txn,
                 const ContextView& context);
// The same, taking `before` apart instead of copying it.
FoldStep foldRow(const TableInfo& table, RowState&& before, const RowChange& change, const Transaction& txn,
                 const ContextView& context);

}  // namespace parley
