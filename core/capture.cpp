#include "capture.hpp"

#include <cstring>

#include "codec.hpp"
#include "meta_batch.hpp"

namespace parley {
namespace {

void guardFunction(sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_null(ctx); }

// A value of a row image. UTF-8 text is read through sqlite3_value_blob: an image's text points
// into the page without a terminating NUL, and sqlite3_value_text would copy it (an allocation
// in SQLite, and a free) only to add one. The bytes are the same.
Value preupdateValue(sqlite3* db, int (*get)(sqlite3*, int, sqlite3_value**), int column) {
  sqlite3_value* v = nullptr;
  if (get(db, column, &v) != SQLITE_OK || !v) return Value::null();
  if (sqlite3_value_type(v) == SQLITE_TEXT && sqlite3_value_encoding(v) == SQLITE_UTF8) {
    auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));  // UTF-8 already: no conversion
    auto* p = static_cast<const char*>(sqlite3_value_blob(v));
    return Value::text(p ? std::string(p, n) : std::string());
  }
  return sql::fromSqlite(v);
}

// The index key of a row: its table id, then its encoded key.
void slotKey(std::string& out, const TableInfo& table, const Row& pk) {
  out.clear();
  codec::Writer w(out);
  w.varint(static_cast<std::uint64_t>(table.id));
  for (const auto& v : pk) w.value(v);
}

}  // namespace

Capture::Capture(SiteState& state) : s_(state) {
  sqlite3* db = s_.db.raw();
  sqlite3_create_function_v2(db, "parley_guard", -1, SQLITE_UTF8, nullptr, guardFunction, nullptr,
                             nullptr, nullptr);
  registerMetaBatch(db);  // commitLocal writes row metadata through it
  sqlite3_preupdate_hook(db, &Capture::onPreupdate, this);
  sqlite3_commit_hook(db, &Capture::onCommit, this);
  sqlite3_rollback_hook(db, &Capture::onRollback, this);
}

Capture::~Capture() {
  sqlite3* db = s_.db.raw();
  sqlite3_preupdate_hook(db, nullptr, nullptr);
  sqlite3_commit_hook(db, nullptr, nullptr);
  sqlite3_rollback_hook(db, nullptr, nullptr);
}

std::size_t Capture::addOrFindInt(const TableInfo& table, std::int64_t key) {
  // An UPDATE shows each row twice in a row (old image, new image): remember the last.
  if (lastInt_.table == table.id && lastInt_.key == key && lastInt_.slot < rows_.size()) return lastInt_.slot;
  lastInt_ = {table.id, key, intIndex_.findOrAdd(table.id, key, rows_.size())};
  return lastInt_.slot;
}

std::size_t Capture::addOrFind(const TableInfo& table, const Row& pk) {
  if (pk.size() == 1 && pk[0].type() == Value::Type::kInteger) return addOrFindInt(table, pk[0].asInteger());
  slotKey(slotScratch_, table, pk);
  return index_.try_emplace(slotScratch_, rows_.size()).first->second;
}

void Capture::touch(const TableInfo& table, Row pk, std::optional<Row> before) {
  if (addOrFind(table, pk) != rows_.size()) return;
  if (table.integerKey && pk.size() == 1 && pk[0].type() == Value::Type::kInteger)
    return rows_.push_back({&table, {}, pk[0].asInteger(), std::move(before), std::nullopt, false});
  rows_.push_back({&table, std::move(pk), 0, std::move(before), std::nullopt, false});
}

Capture::Unhooked::Unhooked(Capture& c) : c_(c) { sqlite3_preupdate_hook(c_.s_.db.raw(), nullptr, nullptr); }

Capture::Unhooked::~Unhooked() { sqlite3_preupdate_hook(c_.s_.db.raw(), &Capture::onPreupdate, &c_); }

TouchedRows Capture::take() {
  TouchedRows out{std::move(rows_), afterStale_};
  clear();
  return out;
}

void Capture::clear() {
  rows_.clear();
  intIndex_.clear();
  lastInt_ = {};
  index_.clear();
  afterStale_ = false;
}

bool Capture::takeRefusedCommit() {
  bool refused = refusedCommit_;
  refusedCommit_ = false;
  return refused;
}

const TableInfo* Capture::lookup(const char* name) {
  if (lastTable_ && lastTable_->name == name) return lastTable_;
  lastTable_ = s_.table(name);
  return lastTable_;
}

Row Capture::image(sqlite3* db, const TableInfo& table, ValueGetter get) const {
  Row row;
  row.reserve(table.columns.size());
  for (std::size_t i = 0; i < table.columns.size(); ++i) row.push_back(preupdateValue(db, get, static_cast<int>(i)));
  return row;
}

std::size_t Capture::slot(sqlite3* db, const TableInfo& table, ValueGetter get, sqlite3_int64 rowid) {
  pkScratch_.clear();
  std::size_t at;
  if (table.integerKey) {  // the key is the rowid: no need to read it, nor to keep a Row of it
    at = addOrFindInt(table, rowid);
    if (at != rows_.size()) return at;
  } else {
    for (auto k : table.pk) pkScratch_.push_back(preupdateValue(db, get, static_cast<int>(k)));
    at = addOrFind(table, pkScratch_);
    if (at != rows_.size()) return at;
  }
  // First seen through its old image: present when the transaction began; through its new
  // image (an insert, or the new key of a key-changing update): absent.
  std::optional<Row> before;
  if (get == sqlite3_preupdate_old) before = image(db, table, get);
  rows_.push_back({&table, pkScratch_, rowid, std::move(before), std::nullopt, true});
  return at;
}

void Capture::onPreupdate(void* self, sqlite3* db, int op, const char* dbName, const char* tableName,
                          sqlite3_int64 oldKey, sqlite3_int64 newKey) {
  auto* c = static_cast<Capture*>(self);
  if (c->suspended_ || std::strcmp(dbName, "main") != 0) return;
  const TableInfo* table = c->lookup(tableName);
  if (!table) return;
  if (op == SQLITE_DELETE || op == SQLITE_UPDATE) {
    // The old key's row is gone unless the update keeps its key (then overwritten below).
    std::size_t old = c->slot(db, *table, sqlite3_preupdate_old, oldKey);
    c->rows_[old].after.reset();
  }
  if (op == SQLITE_INSERT || op == SQLITE_UPDATE) {
    std::size_t now = c->slot(db, *table, sqlite3_preupdate_new, newKey);
    c->rows_[now].after = c->image(db, *table, sqlite3_preupdate_new);
  }
}

int Capture::onCommit(void* self) {
  auto* c = static_cast<Capture*>(self);
  if (!c->hasPending()) return 0;
  c->refusedCommit_ = true;
  c->clear();
  return 1;
}

void Capture::onRollback(void* self) { static_cast<Capture*>(self)->clear(); }

}  // namespace parley
