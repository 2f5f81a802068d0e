// merge and counter: numeric cells fold deltas (the engine applies new - old); non-numeric
// concurrent writes fall back to a timestamp pick.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

class MergeColumn final : public ColumnResolver {
 public:
  MergeColumn(ColumnKind kind, std::string name, Pick fallback)
      : kind_(kind), name_(std::move(name)), fallback_(fallback) {}
  std::string_view name() const override { return name_; }
  ColumnKind kind() const override { return kind_; }
  CellResolution resolve(const CellConflict& c) const override {
    return {pickByStamp(fallback_, c.local.stamp, c.remote.stamp), {}};
  }
  // Deltas commute in exact arithmetic, but REAL additions round differently in different
  // orders: fold in canonical order so every site agrees to the bit.
  bool orderSensitive() const override { return true; }

 private:
  ColumnKind kind_;
  std::string name_;
  Pick fallback_;
};

}  // namespace

std::unique_ptr<ColumnResolver> makeMerge(ColumnKind kind, std::string name, Pick fallback) {
  return std::make_unique<MergeColumn>(kind, std::move(name), fallback);
}

}  // namespace parley::resolvers
