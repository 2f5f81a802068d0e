// counter: a PN-counter CRDT over a numeric cell. The value folds as merge does (each write
// adds new - old); each cell also keeps every origin site's contribution, grown by its
// integer deltas, so the value is the initial one plus the sum of the contributions. A plain
// `SET balance = balance - 100` is a -100 increment.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

// new - old, when both are integers and it fits.
std::optional<std::int64_t> integerDelta(const ColumnWrite& w) {
  if (w.newValue.type() != Value::Type::kInteger || w.oldValue.type() != Value::Type::kInteger) return std::nullopt;
  std::int64_t delta;
  if (__builtin_sub_overflow(w.newValue.asInteger(), w.oldValue.asInteger(), &delta)) return std::nullopt;
  return delta;
}

// merge's fold, plus each origin's contribution grown by its integer deltas.
class CounterColumn final : public MergeColumn {
 public:
  using MergeColumn::MergeColumn;
  CellStep meet(const CellWrite& w) const override {
    CellStep step = mergeStep(w);
    if (step.action == CellStep::Action::kSet) step.contribution = integerDelta(w.write);
    return step;
  }
  bool keepsContributions() const override { return true; }
};

}  // namespace

std::unique_ptr<ColumnResolver> makeCounter(std::string name, Pick fallback) {
  return std::make_unique<CounterColumn>(std::move(name), fallback);
}

}  // namespace parley::resolvers
