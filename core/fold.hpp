// One step of the fold: the new state of one row after one write of one transaction.
//
// Pure: no SQLite, no I/O. Given the row's metadata and values before, the row change and
// its transaction, it classifies the change against the row's dots (supersedes, already
// applied, or concurrent), asks the resolvers about concurrent ones, and returns the row's
// metadata and values after, plus the conflicts it met. The same function turns a local
// commit into metadata (every local write supersedes) and applies remote transactions,
// which is what keeps local and remote histories folding alike.
#pragma once

#include <optional>
#include <vector>

#include "catalog.hpp"
#include "parley/resolver.hpp"
#include "parley/site.hpp"
#include "parley/transaction.hpp"
#include "row_meta.hpp"

namespace parley {

struct RowState {
  std::optional<RowMeta> meta;  // nullopt: this site has never seen the row
  std::optional<Row> values;    // the stored row when meta->alive
};

struct FoldStep {
  RowMeta meta;
  std::optional<Row> values;  // the row to store; nullopt: absent
  std::vector<ConflictReport> conflicts;
};

FoldStep foldRow(const TableInfo& table, const RowState& before, const RowChange& change,
                 const Transaction& txn, const ResolverProvider& resolvers);

}  // namespace parley
