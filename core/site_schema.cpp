// Site::Impl's schema changes (declared in site_impl.hpp): a user's ALTER TABLE or index
// statement on a tracked table, a track or a configure, checked and noted as SchemaChanges and
// logged as one schema transaction when the SQLite transaction commits; and a remote schema
// transaction applied in the apply engine's place.
//
// Every change is applied so that the order changes arrive in does not matter (DESIGN.md:
// the schema is the fold of the schema transactions): adding a column that exists is nothing,
// a rename or a configuration is a last-writer-wins register per column or table (by stamp),
// and an index is created once under its name. What loses is a row of the conflict log.
#include <fmt/format.h>

#include "row_meta.hpp"
#include "schema_text.hpp"
#include "site_impl.hpp"
#include "undo.hpp"

namespace parley {
namespace {

std::string withoutSpaceOrQuotes(std::string_view sql) {
  std::string out;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '`' || c == '[' || c == ']') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (std::string_view noise : {"ifnotexists"})
    if (auto at = out.find(noise); at != std::string::npos) out.erase(at, noise.size());
  return out;
}

// Whether two CREATE TABLE texts define the same table, up to case, spacing and quoting.
bool sameDefinition(std::string_view a, std::string_view b) { return withoutSpaceOrQuotes(a) == withoutSpaceOrQuotes(b); }

std::optional<std::string> schemaSql(sql::Db& db, const char* type, const std::string& name) {
  auto& find = db.cached("SELECT sql FROM sqlite_schema WHERE type = ?1 AND name = ?2");
  find.bindText(1, type).bindText(2, name);
  std::optional<std::string> sql;
  if (find.step() && !find.isNull(0)) sql = find.text(0);
  find.reset();
  return sql;
}

// The value rows get in column `column` of `table` when they never wrote it: its DEFAULT.
Value defaultOf(sql::Db& db, const std::string& table, const std::string& column) {
  auto& find = db.cached("SELECT dflt_value FROM pragma_table_info(?1) WHERE name = ?2");
  find.bindText(1, table).bindText(2, column);
  std::optional<std::string> expr;
  if (find.step() && !find.isNull(0)) expr = find.text(0);
  find.reset();
  if (!expr) return Value::null();
  sql::Stmt eval(db.raw(), "SELECT " + *expr);
  return eval.step() ? eval.value(0) : Value::null();
}

std::vector<std::uint32_t> idsOf(const TableInfo& t) {
  std::vector<std::uint32_t> ids;
  for (std::uint32_t i = 0; i < t.columns.size(); ++i) ids.push_back(t.idAt(i));
  return ids;
}

ConflictReport schemaConflict(const SchemaChange& lost, const Dot& dot, const Stamp& stamp, const std::string& reason,
                              bool remoteWon) {
  ConflictReport c;
  c.kind = ConflictKind::kSchema;
  c.table = lost.table;
  c.column = lost.name;
  c.resolver = "schema";
  c.remoteDot = dot;
  c.remoteStamp = stamp;
  c.outcome = remoteWon ? ConflictOutcome::kAppliedRemote : ConflictOutcome::kKeptLocal;
  c.remoteWon = remoteWon;
  c.reason = reason;
  return c;
}

void renameOverride(TableConfig& config, const std::string& from, const std::string& to) {
  auto it = config.overrides.find(from);
  if (it == config.overrides.end()) return;
  std::string strategy = it->second;
  config.overrides.erase(it);
  config.overrides[to] = strategy;
}

}  // namespace

TableInfo* Site::Impl::mutableTable(std::string_view name) {
  for (auto& t : state.tables)
    if (t->name == name) return t.get();
  return nullptr;
}

void Site::Impl::execDdl(const std::string& sql) {
  state.db.resetAll();  // a cached statement left mid-read would make SQLite refuse the DDL
  changingSchema = true;
  try {
    state.db.exec(sql);
  } catch (...) {
    changingSchema = false;
    throw;
  }
  changingSchema = false;
}

