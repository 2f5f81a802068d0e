// reject: optimistic concurrency. The engine accepts a transaction only if every reject cell
// it writes still holds the version it read; this strategy only names the kind.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

class RejectColumn final : public ColumnResolver {
 public:
  std::string_view name() const override { return "reject"; }
  ColumnKind kind() const override { return ColumnKind::kReject; }
  CellResolution resolve(const CellConflict&) const override { return {CellOutcome::kKeepLocal, {}}; }
  bool orderSensitive() const override { return true; }
};

class RejectRow final : public RowPolicy {
 public:
  std::string_view name() const override { return "reject"; }
  RowOutcome resolve(const RowConflict&) const override { return RowOutcome::kReject; }
  bool orderSensitive() const override { return true; }
};

}  // namespace

std::unique_ptr<ColumnResolver> makeReject() { return std::make_unique<RejectColumn>(); }
std::unique_ptr<RowPolicy> makeRowReject() { return std::make_unique<RejectRow>(); }

}  // namespace parley::resolvers
