#include "parley/resolvers/registry.hpp"

#include "parley/resolvers/bounded.hpp"
#include "strategies.hpp"

namespace parley::resolvers {

Registry::Registry(TableConfig defaults) : defaults_(std::move(defaults)) {
  columns_.emplace("lww", makeTimestamp(Pick::kLast));
  columns_.emplace("fww", makeTimestamp(Pick::kFirst));
  columns_.emplace("merge", makeMerge("merge", Pick::kLast));
  columns_.emplace("merge/fww", makeMerge("merge/fww", Pick::kFirst));
  columns_.emplace("counter", makeCounter("counter", Pick::kLast));
  columns_.emplace("counter/fww", makeCounter("counter/fww", Pick::kFirst));
  columns_.emplace("reject", makeReject());
  columns_.emplace("bounded", makeBounded("bounded", 0));
  rows_.emplace("merge", makeRowMerge());
  rows_.emplace("lww", makeRowTimestamp(Pick::kLast));
  rows_.emplace("fww", makeRowTimestamp(Pick::kFirst));
  rows_.emplace("delete-wins", makeDeleteWins());
  rows_.emplace("update-wins", makeUpdateWins());
  rows_.emplace("reject", makeRowReject());
}

Registry::~Registry() = default;

Status Registry::addCallback(const std::string& name, Callback fn) {
  if (name.empty() || name.find_first_of(" =") != std::string::npos)
    return Status::invalidArgument("callback name \"" + name + "\" must be non-empty, without spaces or '='");
  if (!fn) return Status::invalidArgument("callback \"" + name + "\" has no function");
  std::string key = "callback:" + name;
  if (columns_.count(key)) return Status::invalidArgument("callback \"" + name + "\" is already registered");
  columns_.emplace(std::move(key), makeCallback(name, std::move(fn)));
  return Status::ok();
}

Status Registry::addColumn(std::unique_ptr<ColumnResolver> strategy) {
  if (!strategy) return Status::invalidArgument("addColumn: no strategy");
  std::string name(strategy->name());
  if (name.empty() || name.find_first_of(" \t\n=\"") != std::string::npos)
    return Status::invalidArgument("strategy name \"" + name + "\" must be non-empty, without white space, '=' or '\"'");
  if (columns_.count(name)) return Status::invalidArgument("strategy \"" + name + "\" is already registered");
  columns_.emplace(std::move(name), std::move(strategy));
  return Status::ok();
}

const ColumnResolver* Registry::column(std::string_view strategy) const {
  auto it = columns_.find(strategy);
  if (it != columns_.end()) return it->second.get();
  auto bound = bounded::boundOf(strategy);
  if (!bound) return nullptr;
  std::string name = "bounded:" + std::to_string(*bound);  // one spelling per bound
  if (name != strategy) return nullptr;
  std::lock_guard<std::mutex> lock(boundedMutex_);
  auto& made = bounded_[name];
  if (!made) made = makeBounded(name, *bound);
  return made.get();
}

const RowPolicy* Registry::row(std::string_view policy) const {
  auto it = rows_.find(policy);
  return it == rows_.end() ? nullptr : it->second.get();
}

std::shared_ptr<Registry> standard(TableConfig defaults) { return std::make_shared<Registry>(std::move(defaults)); }

std::shared_ptr<const ResolverProvider> lwwEverywhere() { return standard(); }

std::shared_ptr<const ResolverProvider> fwwEverywhere() {
  TableConfig c;
  c.columns = "fww";
  c.insertInsert = "merge";
  c.updateDelete = "fww";
  c.deleteUpdate = "fww";
  return standard(c);
}

}  // namespace parley::resolvers
