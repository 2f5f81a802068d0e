// Row-existence policies other than the timestamp ones.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

// Insert/insert: keep the row and resolve each column with its own strategy.
class RowMerge final : public RowPolicy {
 public:
  std::string_view name() const override { return "merge"; }
  RowOutcome resolve(const RowConflict&) const override { return RowOutcome::kMergeColumns; }
  bool orderSensitive() const override { return false; }
};

// A concurrent delete beats an update (deleteWins) or loses to it (update-wins, resurrect).
class ExistencePolicy final : public RowPolicy {
 public:
  explicit ExistencePolicy(bool deleteWins) : deleteWins_(deleteWins) {}
  std::string_view name() const override { return deleteWins_ ? "delete-wins" : "update-wins"; }
  RowOutcome resolve(const RowConflict& c) const override {
    if (c.kind == RowConflictKind::kInsertInsert) return RowOutcome::kMergeColumns;
    bool incomingDeletes = c.kind == RowConflictKind::kDeleteUpdate;
    return incomingDeletes == deleteWins_ ? RowOutcome::kTakeRemote : RowOutcome::kKeepLocal;
  }
  bool orderSensitive() const override { return true; }

 private:
  bool deleteWins_;
};

}  // namespace

std::unique_ptr<RowPolicy> makeRowMerge() { return std::make_unique<RowMerge>(); }
std::unique_ptr<RowPolicy> makeDeleteWins() { return std::make_unique<ExistencePolicy>(true); }
std::unique_ptr<RowPolicy> makeUpdateWins() { return std::make_unique<ExistencePolicy>(false); }

}  // namespace parley::resolvers
