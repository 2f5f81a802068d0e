// The basic timestamp strategies and a provider that uses one strategy everywhere.
//
// lww: a concurrent write wins iff its stamp (HLC, site id) is greater than the local one.
//      Order-insensitive: applying on arrival equals folding in canonical order.
// fww: a concurrent write wins iff its stamp is smaller: the first writer keeps the cell.
//      Order-sensitive: a late arrival with an earlier stamp makes the engine re-fold.
// The row policies follow the same rule for insert/delete and update/delete conflicts;
// insert/insert merges column by column.
#pragma once

#include <memory>
#include <string_view>

#include "parley/resolver.hpp"

namespace parley::resolvers {

class LastWriterWins final : public ColumnResolver, public RowPolicy {
 public:
  std::string_view name() const override { return "lww"; }
  CellResolution resolve(const CellConflict& conflict) const override;
  RowOutcome resolve(const RowConflict& conflict) const override;
  bool orderSensitive() const override { return false; }
};

class FirstWriterWins final : public ColumnResolver, public RowPolicy {
 public:
  std::string_view name() const override { return "fww"; }
  CellResolution resolve(const CellConflict& conflict) const override;
  RowOutcome resolve(const RowConflict& conflict) const override;
  bool orderSensitive() const override { return true; }
};

// Every column of every table resolved by lww.
std::shared_ptr<const ResolverProvider> lwwEverywhere();
// Every column of every table resolved by fww.
std::shared_ptr<const ResolverProvider> fwwEverywhere();

}  // namespace parley::resolvers