void Site::Impl::reshape(TableInfo& t, std::vector<std::uint32_t> ids, std::vector<std::optional<Value>> defaults,
                         std::vector<Stamp> renamedAt) {
  TableInfo now = inspectTable(state.db, t.name);
  now.id = t.id;
  now.trackedAt = t.trackedAt;
  now.configuredAt = t.configuredAt;
  now.droppedIds = t.droppedIds;
  bool positions = true;
  for (std::uint32_t i = 0; i < ids.size(); ++i) positions = positions && ids[i] == i;
  if (!positions || ids.size() != now.columns.size()) {
    now.ids = std::move(ids);
    defaults.resize(now.columns.size());
    renamedAt.resize(now.columns.size());
    now.addedDefaults = std::move(defaults);
    now.renamedAt = std::move(renamedAt);
  } else if (std::any_of(renamedAt.begin(), renamedAt.end(), [](const Stamp& s) { return s != Stamp{}; })) {
    now.renamedAt = std::move(renamedAt);
  }
  now.constrained = hasConstraints(state.db, now);
  prepareSql(now);
  prepareMetaSql(state.db, now);
  bindResolvers(now, t.config, *state.resolvers);
  t = std::move(now);
  capture.forgetTables();
  catalog::updateTable(state.db, t);
}

// --- a user's statement -----------------------------------------------------------------

void Site::Impl::beforeSchemaStatement() {
  if (const TableInfo* t = mutableTable(schemaStatement->table)) freezeBase(*t);
  droppingIndexSql.reset();
  if (schemaStatement->action == SQLITE_DROP_INDEX) droppingIndexSql = schemaSql(state.db, "index", schemaStatement->index);
  state.db.resetAll();  // what freezing read, left mid-read, would make SQLite refuse the DDL
}

void Site::Impl::noteSchemaStatement(sql::Stmt& stmt) {
  SchemaStatement st = std::move(*schemaStatement);
  schemaStatement.reset();
  TableInfo* t = mutableTable(st.table);
  if (!t) return;
  if (st.action == SQLITE_ALTER_TABLE) noteAlter(*t, sqlite3_sql(stmt.raw()));
  else noteIndex(*t, st);
}

void Site::Impl::noteAlter(TableInfo& t, std::string_view statement) {
  auto refuse = [&](const std::string& why) {
    throw Error(Status::invalidArgument(
        fmt::format("\"{}\" is replicated by parley: {}; nothing was changed", t.name, why)));
  };
  if (!schemaSql(state.db, "table", t.name)) refuse("renaming a tracked table is not supported");
  TableInfo now = inspectTable(state.db, t.name);
  if (now.pk != t.pk) refuse("its primary key cannot change");
  const auto& before = t.columns;
  const auto& after = now.columns;
  std::vector<std::uint32_t> ids = idsOf(t);
  std::vector<std::optional<Value>> defaults = t.addedDefaults;
  std::vector<Stamp> renamed = t.renamedAt;
  defaults.resize(before.size());
  renamed.resize(before.size());
  if (after.size() == before.size() + 1 && std::equal(before.begin(), before.end(), after.begin())) {
    const std::string& name = after.back();
    std::uint32_t id = columnIdFor(name);
    if (t.positionOfId(id) || t.dropped(id))
      refuse(fmt::format("a column named \"{}\" existed in it before (renamed or dropped); choose another name", name));
    auto definition = addedColumnDefinition(statement);
    if (!definition) refuse("this ALTER TABLE could not be read as ADD COLUMN");
    freezeBase(t);
    ids.push_back(id);
    defaults.push_back(defaultOf(state.db, t.name, name));
    renamed.emplace_back();
    reshape(t, std::move(ids), std::move(defaults), std::move(renamed));
    pendingSchema.push_back({SchemaChange::Kind::kAddColumn, t.name, name, *definition, "", id});
    return;
  }
  if (after.size() + 1 == before.size()) {
    std::uint32_t gone = 0;
    while (gone < after.size() && before[gone] == after[gone]) ++gone;
    if (!std::equal(after.begin() + gone, after.end(), before.begin() + gone + 1)) refuse("this change of its columns is not supported");
    SchemaChange c{SchemaChange::Kind::kDropColumn, t.name, before[gone], "", "", t.idAt(gone)};
    freezeBase(t);
    forgetColumn(t, gone);
    pendingSchema.push_back(std::move(c));
    return;
  }
  if (after.size() != before.size()) refuse("this change of its columns is not supported");
  std::optional<std::uint32_t> changed;
  for (std::uint32_t i = 0; i < after.size(); ++i)
    if (before[i] != after[i]) {
      if (changed) refuse("rename one column at a time");
      changed = i;
    }
  if (!changed) return;
  freezeBase(t);
  SchemaChange c{SchemaChange::Kind::kRenameColumn, t.name, before[*changed], "", after[*changed], ids[*changed]};
  renameOverride(t.config, c.name, c.text);
  reshape(t, std::move(ids), std::move(defaults), std::move(renamed));
  pendingSchema.push_back(std::move(c));
}

