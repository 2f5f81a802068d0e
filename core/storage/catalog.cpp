#include "catalog.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "codec.hpp"

namespace parley {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE parley_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE parley_sites(idx INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE);
CREATE TABLE parley_tables(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, columns BLOB NOT NULL,
                           config TEXT NOT NULL);
CREATE TABLE parley_config_changes(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, tbl TEXT NOT NULL,
                                   before TEXT, after TEXT NOT NULL);
CREATE TABLE parley_log(id INTEGER PRIMARY KEY,  -- site << 40 | seq (store::logKey)
                        hlc INTEGER NOT NULL, body BLOB NOT NULL, rejected INTEGER NOT NULL DEFAULT 0,
                        ctx BLOB,  -- the full causal context, or NULL (core/causal_context.hpp)
                        hash BLOB,  -- its hash chain hash (Transaction::hash), or NULL if it has none
                        digests BLOB,  -- what its commit or apply call changed in the digests, or NULL
                        applied INTEGER,  -- its undo record's place in application order (undo.hpp)
                        undo BLOB,  -- its undo record; NULL while undone
                        site INTEGER GENERATED ALWAYS AS (id >> 40) VIRTUAL,
                        seq INTEGER GENERATED ALWAYS AS (id & 1099511627775) VIRTUAL);
CREATE TABLE parley_ranges(tbl INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
                           site INTEGER NOT NULL, seq INTEGER NOT NULL, meta BLOB NOT NULL,
                           PRIMARY KEY(tbl, lo)) WITHOUT ROWID;
CREATE INDEX parley_ranges_by_txn ON parley_ranges(site, seq);
CREATE TABLE parley_final(site INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE parley_acks(site INTEGER PRIMARY KEY, vector BLOB NOT NULL, last_sync_ms INTEGER);
CREATE TABLE parley_compacted(site INTEGER PRIMARY KEY, seq INTEGER NOT NULL, context BLOB,
                              hash BLOB);  -- the hash of transaction (site, seq), if it had one
CREATE TABLE parley_divergence(peer BLOB PRIMARY KEY, name TEXT NOT NULL, detected_ms INTEGER NOT NULL,
                               message TEXT NOT NULL);
CREATE TABLE parley_digests(tbl INTEGER PRIMARY KEY, high INTEGER NOT NULL, low INTEGER NOT NULL);
CREATE TABLE parley_digest_base(site INTEGER PRIMARY KEY, seq INTEGER NOT NULL);  -- what parley_digests counts
CREATE TABLE parley_clock_skew(  -- origins whose transactions arrived beyond the skew bound (clock_skew.hpp)
  site INTEGER PRIMARY KEY, source INTEGER NOT NULL, ahead_ms INTEGER NOT NULL, at_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL, remote_ms INTEGER NOT NULL);
CREATE TABLE parley_conflicts(
  id INTEGER PRIMARY KEY,
  txn_site INTEGER NOT NULL,   -- the transaction decided: the incoming write, later in canonical order
  txn_seq INTEGER NOT NULL,
  tbl TEXT NOT NULL,
  pk TEXT NOT NULL,            -- the key, as SQL literals
  pk_key BLOB NOT NULL,
  col TEXT NOT NULL,           -- '' for row-level conflicts
  kind TEXT NOT NULL,          -- cell, insert/insert, update/delete, delete/update, rejected
  resolver TEXT NOT NULL,
  local_value, local_dots TEXT NOT NULL, local_hlc INTEGER NOT NULL, local_site TEXT NOT NULL,
  remote_value, remote_dot TEXT NOT NULL, remote_hlc INTEGER NOT NULL, remote_site TEXT NOT NULL,
  result_value,
  outcome TEXT NOT NULL,       -- applied-remote, kept-local, merged, rejected
  wanted_value,                -- for rejected writes: the value the writer wanted
  reason TEXT NOT NULL,
  final INTEGER NOT NULL DEFAULT 0,
  detected_ms INTEGER NOT NULL,
  UNIQUE(txn_site, txn_seq, tbl, pk_key, col, kind));
)sql";

[[noreturn]] void refuse(std::string_view table, const std::string& why) {
  throw Error(Status::unsupported(fmt::format("table \"{}\" {}", table, why)).withContext("track"));
}

std::string keyWhere(const TableInfo& t, int firstParam) {
  std::string out;
  for (std::size_t i = 0; i < t.pk.size(); ++i) {
    if (i) out += " AND ";
    out += fmt::format("{} IS ?{}", sql::quoteIdent(t.columns[t.pk[i]]), firstParam + static_cast<int>(i));
  }
  return out;
}

std::string columnList(const TableInfo& t) {
  std::string out;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) out += ", ";
    out += sql::quoteIdent(t.columns[i]);
  }
  return out;
}

