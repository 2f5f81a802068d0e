// Column ids (core/schema_change.hpp) on the way in and out: a local commit folds rows with
// the columns' positions and encodes them with their ids; an apply decodes ids and folds
// positions. Tables whose ids are their positions (no column ever added or dropped) pass
// through untouched.
#pragma once

#include <optional>

#include "catalog.hpp"
#include "parley/transaction.hpp"
#include "handles.hpp"

namespace parley {

// REQUIRES: `change`'s columns are positions of `t`.
void toColumnIds(const TableInfo& t, RowChange& change);

// `t` with its columns as positions of the tables this site holds, in `scratch` when that
// changes anything (else `t` itself). Writes to dropped columns are left out; a column id the
// site does not know becomes a position no table has, which admission refuses.
const Transaction& withColumnPositions(TableLookup tables, const Transaction& t, std::optional<Transaction>& scratch);

}  // namespace parley
