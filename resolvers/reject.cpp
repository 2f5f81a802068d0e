// reject: optimistic concurrency in canonical order. A transaction is accepted only if every
// reject cell it writes still holds, among accepted transactions, exactly the version it read
// (its base); otherwise the whole transaction is rejected, so the first writer wins and
// writes built on rejected data are rejected too. An accepted write takes its cell.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

class RejectColumn final : public ColumnResolver {
 public:
  std::string_view name() const override { return "reject"; }
  CellStep meet(const CellWrite& w) const override {
    if (w.inPlaceDots != w.write.base)
      return CellStep::reject("column \"" + std::string(w.column) + "\" changed since the transaction read it");
    return CellStep::take();
  }
  // Never asked: meet() takes or rejects.
  CellResolution resolve(const CellConflict&) const override { return {CellOutcome::kKeepLocal, {}}; }
  bool orderSensitive() const override { return true; }
  bool replacesWhenSuperseded() const override { return false; }
  bool mayReject() const override { return true; }
};

class RejectRow final : public RowPolicy {
 public:
  std::string_view name() const override { return "reject"; }
  RowOutcome resolve(const RowConflict&) const override { return RowOutcome::kReject; }
  bool orderSensitive() const override { return true; }
  bool mayReject() const override { return true; }
};

}  // namespace

std::unique_ptr<ColumnResolver> makeReject() { return std::make_unique<RejectColumn>(); }
std::unique_ptr<RowPolicy> makeRowReject() { return std::make_unique<RejectRow>(); }

}  // namespace parley::resolvers