void checkKeyCollation(sql::Db& db, const TableInfo& t) {
  for (auto k : t.pk) {
    const char* collation = nullptr;
    if (sqlite3_table_column_metadata(db.raw(), "main", t.name.c_str(), t.columns[k].c_str(), nullptr,
                                      &collation, nullptr, nullptr, nullptr) != SQLITE_OK) {
      continue;
    }
    if (collation && std::string_view(collation) != "BINARY") {
      refuse(t.name, fmt::format("has key column \"{}\" with COLLATE {}: keys equal under it but "
                                 "not byte for byte would identify different rows at other sites",
                                 t.columns[k], collation));
    }
  }
}

}  // namespace

std::optional<std::uint32_t> TableInfo::columnIndex(std::string_view column) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == column) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

std::optional<std::uint32_t> TableInfo::positionOfId(std::uint32_t id) const {
  if (ids.empty()) return id < columns.size() ? std::optional(id) : std::nullopt;
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == id) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

bool TableInfo::dropped(std::uint32_t id) const {
  return std::find(droppedIds.begin(), droppedIds.end(), id) != droppedIds.end();
}

TableInfo inspectTable(sql::Db& db, std::string_view table) {
  if (table.starts_with("parley_") || table.starts_with("sqlite_"))
    refuse(table, "is internal: parley_ and sqlite_ tables cannot be tracked");
  auto& kind = db.cached("SELECT type, sql FROM sqlite_schema WHERE name = ?1 AND type IN ('table','view')");
  kind.bindText(1, table);
  if (!kind.step()) throw Error(Status::notFound(fmt::format("no such table: \"{}\"", table)).withContext("track"));
  if (kind.text(0) == "view") refuse(table, "is a view; track the tables it reads instead");
  if (kind.text(1).starts_with("CREATE VIRTUAL")) refuse(table, "is a virtual table");

  TableInfo t;
  t.name = std::string(table);
  std::vector<std::pair<int, std::uint32_t>> keyOrder;
  sql::Stmt info(db.raw(), "SELECT name, pk, hidden FROM pragma_table_xinfo(?1)");
  info.bindText(1, table);
  while (info.step()) {
    std::string column = info.text(0);
    if (info.int64(2) != 0)
      refuse(table, fmt::format("has generated column \"{}\"; parley replicates stored values only", column));
    if (info.int64(1) > 0) keyOrder.push_back({static_cast<int>(info.int64(1)), static_cast<std::uint32_t>(t.columns.size())});
    t.columns.push_back(std::move(column));
  }
  if (keyOrder.empty())
    refuse(table, "has no PRIMARY KEY; parley needs one to identify rows across sites");
  std::sort(keyOrder.begin(), keyOrder.end());
  t.isKey.assign(t.columns.size(), false);
  for (auto& [order, index] : keyOrder) {
    t.pk.push_back(index);
    t.isKey[index] = true;
  }
  checkKeyCollation(db, t);
  prepareSql(t);
  return t;
}