void Site::Impl::noteIndex(TableInfo& t, const SchemaStatement& st) {
  if (st.action == SQLITE_DROP_INDEX) {
    freezeBase(t);
    std::string dropped = std::exchange(droppingIndexSql, std::nullopt).value_or("");
    pendingSchema.push_back({SchemaChange::Kind::kDropIndex, t.name, st.index, dropped, "", 0});
    if (isUniqueIndexSql(dropped)) {
      pendingSchemaUndo.push_back({SchemaUndo::Kind::kCreateIndex, t.name, st.index, dropped, {}});
      refreshConstraints(t);
    }
    return;
  }
  auto sql = schemaSql(state.db, "index", st.index);
  if (!sql) return;  // CREATE INDEX IF NOT EXISTS of one that exists
  freezeBase(t);
  pendingSchema.push_back({SchemaChange::Kind::kCreateIndex, t.name, st.index, *sql, "", 0});
  // SQLite refused it here if rows held duplicates; a duplicate written elsewhere that sorts
  // before it undoes it there and here alike (applyUniqueIndex).
  if (isUniqueIndexSql(*sql)) {
    pendingSchemaUndo.push_back({SchemaUndo::Kind::kDropIndex, t.name, st.index, "", {}});
    refreshConstraints(t);
  }
}

void Site::Impl::refreshConstraints(TableInfo& t) {
  t.constrained = hasConstraints(state.db, t);
  bindResolvers(t, t.config, *state.resolvers);
  capture.forgetTables();
}

void Site::Impl::logPendingSchema() {
  if (pendingSchema.empty()) return;
  std::vector<RowChange> rows;
  for (std::size_t i = 0; i < pendingSchema.size(); ++i) rows.push_back(toRow(pendingSchema[i], i));
  Stamp stamp = commitSchema(state, std::move(rows));
  Dot dot{state.id, state.vector.get(state.id)};
  store::saveUndoBody(state, dot, encodeSchemaUndo(pendingSchemaUndo));  // its place among applies, if nothing else
  pendingSchemaUndo.clear();
  bool orderDependent = std::any_of(pendingSchema.begin(), pendingSchema.end(),
                                    [](const SchemaChange& c) { return isOrderDependent(c); });
  if (orderDependent && (!state.orderBarrier || *state.orderBarrier < stamp.hlc)) {
    store::raiseOrderBarrier(state.db, stamp.hlc);
    state.orderBarrier = stamp.hlc;
  }
  for (const auto& c : pendingSchema) {
    TableInfo* t = mutableTable(c.table);
    if (!t) continue;
    if (c.kind == SchemaChange::Kind::kUntrack) {
      markUntracking(*t, dot);
      continue;
    }
    if (c.kind == SchemaChange::Kind::kTrack) t->trackedAt = t->configuredAt = stamp;
    if (c.kind == SchemaChange::Kind::kConfigure) t->configuredAt = stamp;
    if (c.kind == SchemaChange::Kind::kAddColumn) keepColumnDefinition(t->name, c.id, {stamp, c.sql, false});
    if (c.kind == SchemaChange::Kind::kRenameColumn)
      if (auto pos = t->positionOfId(c.id)) {
        t->renamedAt.resize(t->columns.size());
        t->renamedAt[*pos] = stamp;
      }
    catalog::updateTable(state.db, *t);
    recordShape(*t);
  }
  pendingSchema.clear();
}

