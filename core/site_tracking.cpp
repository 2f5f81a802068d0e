// Tracking a table and configuring its resolvers: what Site::track and Site::configure do
// inside their write transaction.
#include <algorithm>

#include <fmt/format.h>

#include "site_impl.hpp"

namespace parley {

void Site::Impl::track(std::string_view name, const std::optional<TableConfig>& config, bool replicate) {
  if (const TableInfo* t = state.table(name))
    throw Error(Status::invalidArgument(t->untracking() ? untrackingMessage(t->name)
                                                        : fmt::format("table \"{}\" is already tracked", name))
                    .withContext("track"));
  requireGuards();
  TableInfo t = inspectTable(state.db, name);
  t.constrained = hasConstraints(state.db, t);
  bindResolvers(t, config ? *config : state.resolvers->defaults(), *state.resolvers);
  catalog::saveTable(state.db, t);
  catalog::saveConfig(state.db, t, "", state.clock.nowMillis());
  createGuards(t);
  state.tables.push_back(std::make_unique<TableInfo>(std::move(t)));
  const TableInfo& tracked = *state.tables.back();
  if (replicate) noteTrack(tracked);
  sql::Stmt all(state.db.raw(), tracked.selectAll);
  while (all.step()) {
    Row pk;
    for (auto k : tracked.pk) pk.push_back(all.value(static_cast<int>(k)));
    capture.touch(tracked, pk);
  }
}

void Site::Impl::configure(std::string_view name, const TableConfig& config) {
  auto it = std::find_if(state.tables.begin(), state.tables.end(), [&](const auto& t) { return t->name == name; });
  if (it == state.tables.end()) throw Error(Status::notFound(fmt::format("table \"{}\" is not tracked", name)).withContext("configure"));
  TableInfo updated = **it;
  bindResolvers(updated, config, *state.resolvers);
  bool replicated = (*it)->trackedAt != Stamp{};
  bool sensitiveAfter = updated.orderSensitive;
  for (const auto& t : state.tables) sensitiveAfter = sensitiveAfter || (t.get() != it->get() && t->orderSensitive);
  if (!replicated && !state.orderSensitive()) checkCanBecomeOrderSensitive(sensitiveAfter, "configure");
  std::string before = (*it)->config.toString();
  if (replicated)
    pendingSchemaUndo.push_back({SchemaUndo::Kind::kConfig, (*it)->name, "", before, (*it)->configuredAt});
  catalog::saveConfig(state.db, updated, before, state.clock.nowMillis());
  **it = std::move(updated);
  // A table tracked everywhere is configured everywhere by one schema transaction; one
  // tracked by hand at each site is configured by hand at each (the fingerprint compares).
  if (replicated)
    pendingSchema.push_back({SchemaChange::Kind::kConfigure, (*it)->name, "", "", config.toString(), 0});
}

void Site::Impl::noteTrack(const TableInfo& t) {
  pendingSchema.push_back({SchemaChange::Kind::kTrack, t.name, "", *tableSql(t.name), t.config.toString(), 0});
  sql::Stmt indexes(state.db.raw(),
                    "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name");
  indexes.bindText(1, t.name);
  while (indexes.step())
    pendingSchema.push_back({SchemaChange::Kind::kCreateIndex, t.name, indexes.text(0), indexes.text(1), "", 0});
}

}  // namespace parley
