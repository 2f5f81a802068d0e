#include "parley/resolvers/basic.hpp"

#include <string>

namespace parley::resolvers {
namespace {

// Uses one strategy for every column and row.
template <class Strategy>
class UniformProvider final : public ResolverProvider {
 public:
  const ColumnResolver& column(std::string_view, std::string_view) const override { return s_; }
  const RowPolicy& row(std::string_view) const override { return s_; }
  bool orderSensitive() const override { return asColumn().orderSensitive(); }
  std::string fingerprint() const override { return "default=" + std::string(asColumn().name()); }

 private:
  const ColumnResolver& asColumn() const { return s_; }
  Strategy s_;
};

RowOutcome rowByStamp(const RowConflict& c, bool remoteWinsIfGreater) {
  if (c.kind == RowConflictKind::kInsertInsert) return RowOutcome::kMergeColumns;
  bool remoteGreater = c.remote > c.local;
  return remoteGreater == remoteWinsIfGreater ? RowOutcome::kTakeRemote : RowOutcome::kKeepLocal;
}

}  // namespace

CellResolution LastWriterWins::resolve(const CellConflict& c) const {
  return {c.remote.stamp > c.local.stamp ? CellOutcome::kTakeRemote : CellOutcome::kKeepLocal, {}};
}

RowOutcome LastWriterWins::resolve(const RowConflict& c) const { return rowByStamp(c, true); }

CellResolution FirstWriterWins::resolve(const CellConflict& c) const {
  return {c.remote.stamp < c.local.stamp ? CellOutcome::kTakeRemote : CellOutcome::kKeepLocal, {}};
}

RowOutcome FirstWriterWins::resolve(const RowConflict& c) const { return rowByStamp(c, false); }

std::shared_ptr<const ResolverProvider> lwwEverywhere() {
  return std::make_shared<UniformProvider<LastWriterWins>>();
}

std::shared_ptr<const ResolverProvider> fwwEverywhere() {
  return std::make_shared<UniformProvider<FirstWriterWins>>();
}

}  // namespace parley::resolvers
