// lww and fww: the timestamp strategies, for cells and for rows.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

class TimestampColumn final : public ColumnResolver {
 public:
  explicit TimestampColumn(Pick pick) : pick_(pick) {}
  std::string_view name() const override { return pick_ == Pick::kLast ? "lww" : "fww"; }
  CellResolution resolve(const CellConflict& c) const override {
    return {pickByStamp(pick_, c.local.stamp, c.remote.stamp), {}};
  }
  bool orderSensitive() const override { return pick_ == Pick::kFirst; }

 private:
  Pick pick_;
};

// Insert/insert: the whole row of the winning insert. Update/delete, delete/update: the
// operation with the winning stamp.
class TimestampRow final : public RowPolicy {
 public:
  explicit TimestampRow(Pick pick) : pick_(pick) {}
  std::string_view name() const override { return pick_ == Pick::kLast ? "lww" : "fww"; }
  RowOutcome resolve(const RowConflict& c) const override {
    return pickByStamp(pick_, c.local, c.remote) == CellOutcome::kTakeRemote ? RowOutcome::kTakeRemote
                                                                             : RowOutcome::kKeepLocal;
  }
  bool orderSensitive() const override { return pick_ == Pick::kFirst; }

 private:
  Pick pick_;
};

}  // namespace

CellOutcome pickByStamp(Pick pick, const Stamp& local, const Stamp& remote) {
  bool remoteWins = pick == Pick::kLast ? remote > local : remote < local;
  return remoteWins ? CellOutcome::kTakeRemote : CellOutcome::kKeepLocal;
}

std::unique_ptr<ColumnResolver> makeTimestamp(Pick pick) { return std::make_unique<TimestampColumn>(pick); }
std::unique_ptr<RowPolicy> makeRowTimestamp(Pick pick) { return std::make_unique<TimestampRow>(pick); }

}  // namespace parley::resolvers
