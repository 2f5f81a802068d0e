// The standard strategies, by name, and the registry that hands them to sites.
//
// Column strategies:
//   lww            concurrent writes: the greater stamp (HLC, site id) wins
//   fww            concurrent writes: the smaller stamp wins (the first writer keeps the cell)
//   merge          numeric: apply the delta new - old; otherwise lww (merge/fww: otherwise fww)
//   counter        a PN-counter: deltas add up per origin site; otherwise lww (counter/fww)
//   bounded        an integer that never goes below 0 at any site (bounded:MIN: below MIN);
//                  sites spend rights they hold (parley/resolvers/bounded.hpp)
//   reject         a transaction whose reject cells changed since it read them is rejected
//   callback:NAME  a function registered with addCallback(NAME, ...)
//   any other      a ColumnResolver registered with addColumn()
// Row policies (insert/insert, update/delete, delete/update):
//   merge (insert/insert only: column by column), lww, fww, delete-wins, update-wins, reject.
//
// A Registry is immutable once shared with sites; register callbacks first. Every site of a
// cluster must register the same callbacks under the same names: names are part of the schema
// fingerprint, code is not, so keeping the functions the same is the application's contract.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "parley/resolver.hpp"
#include "parley/status.hpp"

namespace parley::resolvers {

struct CallbackArgs {
  std::string_view table;
  std::string_view column;
  const Row& pk;
  const Value& base;    // what the incoming write overwrote at its origin (its before-image)
  CellVersion local;    // the version in place
  CellVersion remote;   // the incoming write
};

// Returns the cell's value after the conflict. Must be deterministic.
using Callback = std::function<Value(const CallbackArgs&)>;

class Registry final : public ResolverProvider {
 public:
  explicit Registry(TableConfig defaults = {});
  ~Registry() override;

  // Makes the strategy "callback:NAME" available. Fails if NAME is taken or malformed.
  Status addCallback(const std::string& name, Callback fn);
  // Makes a column strategy defined elsewhere available under its name() (the extension
  // point: a new strategy implements ColumnResolver, parley/resolver.hpp). Fails if the name
  // is taken or malformed (empty, white space, '=' or '"').
  Status addColumn(std::unique_ptr<ColumnResolver> strategy);

  const ColumnResolver* column(std::string_view strategy) const override;
  const RowPolicy* row(std::string_view policy) const override;
  TableConfig defaults() const override { return defaults_; }

 private:
  TableConfig defaults_;
  std::map<std::string, std::unique_ptr<ColumnResolver>, std::less<>> columns_;
  std::map<std::string, std::unique_ptr<RowPolicy>, std::less<>> rows_;
  // bounded:MIN strategies, made at their first use (any MIN may be configured).
  mutable std::mutex boundedMutex_;
  mutable std::map<std::string, std::unique_ptr<ColumnResolver>, std::less<>> bounded_;
};

// A registry whose default configuration is `defaults`.
std::shared_ptr<Registry> standard(TableConfig defaults = {});
// Registries whose tables default to lww (resp. fww) for columns and row policies.
std::shared_ptr<const ResolverProvider> lwwEverywhere();
std::shared_ptr<const ResolverProvider> fwwEverywhere();

}  // namespace parley::resolvers