void prepareSql(TableInfo& t) {
  std::string name = sql::quoteIdent(t.name);
  std::string cols = columnList(t);
  t.selectByKey = fmt::format("SELECT {} FROM {} WHERE {}", cols, name, keyWhere(t, 1));
  t.selectAll = fmt::format("SELECT {} FROM {}", cols, name);
  std::string params;
  for (std::size_t i = 0; i < t.columns.size(); ++i) params += fmt::format("{}?{}", i ? ", " : "", i + 1);
  t.insertRow = fmt::format("INSERT INTO {} ({}) VALUES ({})", name, cols, params);
  std::string sets;
  int n = 0;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i]) continue;
    sets += fmt::format("{}{} = ?{}", n ? ", " : "", sql::quoteIdent(t.columns[i]), n + 1);
    ++n;
  }
  t.updateRow = n ? fmt::format("UPDATE {} SET {} WHERE {}", name, sets, keyWhere(t, n + 1)) : "";
  t.deleteRow = fmt::format("DELETE FROM {} WHERE {}", name, keyWhere(t, 1));
}

// Whether the key is the table's rowid (INTEGER PRIMARY KEY): always an integer.
bool rowidKey(sql::Db& db, const TableInfo& t) {
  if (t.pk.size() != 1) return false;
  const char* type = nullptr;
  if (sqlite3_table_column_metadata(db.raw(), "main", t.name.c_str(), t.columns[t.pk[0]].c_str(), &type, nullptr,
                                    nullptr, nullptr, nullptr) != SQLITE_OK || !type) {
    return false;
  }
  std::string declared(type);
  for (auto& c : declared) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (declared != "INTEGER") return false;
  // WITHOUT ROWID tables and the "INTEGER PRIMARY KEY DESC" quirk keep their key in an index.
  sql::Stmt index(db.raw(), "SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk'");
  index.bindText(1, t.name);
  return !index.step();
}

namespace {

// Statements for 64 rows, and for 8 (a transaction's last few rows pad at most 7 NULLs).
constexpr int kBatchSizes[] = {64, 8};

std::string params(int first, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += fmt::format("{}?{}", i ? ", " : "", first + i);
  return out;
}

// "(?1, ?2), (?3, ?4), ..." : `rows` tuples of `width` parameters.
std::string tuples(int rows, int width) {
  std::string out;
  for (int r = 0; r < rows; ++r) out += fmt::format("{}({})", r ? ", " : "", params(r * width + 1, width));
  return out;
}

// Fills the batch SQL of `t` (row_batch.hpp reads it) for statements of at most `maxParams`
// parameters. REQUIRES: t.integerKey and t.id are set.
void prepareBatchSql(TableInfo& t, int maxParams) {
  std::string meta = fmt::format("\"parley_rows_{}\"", t.id);
  std::string name = sql::quoteIdent(t.name);
  std::string key = sql::quoteIdent(t.columns[t.pk[0]]);
  int nonKey = static_cast<int>(t.columns.size()) - 1;
  std::string cols;
  for (const auto& c : t.columns) cols += ", parley_r." + sql::quoteIdent(c);
  std::string state = fmt::format(
      "SELECT parley_m.pk, parley_m.meta, parley_r.{} IS NOT NULL{} FROM {} AS parley_m LEFT JOIN {} AS parley_r "
      "ON parley_r.{} = parley_m.pk WHERE parley_m.pk ",
      key, cols, meta, name, key);
  t.stateRange = state + "BETWEEN ?1 AND ?2 ORDER BY parley_m.pk";
  t.valuesRange = fmt::format("SELECT parley_r.{}{} FROM {} AS parley_r WHERE parley_r.{} BETWEEN ?1 AND ?2 ORDER BY 1", key,
                              cols, name, key);
  // An upsert whose insert branch never runs (the rows exist): unlike UPDATE ... FROM VALUES,
  // which SQLite materializes, it streams the tuples and seeks each key once.
  std::string names = key, picks = "column1", sets;
  int n = 0;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i]) continue;
    std::string column = sql::quoteIdent(t.columns[i]);
    names += ", " + column;
    picks += fmt::format(", column{}", n + 2);
    sets += fmt::format("{}{} = excluded.{}", n ? ", " : "", column, column);
    ++n;
  }
  t.batches.clear();
  for (int size : kBatchSizes) {
    int rows = std::max(1, std::min(size, maxParams / (nonKey + 1)));
    if (!t.batches.empty() && t.batches.back().rows == rows) continue;
    TableInfo::BatchSql b;
    b.rows = rows;
    b.stateSelect = state + fmt::format("IN ({}) ORDER BY parley_m.pk", params(1, rows));
    b.metaWrite = fmt::format(
        "INSERT OR REPLACE INTO {}(pk, meta) SELECT column1, column2 FROM (VALUES {}) WHERE column1 IS NOT NULL", meta,
        tuples(rows, 2));
    if (n)
      b.update = fmt::format("INSERT INTO {}({}) SELECT {} FROM (VALUES {}) WHERE column1 IS NOT NULL "
                             "ON CONFLICT({}) DO UPDATE SET {}",
                             name, names, picks, tuples(rows, n + 1), key, sets);
    t.batches.push_back(std::move(b));
  }
}

}  // namespace