void Site::Impl::forgetPendingSchema() {
  pendingSchemaUndo.clear();
  droppingIndexSql.reset();
  if (pendingSchema.empty()) return;
  pendingSchema.clear();
  loadTables();
}

// --- a remote schema transaction ---------------------------------------------------------

void Site::Impl::applySchemaTransaction(const Transaction& t, std::vector<ConflictReport>& conflicts,
                                        std::vector<SchemaUndo>& undo) {
  auto changes = schemaChanges(t);
  for (const auto& change : changes) applyChange(change, t.stamp(), t.dot, conflicts, undo);
  capture.forgetTables();
  for (const auto& change : changes)
    if (const TableInfo* table = mutableTable(change.table); table && table->trackedAt != Stamp{} && !table->untracking())
      recordShape(*table);
}

void Site::Impl::undoSchemaTransaction(const Transaction&, const std::vector<SchemaUndo>& undo) {
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
    TableInfo* table = mutableTable(it->table);
    if (!table) continue;  // forgotten since (its untrack is final): nothing of it folds any more
    switch (it->kind) {
      case SchemaUndo::Kind::kConfig: applyConfigure(*table, it->text, it->stamp); break;
      case SchemaUndo::Kind::kDropIndex: execDdl("DROP INDEX IF EXISTS " + sql::quoteIdent(it->name)); break;
      case SchemaUndo::Kind::kCreateIndex:
        if (!schemaSql(state.db, "index", it->name)) execDdl(it->text);
        break;
    }
    if (it->kind != SchemaUndo::Kind::kConfig) refreshConstraints(*table);
    if (table->trackedAt != Stamp{} && !table->untracking()) recordShape(*table);
  }
  capture.forgetTables();
}

void Site::Impl::applyChange(const SchemaChange& c, const Stamp& stamp, const Dot& dot,
                             std::vector<ConflictReport>& conflicts, std::vector<SchemaUndo>& undo) {
  using Kind = SchemaChange::Kind;
  if (c.kind == Kind::kTrack) return applyTrack(c, stamp, undo);
  TableInfo* t = mutableTable(c.table);
  if (!t)
    throw Error(Status::invalidArgument(fmt::format(
        "transaction {}: {} names a table this site does not track", dot.toString(), c.describe())));
  switch (c.kind) {
    case Kind::kAddColumn: return applyAddColumn(*t, c, dot, stamp, conflicts);
    case Kind::kRenameColumn: return applyRename(*t, c, dot, stamp, conflicts);
    case Kind::kDropColumn: return applyDropColumn(*t, c, dot, stamp, conflicts);
    case Kind::kConfigure:
      if (stamp < t->configuredAt) {
        conflicts.push_back(schemaConflict(c, dot, stamp, "a later configuration of the table is in force", false));
        return;
      }
      return applyConfigure(*t, c.text, stamp, &undo);
    case Kind::kCreateIndex: {
      auto existing = schemaSql(state.db, "index", c.name);
      if (!existing && isUniqueIndexSql(c.sql)) {
        applyUniqueIndex(*t, c, dot, stamp, conflicts, undo);
      } else if (!existing) {
        freezeBase(*t);
        execDdl(c.sql);
      } else if (!sameDefinition(*existing, c.sql)) {
        conflicts.push_back(schemaConflict(c, dot, stamp, "an index of that name with another definition exists", false));
      }
      return;
    }
    case Kind::kUntrack: return applyUntrack(*t, dot);
    case Kind::kDropIndex: return applyDropIndex(*t, c, undo);
    default:
      throw Error(Status::unsupported(fmt::format(
          "transaction {}: {} is a schema change this program does not know; upgrade parley", dot.toString(),
          c.describe())));
  }
}

