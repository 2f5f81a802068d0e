// The column strategies and row policies a Registry holds. Internal to resolvers/.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "parley/resolver.hpp"
#include "parley/resolvers/registry.hpp"

namespace parley::resolvers {

enum class Pick { kLast, kFirst };

// lww / fww: keep the greater (kLast) or smaller (kFirst) stamp.
std::unique_ptr<ColumnResolver> makeTimestamp(Pick pick);
// merge and counter: deltas for numbers; `fallback` for the rest.
std::unique_ptr<ColumnResolver> makeMerge(std::string name, Pick fallback);
std::unique_ptr<ColumnResolver> makeCounter(std::string name, Pick fallback);
std::unique_ptr<ColumnResolver> makeReject();
// bounded (bound 0) and bounded:MIN.
std::unique_ptr<ColumnResolver> makeBounded(std::string name, std::int64_t bound);
std::unique_ptr<ColumnResolver> makeCallback(std::string name, Callback fn);

std::unique_ptr<RowPolicy> makeRowTimestamp(Pick pick);
std::unique_ptr<RowPolicy> makeRowMerge();
std::unique_ptr<RowPolicy> makeDeleteWins();
std::unique_ptr<RowPolicy> makeUpdateWins();
std::unique_ptr<RowPolicy> makeRowReject();

// The outcome of comparing stamps under `pick`.
CellOutcome pickByStamp(Pick pick, const Stamp& local, const Stamp& remote);

// merge's rule, which counter shares: numbers add the write's delta to the cell (set); other
// values are picked like lww/fww (take, ignore, join when equal, or resolve).
CellStep mergeStep(const CellWrite& w);

// merge, and the base of counter: meet() is mergeStep; concurrent non-numeric writes are
// picked by `fallback`.
class MergeColumn : public ColumnResolver {
 public:
  MergeColumn(std::string name, Pick fallback) : name_(std::move(name)), fallback_(fallback) {}
  std::string_view name() const override { return name_; }
  CellStep meet(const CellWrite& w) const override { return mergeStep(w); }
  CellResolution resolve(const CellConflict& c) const override {
    return {pickByStamp(fallback_, c.local.stamp, c.remote.stamp), {}};
  }
  // Deltas commute in exact arithmetic, but REAL additions round differently in different
  // orders: fold in canonical order so every site agrees to the bit.
  bool orderSensitive() const override { return true; }
  bool replacesWhenSuperseded() const override { return false; }
  bool foldsDeltas() const override { return true; }

 private:
  std::string name_;
  Pick fallback_;
};
// value + (plus - minus) for numbers, as SQLite would add them (integers stay integers unless
// they overflow). nullopt if any is not a number.
std::optional<Value> addNumbers(const Value& value, const Value& plus, const Value& minus);

}  // namespace parley::resolvers
