// merge: numeric cells fold deltas. A write adds new - old to whatever the cell holds
// (GoldenGate USEDELTA; exactly new when the cell still holds old), so concurrent withdrawals
// both count. Non-numeric concurrent writes fall back to a timestamp pick.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

double asDouble(const Value& v) {
  return v.type() == Value::Type::kInteger ? static_cast<double>(v.asInteger()) : v.asReal();
}

}  // namespace

std::optional<Value> addNumbers(const Value& value, const Value& plus, const Value& minus) {
  if (!value.isNumeric() || !plus.isNumeric() || !minus.isNumeric()) return std::nullopt;
  using T = Value::Type;
  if (value.type() == T::kInteger && plus.type() == T::kInteger && minus.type() == T::kInteger) {
    std::int64_t delta, sum;
    if (!__builtin_sub_overflow(plus.asInteger(), minus.asInteger(), &delta) &&
        !__builtin_add_overflow(value.asInteger(), delta, &sum)) {
      return Value::integer(sum);
    }
  }
  return Value::real(asDouble(value) + (asDouble(plus) - asDouble(minus)));
}

CellStep mergeStep(const CellWrite& w) {
  const ColumnWrite& write = w.write;
  if (w.inPlace == write.oldValue && write.newValue.isNumeric() && write.oldValue.isNumeric())
    return CellStep::set(write.newValue);  // in place is what the writer read: exactly its after-image
  if (auto sum = addNumbers(w.inPlace, write.newValue, write.oldValue)) return CellStep::set(std::move(*sum));
  if (w.relation == CellRelation::kSupersedes) return CellStep::take();
  if (w.relation == CellRelation::kReflected) return CellStep::ignore();
  if (w.inPlace == write.newValue) return CellStep::join();
  return CellStep::resolve();
}

std::unique_ptr<ColumnResolver> makeMerge(std::string name, Pick fallback) {
  return std::make_unique<MergeColumn>(std::move(name), fallback);
}

}  // namespace parley::resolvers