void Site::Impl::applyUniqueIndex(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                                  std::vector<ConflictReport>& conflicts, std::vector<SchemaUndo>& undo) {
  freezeBase(t);
  try {
    execDdl(c.sql);
  } catch (const Error& e) {
    if (e.status().code() != Status::Code::kConstraint) throw;
    auto key = duplicatedKey(t, c.sql);
    ConflictReport lost = schemaConflict(
        c, dot, stamp,
        fmt::format("UNIQUE index \"{}\" not created: rows of \"{}\" hold duplicates of its key{}", c.name, t.name,
                    key ? " (" + *key + ")" : ""),
        false);
    if (key) lost.localValue = Value::text(*key);
    conflicts.push_back(std::move(lost));
    return;
  }
  undo.push_back({SchemaUndo::Kind::kDropIndex, t.name, c.name, "", {}});
  refreshConstraints(t);
}

std::optional<std::string> Site::Impl::duplicatedKey(const TableInfo& t, const std::string& createIndex) {
  auto key = schema_text::indexKey(createIndex);
  if (key.terms.empty()) return std::nullopt;
  std::string shown, terms, notNull;
  for (const auto& term : key.terms) {
    shown += (shown.empty() ? "quote(" : " || ', ' || quote(") + term + ")";
    terms += (terms.empty() ? "" : ", ") + term;
    notNull += " AND (" + term + ") IS NOT NULL";
  }
  std::string sql = fmt::format("SELECT {} FROM {}{} GROUP BY {} HAVING count(*) > 1{} ORDER BY {} LIMIT 1", shown,
                                sql::quoteIdent(t.name), key.where.empty() ? "" : " WHERE " + key.where, terms, notNull,
                                terms);
  try {
    sql::Stmt find(state.db.raw(), sql);
    if (find.step() && !find.isNull(0)) return find.text(0);
  } catch (const Error&) {
    // A key this reading of the statement cannot query: the conflict names the index alone.
  }
  return std::nullopt;
}

void Site::Impl::applyDropIndex(TableInfo& t, const SchemaChange& c, std::vector<SchemaUndo>& undo) {
  freezeBase(t);
  auto existing = schemaSql(state.db, "index", c.name);
  if (!existing) return;
  execDdl("DROP INDEX " + sql::quoteIdent(c.name));
  if (!isUniqueIndexSql(*existing)) return;
  undo.push_back({SchemaUndo::Kind::kCreateIndex, t.name, c.name, *existing, {}});
  refreshConstraints(t);
}

void Site::Impl::applyTrack(const SchemaChange& c, const Stamp& stamp, std::vector<SchemaUndo>& undo) {
  auto config = TableConfig::parse(c.text);
  if (!config) throw Error(Status::corruption("schema change: " + config.status().message()));
  auto existing = schemaSql(state.db, "table", c.table);
  if (existing && !sameDefinition(*existing, c.sql))
    throw Error(Status::invalidArgument(fmt::format(
        "table \"{}\" is defined differently here ({}) and at the site that tracked it ({}); sites must agree on a "
        "table's definition: rename or drop it at one site (then clone that site anew), or change it through parley",
        c.table, *existing, c.sql)));
  // Tracked again after an untrack that is not final here yet: the site that tracked it again
  // held it final, so every write concurrent with the untrack is in this change's causal past,
  // held here: the untrack is done here too.
  if (TableInfo* t = mutableTable(c.table); t && t->untracking()) forgetTable(*t);
  if (TableInfo* t = mutableTable(c.table)) {  // tracked here too, the same way: one table
    if (t->trackedAt != Stamp{} && stamp < t->trackedAt) t->trackedAt = stamp;
    if (stamp > t->configuredAt && *config != t->config) applyConfigure(*t, c.text, stamp, &undo);
    catalog::updateTable(state.db, *t);
    return;
  }
  if (existing) {
    sql::Stmt any(state.db.raw(), fmt::format("SELECT 1 FROM {} LIMIT 1", sql::quoteIdent(c.table)));
    if (any.step())
      throw Error(Status::invalidArgument(fmt::format(
          "table \"{}\" has rows here but is not tracked, while another site tracks it; track it here too or "
          "rename it, then sync again",
          c.table)));
  } else {
    execDdl(c.sql);
  }
  TableInfo t = inspectTable(state.db, c.table);
  t.constrained = hasConstraints(state.db, t);
  bindResolvers(t, *config, *state.resolvers);
  t.trackedAt = t.configuredAt = stamp;
  catalog::saveTable(state.db, t);
  catalog::saveConfig(state.db, t, "", state.clock.nowMillis());
  createGuards(t);
  state.tables.push_back(std::make_unique<TableInfo>(std::move(t)));
}

