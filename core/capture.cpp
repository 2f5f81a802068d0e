#include "capture.hpp"

#include <cstring>

#include "codec.hpp"

namespace parley {
namespace {

void guardFunction(sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_null(ctx); }

using ValueGetter = int (*)(sqlite3*, int, sqlite3_value**);

Value preupdateValue(sqlite3* db, ValueGetter get, int column) {
  sqlite3_value* v = nullptr;
  if (get(db, column, &v) != SQLITE_OK || !v) return Value::null();
  return sql::fromSqlite(v);
}

}  // namespace

Capture::Capture(SiteState& state) : s_(state) {
  sqlite3* db = s_.db.raw();
  sqlite3_create_function_v2(db, "parley_guard", -1, SQLITE_UTF8, nullptr, guardFunction, nullptr,
                             nullptr, nullptr);
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

void Capture::touch(const TableInfo& table, Row pk, std::optional<Row> before) {
  std::string key = codec::encodeKey(pk);
  std::string slot = std::to_string(table.id) + ":" + key;
  auto [it, added] = index_.try_emplace(std::move(slot), rows_.size());
  if (!added) return;
  rows_.push_back({&table, std::move(pk), std::move(key), std::move(before)});
}

std::vector<TouchedRow> Capture::take() {
  std::vector<TouchedRow> out = std::move(rows_);
  clear();
  return out;
}

void Capture::clear() {
  rows_.clear();
  index_.clear();
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

void Capture::record(sqlite3* db, const TableInfo& table, bool useNew) {
  ValueGetter get = useNew ? sqlite3_preupdate_new : sqlite3_preupdate_old;
  Row pk;
  pk.reserve(table.pk.size());
  for (auto k : table.pk) pk.push_back(preupdateValue(db, get, static_cast<int>(k)));
  scratch_ = std::to_string(table.id) + ":" + codec::encodeKey(pk);
  if (index_.count(scratch_)) return;
  std::optional<Row> before;
  if (!useNew) {
    Row row;
    row.reserve(table.columns.size());
    for (std::size_t i = 0; i < table.columns.size(); ++i) row.push_back(preupdateValue(db, get, static_cast<int>(i)));
    before = std::move(row);
  }
  touch(table, std::move(pk), std::move(before));
}

void Capture::onPreupdate(void* self, sqlite3* db, int op, const char* dbName, const char* tableName,
                          sqlite3_int64, sqlite3_int64) {
  auto* c = static_cast<Capture*>(self);
  if (c->suspended_ || std::strcmp(dbName, "main") != 0) return;
  const TableInfo* table = c->lookup(tableName);
  if (!table) return;
  // The old image is the row as the transaction found it, if this is its first change; the
  // new key of an insert or key-changing update is a row that was absent unless seen before.
  if (op == SQLITE_DELETE || op == SQLITE_UPDATE) c->record(db, *table, false);
  if (op == SQLITE_INSERT || op == SQLITE_UPDATE) c->record(db, *table, true);
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