void prepareMetaSql(sql::Db& db, TableInfo& t) {
  t.integerKey = rowidKey(db, t);
  std::string meta = fmt::format("\"parley_rows_{}\"", t.id);
  t.metaSelect = fmt::format("SELECT meta FROM {} WHERE pk = ?1", meta);
  t.metaInsert = fmt::format("INSERT INTO {}(pk, meta) VALUES (?1, ?2)", meta);
  t.metaUpdate = fmt::format("UPDATE {} SET meta = ?2 WHERE pk = ?1", meta);
  t.metaDelete = fmt::format("DELETE FROM {} WHERE pk = ?1", meta);
  t.metaBatchInsert = fmt::format("INSERT INTO {}(pk, meta) SELECT k, v FROM parley_meta_batch(?1)", meta);
  t.metaBatchUpsert = fmt::format("INSERT INTO {}(pk, meta) SELECT k, v FROM parley_meta_batch(?1) WHERE true "
                                  "ON CONFLICT(pk) DO UPDATE SET meta = excluded.meta", meta);
  // One statement for apply's two reads; the joined row's leading 1 tells a stored row apart
  // from the NULLs of an absent one.
  t.stateSelect = fmt::format("SELECT parley_m.meta, parley_r.* FROM {} AS parley_m LEFT JOIN (SELECT 1, {} FROM {} WHERE {}) "
                              "AS parley_r ON 1 WHERE parley_m.pk = ?1",
                              meta, columnList(t), sql::quoteIdent(t.name), keyWhere(t, 2));
  if (t.integerKey) prepareBatchSql(t, sqlite3_limit(db.raw(), SQLITE_LIMIT_VARIABLE_NUMBER, -1));
}