void Site::Impl::applyAddColumn(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                                std::vector<ConflictReport>& conflicts) {
  if (t.dropped(c.id)) return;  // dropped since
  if (auto pos = t.positionOfId(c.id)) return settleColumnDefinition(t, *pos, c, dot, stamp, conflicts);  // added here too
  if (t.columnIndex(c.name)) {
    conflicts.push_back(schemaConflict(c, dot, stamp, "another column of the table has that name", false));
    return;
  }
  freezeBase(t);
  execDdl(fmt::format("ALTER TABLE {} ADD COLUMN {}", sql::quoteIdent(t.name), c.sql));
  std::vector<std::uint32_t> ids = idsOf(t);
  std::vector<std::optional<Value>> defaults = t.addedDefaults;
  std::vector<Stamp> renamed = t.renamedAt;
  defaults.resize(t.columns.size());
  renamed.resize(t.columns.size());
  ids.push_back(c.id);
  defaults.push_back(defaultOf(state.db, t.name, c.name));
  renamed.emplace_back();
  reshape(t, std::move(ids), std::move(defaults), std::move(renamed));
  if (t.columns.back() != c.name)
    throw Error(Status::corruption(fmt::format("transaction {}: {} added a column named \"{}\"", dot.toString(),
                                               c.describe(), t.columns.back())));
  keepColumnDefinition(t.name, c.id, {stamp, c.sql, false});
}

void Site::Impl::applyRename(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                             std::vector<ConflictReport>& conflicts) {
  auto pos = t.positionOfId(c.id);
  if (!pos) return;  // dropped since
  std::vector<Stamp> renamed = t.renamedAt;
  renamed.resize(t.columns.size());
  if (stamp < renamed[*pos]) {
    conflicts.push_back(schemaConflict(c, dot, stamp, "a later rename of the column is in force", false));
    return;
  }
  if (t.columns[*pos] != c.text) {
    if (t.columnIndex(c.text)) {
      conflicts.push_back(schemaConflict(c, dot, stamp, "another column of the table has that name", false));
      return;
    }
    freezeBase(t);
    execDdl(fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {}", sql::quoteIdent(t.name),
                        sql::quoteIdent(t.columns[*pos]), sql::quoteIdent(c.text)));
    renameOverride(t.config, t.columns[*pos], c.text);
  }
  renamed[*pos] = stamp;
  reshape(t, idsOf(t), t.addedDefaults, std::move(renamed));
}

void Site::Impl::applyDropColumn(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                                 std::vector<ConflictReport>& conflicts) {
  auto pos = t.positionOfId(c.id);
  if (!pos) return;  // dropped here too
  freezeBase(t);
  // An index on the column made concurrently (the origin had to drop its own first): the drop
  // wins, the index goes.
  std::vector<std::string> indexes;
  auto& find = state.db.cached(
      "SELECT DISTINCT il.name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii "
      "WHERE ii.name = ?2 AND il.origin = 'c'");
  find.bindText(1, t.name).bindText(2, t.columns[*pos]);
  while (find.step()) indexes.push_back(find.text(0));
  find.reset();
  for (const auto& index : indexes) {
    execDdl("DROP INDEX " + sql::quoteIdent(index));
    SchemaChange lost{SchemaChange::Kind::kCreateIndex, t.name, index, "", "", 0};
    conflicts.push_back(schemaConflict(lost, dot, stamp, "its column was dropped", true));
  }
  execDdl(fmt::format("ALTER TABLE {} DROP COLUMN {}", sql::quoteIdent(t.name), sql::quoteIdent(t.columns[*pos])));
  forgetColumn(t, *pos);
}

