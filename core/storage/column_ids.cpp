#include "column_ids.hpp"

#include <algorithm>
#include <limits>

namespace parley {
namespace {

bool renumbered(TableLookup tables, const Transaction& t) {
  return std::any_of(t.rows.begin(), t.rows.end(), [&](const RowChange& row) {
    const TableInfo* table = tables.named(row.table);
    return table && (!table->ids.empty() || !table->droppedIds.empty());
  });
}

void toPositions(const TableInfo& t, RowChange& row) {
  std::erase_if(row.columns, [&](const ColumnWrite& w) { return t.dropped(w.column); });
  for (auto& w : row.columns)
    w.column = t.positionOfId(w.column).value_or(std::numeric_limits<std::uint32_t>::max());
}

}  // namespace

void toColumnIds(const TableInfo& t, RowChange& change) {
  if (t.ids.empty()) return;
  for (auto& w : change.columns) w.column = t.ids[w.column];
}

const Transaction& withColumnPositions(TableLookup tables, const Transaction& t, std::optional<Transaction>& scratch) {
  if (!renumbered(tables, t)) return t;
  scratch = t;
  for (auto& row : scratch->rows)
    if (const TableInfo* table = tables.named(row.table)) toPositions(*table, row);
  return *scratch;
}

}  // namespace parley
