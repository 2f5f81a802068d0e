// callback:NAME — a user function decides concurrent writes.
#include "strategies.hpp"

namespace parley::resolvers {
namespace {

class CallbackColumn final : public ColumnResolver {
 public:
  CallbackColumn(std::string name, Callback fn) : name_("callback:" + std::move(name)), fn_(std::move(fn)) {}
  std::string_view name() const override { return name_; }
  CellResolution resolve(const CellConflict& c) const override {
    Value v = fn_({c.table, c.column, c.pk, c.remoteOld, c.local, c.remote});
    if (v == c.local.value) return {CellOutcome::kKeepLocal, {}};
    if (v == c.remote.value) return {CellOutcome::kTakeRemote, {}};
    return {CellOutcome::kMerged, std::move(v)};
  }
  // A user function may depend on which version is in place: fold it in canonical order.
  bool orderSensitive() const override { return true; }

 private:
  std::string name_;
  Callback fn_;
};

}  // namespace

std::unique_ptr<ColumnResolver> makeCallback(std::string name, Callback fn) {
  return std::make_unique<CallbackColumn>(std::move(name), std::move(fn));
}

}  // namespace parley::resolvers
