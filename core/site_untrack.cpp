// Untracking a table (Site::untrack, README "Changing the schema"): parley stops replicating it
// and its rows stay as a plain SQLite table.
//
// A table tracked by hand at each site (Site::track) is untracked at this site only, at once,
// like its tracking was. A table tracked everywhere is untracked by a schema transaction
// (SchemaChange::kUntrack). At a site that holds it, local writes to the table are no longer
// captured (they have the untrack in their causal past, so they are not replicated anywhere),
// and its guards go. A write made at a site that had not heard of the untrack yet is concurrent
// with it: it still reaches every site and folds there as it would have, so every site's rows
// are the fold of the same writes, whatever order they came in. The table's replication
// metadata stays until the untrack is final at the site (every member holds it and this site
// holds every write the members made before they did): no concurrent write can still arrive,
// and parley forgets the table. Until then the table's schema cannot change (the remote writes
// still to come were made for it) and it cannot be tracked again.
#include "row_meta.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

std::string untrackKey(const std::string& table) { return "untrack:" + table; }

std::optional<Dot> parseDot(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto site = SiteId::fromHex(text.substr(0, colon));
  if (!site) return std::nullopt;
  std::uint64_t seq = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return Dot{*site, seq};
}

void deleteMeta(sql::Db& db, const std::string& key) {
  sql::Stmt del(db.raw(), "DELETE FROM parley_meta WHERE key = ?1");
  del.bindText(1, key);
  del.run();
}

}  // namespace

std::string Site::Impl::untrackingMessage(const std::string& table) {
  return fmt::format(
      "table \"{}\" is being untracked: until every site holds the untrack (sync with each), writes made before "
      "they heard of it still arrive, so its schema cannot change and it cannot be tracked again; its rows can "
      "be read and written",
      table);
}

void Site::Impl::dropGuards(const TableInfo& t) {
  changingGuards = true;
  try {
    for (const char* op : {"INSERT", "UPDATE", "DELETE"})
      state.db.exec(fmt::format("DROP TRIGGER IF EXISTS {}", sql::quoteIdent(fmt::format("parley_guard_{}_{}", t.name, op))));
  } catch (...) {
    changingGuards = false;
    throw;
  }
  changingGuards = false;
}

bool Site::Impl::deniesWhileUntracking(int action, const char* table) {
  if (applying || changingSchema || !table) return false;
  if (action != SQLITE_ALTER_TABLE && action != SQLITE_CREATE_INDEX && action != SQLITE_DROP_INDEX) return false;
  const TableInfo* t = state.table(table);
  if (!t || !t->untracking()) return false;
  deniedUntracking = t->name;
  return true;
}

void Site::Impl::untrack(std::string_view name) {
  TableInfo* t = mutableTable(name);
  if (!t) throw Error(Status::notFound(fmt::format("table \"{}\" is not tracked", name)));
  if (t->untracking()) throw Error(Status::invalidArgument(untrackingMessage(t->name)));
  requireGuards();
  if (t->trackedAt == Stamp{}) return forgetTable(*t);  // tracked by hand here: untracked here
  pendingSchema.push_back({SchemaChange::Kind::kUntrack, t->name, "", "", "", 0});
}

void Site::Impl::applyUntrack(TableInfo& t, const Dot& dot) {
  if (t.untracking()) return;  // untracked concurrently here too: either untrack does
  markUntracking(t, dot);
}

void Site::Impl::markUntracking(TableInfo& t, const Dot& dot) {
  t.untrackedBy = dot;
  catalog::setMeta(state.db, untrackKey(t.name), fmt::format("{}:{}", dot.site.hex(), dot.seq));
  dropGuards(t);
  capture.forgetTables();
}

void Site::Impl::loadUntracks() {
  for (auto& t : state.tables) {
    auto text = catalog::metaText(state.db, untrackKey(t->name));
    if (!text) continue;
    auto dot = parseDot(*text);
    if (!dot) throw Error(Status::corruption(fmt::format("parley_meta: bad untrack of \"{}\": {}", t->name, *text)));
    t->untrackedBy = *dot;
  }
}

void Site::Impl::finishUntracks() {
  std::vector<const TableInfo*> done;
  for (const auto& t : state.tables) {
    if (!t->untracking()) continue;
    auto decision = store::decisionOf(state, *t->untrackedBy);
    if (decision && decision->second) done.push_back(t.get());
  }
  for (const TableInfo* t : done) forgetTable(*t);
}

void Site::Impl::forgetTable(const TableInfo& t) {
  state.db.resetAll();  // a cached statement on its metadata, left mid-read, would keep it locked
  dropGuards(t);
  std::int64_t id = t.id;
  std::string name = t.name;
  state.db.exec(fmt::format("DROP TABLE IF EXISTS \"parley_rows_{}\"", id));
  {
    sql::Stmt ranges(state.db.raw(), "DELETE FROM parley_ranges WHERE tbl = ?1");
    ranges.bind(1, id);
    ranges.run();
    sql::Stmt table(state.db.raw(), "DELETE FROM parley_tables WHERE id = ?1");
    table.bind(1, id);
    table.run();
  }
  for (const char* prefix : {"untrack:", "shape:", "base:"}) deleteMeta(state.db, prefix + name);
  {
    sql::Stmt definitions(state.db.raw(), "DELETE FROM parley_meta WHERE substr(key, 1, length(?1)) = ?1");
    definitions.bindText(1, "column:" + name + ":");
    definitions.run();
  }
  state.digests.set(id, Digest128{});  // a table tracked later may get its id
  state.digests.invalidateDeltas();
  store::flushDigests(state);
  std::erase_if(state.tables, [&](const auto& held) { return held->id == id; });
  capture.forgetTables();
}

}  // namespace parley