void bindResolvers(TableInfo& t, const TableConfig& config, const ResolverProvider& provider) {
  for (const auto& [column, strategy] : config.overrides) {
    auto index = t.columnIndex(column);
    if (!index) throw Error(Status::invalidArgument(fmt::format("resolver config: table \"{}\" has no column \"{}\"", t.name, column)));
    if (t.isKey[*index])
      throw Error(Status::invalidArgument(fmt::format("resolver config: \"{}\" is a key column; keys are not resolved", column)));
  }
  auto columnResolver = [&](const std::string& strategy, const std::string& column) {
    const ColumnResolver* r = provider.column(strategy);
    if (!r) throw Error(Status::invalidArgument(fmt::format(
        "resolver config: unknown strategy \"{}\" for column \"{}\" (known: lww, fww, merge, merge/fww, "
        "counter, counter/fww, bounded, bounded:MIN, reject, callback:NAME, or one registered with addColumn)", strategy, column)));
    return r;
  };
  auto rowPolicy = [&](const std::string& policy, const char* conflict) {
    const RowPolicy* p = provider.row(policy);
    if (!p || (policy == "merge" && std::string_view(conflict) != "insert/insert"))
      throw Error(Status::invalidArgument(fmt::format("resolver config: unknown {} policy \"{}\"", conflict, policy)));
    return p;
  };
  columnResolver(config.columns, "(default)");
  t.resolvers.assign(t.columns.size(), nullptr);
  t.traits.assign(t.columns.size(), {});
  t.orderSensitive = t.constrained;
  t.mayReject = t.constrained;
  t.checksLocalWrites = false;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i]) continue;
    const ColumnResolver* r = columnResolver(config.strategyFor(t.columns[i]), t.columns[i]);
    t.resolvers[i] = r;
    t.traits[i] = {r->replacesWhenSuperseded(), r->keepsContributions(), r->foldsDeltas(), r->checksLocalWrites()};
    t.orderSensitive = t.orderSensitive || r->orderSensitive();
    t.mayReject = t.mayReject || r->mayReject();
    t.checksLocalWrites = t.checksLocalWrites || r->checksLocalWrites();
  }
  t.insertInsert = rowPolicy(config.insertInsert, "insert/insert");
  t.updateDelete = rowPolicy(config.updateDelete, "update/delete");
  t.deleteUpdate = rowPolicy(config.deleteUpdate, "delete/update");
  for (const RowPolicy* p : {t.insertInsert, t.updateDelete, t.deleteUpdate}) {
    t.orderSensitive = t.orderSensitive || p->orderSensitive();
    t.mayReject = t.mayReject || p->mayReject();
  }
  t.config = config;
}

