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

class CounterColumn final : public ColumnResolver {
 public:
  CounterColumn(std::string name, Pick fallback) : name_(std::move(name)), fallback_(fallback) {}
  std::string_view name() const override { return name_; }
  CellStep meet(const CellWrite& w) const override {
    CellStep step = mergeStep(w);
    if (step.action == CellStep::Action::kSet) step.contribution = integerDelta(w.write);
    return step;
  }
  CellResolution resolve(const CellConflict& c) const override {
    return {pickByStamp(fallback_, c.local.stamp, c.remote.stamp), {}};
  }
  // As merge: REAL deltas round differently in different orders.
  bool orderSensitive() const override { return true; }
  bool replacesWhenSuperseded() const override { return false; }
  bool keepsContributions() const override { return true; }
  bool foldsDeltas() const override { return true; }

 private:
  std::string name_;
  Pick fallback_;
};

}  // namespace

std::unique_ptr<ColumnResolver> makeCounter(std::string name, Pick fallback) {
  return std::make_unique<CounterColumn>(std::move(name), fallback);
}

}  // namespace parley::resolvers