void Site::Impl::forgetColumn(TableInfo& t, std::uint32_t pos) {
  std::size_t before = t.columns.size();
  std::vector<std::uint32_t> ids = idsOf(t);
  std::vector<std::optional<Value>> defaults = t.addedDefaults;
  std::vector<Stamp> renamed = t.renamedAt;
  defaults.resize(before);
  renamed.resize(before);
  t.droppedIds.push_back(ids[pos]);
  t.config.overrides.erase(t.columns[pos]);
  ids.erase(ids.begin() + pos);
  defaults.erase(defaults.begin() + pos);
  renamed.erase(renamed.begin() + pos);
  // Every row's metadata, in its own row or a bulk insert's range, loses the column's cell.
  auto narrow = [&](std::string_view blob) {
    RowMeta meta = decodeRowMeta(blob, state.sites, before);
    meta.cells.erase(meta.cells.begin() + pos);
    if (!meta.alive && meta.tombstone.size() > pos) meta.tombstone.erase(meta.tombstone.begin() + pos);
    return encodeRowMeta(meta, state.db, state.sites);
  };
  std::string rows = fmt::format("\"parley_rows_{}\"", t.id);
  {
    std::vector<std::pair<Value, std::string>> metas;
    sql::Stmt all(state.db.raw(), "SELECT pk, meta FROM " + rows);
    while (all.step()) metas.push_back({all.value(0), narrow(all.blob(1))});
    sql::Stmt write(state.db.raw(), "UPDATE " + rows + " SET meta = ?2 WHERE pk = ?1");
    for (auto& [pk, meta] : metas) {
      write.bind(1, pk).bindBlob(2, meta);
      write.run();
      write.reset();
    }
  }
  {
    std::vector<std::pair<std::int64_t, std::string>> metas;
    sql::Stmt all(state.db.raw(), "SELECT lo, meta FROM parley_ranges WHERE tbl = ?1");
    all.bind(1, t.id);
    while (all.step()) metas.push_back({all.int64(0), narrow(all.blob(1))});
    sql::Stmt write(state.db.raw(), "UPDATE parley_ranges SET meta = ?3 WHERE tbl = ?1 AND lo = ?2");
    for (auto& [lo, meta] : metas) {
      write.bind(1, t.id).bind(2, lo).bindBlob(3, meta);
      write.run();
      write.reset();
    }
  }
  // Undo records keep whole rows and metadata of the width they were written at.
  std::vector<Dot> undone;
  {
    // In the order they were saved, so that saving them again keeps that order.
    store::visitUndo(state, [&](const Dot& dot, std::string_view body) {
      if (!isSchemaUndo(body)) undone.push_back(dot);  // a schema transaction's names no rows
    });
  }
  for (const Dot& dot : undone) {
    auto entries = store::takeUndo(state, dot);
    for (auto& e : entries) {
      if (e.table != t.id) continue;
      if (e.meta) e.meta = narrow(*e.meta);
      if (e.values && e.values->size() > pos && !e.key.empty()) e.values->erase(e.values->begin() + pos);
    }
    store::saveUndo(state, dot, entries);
  }
  reshape(t, std::move(ids), std::move(defaults), std::move(renamed));
  recomputeDigest(t);
}

void Site::Impl::applyConfigure(TableInfo& t, const std::string& text, const Stamp& stamp,
                                std::vector<SchemaUndo>* undo) {
  auto config = TableConfig::parse(text);
  if (!config) throw Error(Status::corruption("schema change: " + config.status().message()));
  freezeBase(t);
  if (undo) undo->push_back({SchemaUndo::Kind::kConfig, t.name, "", t.config.toString(), t.configuredAt});
  TableInfo updated = t;
  bindResolvers(updated, *config, *state.resolvers);
  std::string before = t.config.toString();
  updated.configuredAt = stamp;
  catalog::saveConfig(state.db, updated, before, state.clock.nowMillis());
  t = std::move(updated);
  catalog::updateTable(state.db, t);
}

}  // namespace parley