bool hasConstraints(sql::Db& db, const TableInfo& t) {
  sql::Stmt unique(db.raw(), "SELECT 1 FROM pragma_index_list(?1) WHERE \"unique\" AND origin <> 'pk'");
  unique.bindText(1, t.name);
  if (unique.step()) return true;
  sql::Stmt fk(db.raw(),
               "SELECT 1 FROM pragma_foreign_key_list(?1) UNION ALL "
               "SELECT 1 FROM sqlite_schema s, pragma_foreign_key_list(s.name) f "
               "WHERE s.type = 'table' AND f.\"table\" = ?1 COLLATE NOCASE");
  fk.bindText(1, t.name);
  if (fk.step()) return true;
  sql::Stmt check(db.raw(), "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  check.bindText(1, t.name);
  if (!check.step()) return false;
  std::string text = check.text(0);
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text.find("CHECK") != std::string::npos;
}

void SiteTable::load(sql::Db& db) {
  ids_.assign(1, SiteId{});
  index_.clear();
  sql::Stmt s(db.raw(), "SELECT idx, id FROM parley_sites ORDER BY idx");
  while (s.step()) {
    auto idx = static_cast<std::uint32_t>(s.int64(0));
    auto bytes = s.blob(1);
    SiteId id = SiteId::fromBytes(bytes.data(), bytes.size());
    if (ids_.size() <= idx) ids_.resize(idx + 1);
    ids_[idx] = id;
    index_[id] = idx;
  }
}

std::uint32_t SiteTable::indexOf(sql::Db& db, const SiteId& id) {
  if (auto found = find(id)) return *found;
  auto idx = static_cast<std::uint32_t>(ids_.size());
  auto& insert = db.cached("INSERT INTO parley_sites(idx, id) VALUES (?1, ?2)");
  insert.bind(1, static_cast<std::int64_t>(idx)).bindBlob(2, {reinterpret_cast<const char*>(id.bytes.data()), 16});
  insert.run();
  ids_.push_back(id);
  index_[id] = idx;
  return idx;
}

const SiteId& SiteTable::idAt(std::uint32_t idx) const {
  if (idx == 0 || idx >= ids_.size())
    throw Error(Status::corruption("metadata: unknown site index " + std::to_string(idx)));
  return ids_[idx];
}

std::optional<std::uint32_t> SiteTable::find(const SiteId& id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

namespace catalog {

bool isSite(sql::Db& db) {
  sql::Stmt s(db.raw(), "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'parley_meta'");
  return s.step();
}

void createSchema(sql::Db& db) { db.exec(kSchema); }

void upgrade(sql::Db& db) {
  auto format = metaText(db, "format");
  if (format != "7") return;
  // 7 -> 8: undo records move into the log rows; those in parley_undo stay there until taken
  // or compacted (undo.hpp). Adding columns rewrites nothing.
  db.exec("BEGIN IMMEDIATE");
  try {
    if (metaText(db, "format") == "7") {
      db.exec("ALTER TABLE parley_log ADD COLUMN applied INTEGER; ALTER TABLE parley_log ADD COLUMN undo BLOB");
      setMeta(db, "format", std::to_string(kFormatVersion));
    }
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
}

std::optional<std::string> metaText(sql::Db& db, std::string_view key) {
  auto& s = db.cached("SELECT value FROM parley_meta WHERE key = ?1");
  s.bindText(1, key);
  if (!s.step()) return std::nullopt;
  auto b = s.blob(0);
  return std::string(b);
}

void setMeta(sql::Db& db, std::string_view key, std::string_view value) {
  auto& s = db.cached("INSERT OR REPLACE INTO parley_meta(key, value) VALUES (?1, ?2)");
  s.bindText(1, key).bindBlob(2, value);
  s.run();
}

SiteId metaId(sql::Db& db, std::string_view key) {
  auto bytes = metaText(db, key);
  if (!bytes || bytes->size() != 16) throw Error(Status::corruption(fmt::format("site metadata: bad {}", key)));
  return SiteId::fromBytes(bytes->data(), 16);
}

void setMetaId(sql::Db& db, std::string_view key, const SiteId& id) {
  setMeta(db, key, std::string_view(reinterpret_cast<const char*>(id.bytes.data()), 16));
}

namespace {

void writeStamp(codec::Writer& w, const Stamp& s) {
  w.varint(s.hlc.value);
  w.raw({reinterpret_cast<const char*>(s.site.bytes.data()), s.site.bytes.size()});
}

Stamp readStamp(codec::Reader& r) {
  Stamp s;
  s.hlc.value = r.varint();
  auto raw = r.raw(s.site.bytes.size());
  s.site = SiteId::fromBytes(raw.data(), raw.size());
  return s;
}

// The columns blob of parley_tables: names, key positions and, once the schema changed, a
// section with the column ids, added columns' defaults, dropped ids and stamps.
std::string shapeBlob(const TableInfo& t) {
  std::string blob;
  codec::Writer w(blob);
  w.varint(t.columns.size());
  for (const auto& c : t.columns) w.bytes(c);
  w.varint(t.pk.size());
  for (auto k : t.pk) w.varint(k);
  bool changed = !t.ids.empty() || !t.droppedIds.empty() || t.trackedAt != Stamp{} || t.configuredAt != Stamp{} ||
                 std::any_of(t.renamedAt.begin(), t.renamedAt.end(), [](const Stamp& s) { return s != Stamp{}; });
  if (!changed) return blob;
  w.varint(1);  // the section's version
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    w.varint(t.idAt(static_cast<std::uint32_t>(i)));
    bool hasDefault = i < t.addedDefaults.size() && t.addedDefaults[i];
    w.varint(hasDefault ? 1 : 0);
    if (hasDefault) w.value(*t.addedDefaults[i]);
    writeStamp(w, i < t.renamedAt.size() ? t.renamedAt[i] : Stamp{});
  }
  w.varint(t.droppedIds.size());
  for (auto id : t.droppedIds) w.varint(id);
  writeStamp(w, t.trackedAt);
  writeStamp(w, t.configuredAt);
  return blob;
}

void readSchemaSection(codec::Reader& r, TableInfo& t) {
  if (r.done()) return;
  if (r.varint() != 1) throw Error(Status::corruption("parley_tables: unknown shape section"));
  std::size_t n = t.columns.size();
  t.ids.resize(n);
  t.addedDefaults.resize(n);
  t.renamedAt.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    t.ids[i] = static_cast<std::uint32_t>(r.varint());
    if (r.varint()) t.addedDefaults[i] = r.value();
    t.renamedAt[i] = readStamp(r);
  }
  auto dropped = r.count();
  for (std::uint64_t i = 0; i < dropped; ++i) t.droppedIds.push_back(static_cast<std::uint32_t>(r.varint()));
  t.trackedAt = readStamp(r);
  t.configuredAt = readStamp(r);
}

}  // namespace

std::vector<TableInfo> loadTables(sql::Db& db) {
  std::vector<TableInfo> out;
  sql::Stmt s(db.raw(), "SELECT id, name, columns, config FROM parley_tables ORDER BY id");
  while (s.step()) {
    TableInfo t;
    t.id = s.int64(0);
    t.name = s.text(1);
    codec::Reader r(s.blob(2), "parley_tables.columns");
    auto n = r.varint();
    t.isKey.assign(n, false);
    for (std::uint64_t i = 0; i < n; ++i) t.columns.emplace_back(r.bytes());
    auto k = r.varint();
    for (std::uint64_t i = 0; i < k; ++i) {
      auto idx = r.varint();
      if (idx >= n) throw Error(Status::corruption("parley_tables: key column out of range"));
      t.pk.push_back(static_cast<std::uint32_t>(idx));
      t.isKey[idx] = true;
    }
    readSchemaSection(r, t);
    auto config = TableConfig::parse(s.text(3));
    if (!config) throw Error(Status::corruption("parley_tables: " + config.status().message()));
    t.config = std::move(*config);
    prepareSql(t);
    prepareMetaSql(db, t);
    out.push_back(std::move(t));
  }
  return out;
}

void saveTable(sql::Db& db, TableInfo& t) {
  std::string blob = shapeBlob(t);
  auto& s = db.cached("INSERT INTO parley_tables(name, columns, config) VALUES (?1, ?2, ?3)");
  s.bindText(1, t.name).bindBlob(2, blob).bindText(3, t.config.toString());
  s.run();
  t.id = sqlite3_last_insert_rowid(db.raw());
  prepareMetaSql(db, t);
  db.exec(fmt::format("CREATE TABLE \"parley_rows_{}\"(pk {} PRIMARY KEY, meta BLOB NOT NULL){}", t.id,
                      t.integerKey ? "INTEGER" : "BLOB NOT NULL", t.integerKey ? "" : " WITHOUT ROWID"));
}

void updateTable(sql::Db& db, const TableInfo& t) {
  auto& s = db.cached("UPDATE parley_tables SET name = ?2, columns = ?3, config = ?4 WHERE id = ?1");
  s.bind(1, t.id).bindText(2, t.name).bindBlob(3, shapeBlob(t)).bindText(4, t.config.toString());
  s.run();
}

void saveConfig(sql::Db& db, const TableInfo& t, const std::string& before, std::uint64_t atMs) {
  auto& update = db.cached("UPDATE parley_tables SET config = ?2 WHERE id = ?1");
  update.bind(1, t.id).bindText(2, t.config.toString());
  update.run();
  auto& log = db.cached("INSERT INTO parley_config_changes(at_ms, tbl, before, after) VALUES (?1, ?2, ?3, ?4)");
  log.bind(1, static_cast<std::int64_t>(atMs)).bindText(2, t.name);
  if (before.empty()) log.bindNull(3);
  else log.bindText(3, before);
  log.bindText(4, t.config.toString());
  log.run();
}

}  // namespace catalog
}  // namespace parley
