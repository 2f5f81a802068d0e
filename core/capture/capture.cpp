#include "capture.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "codec.hpp"
#include "meta_batch.hpp"

namespace parley {
namespace {

// Appends a value of a row image as codec::Writer::value encodes it, straight from SQLite's
// value (no Value in between). UTF-8 text is read through sqlite3_value_blob: an image's text
// points into the page without a terminating NUL, and sqlite3_value_text would copy it (an
// allocation in SQLite, and a free) only to add one. The bytes are the same.
void encodeValue(codec::Writer& w, sqlite3_value* v) {
  int type = v ? sqlite3_value_type(v) : SQLITE_NULL;
  switch (type) {
    case SQLITE_INTEGER:
      w.byte(static_cast<std::uint8_t>(Value::Type::kInteger));
      w.signedVarint(sqlite3_value_int64(v));
      return;
    case SQLITE_FLOAT: {
      double d = sqlite3_value_double(v);
      char raw[8];
      std::memcpy(raw, &d, 8);
      w.byte(static_cast<std::uint8_t>(Value::Type::kReal));
      w.raw({raw, 8});
      return;
    }
    case SQLITE_TEXT: {
      const void* p = sqlite3_value_encoding(v) == SQLITE_UTF8 ? sqlite3_value_blob(v) : sqlite3_value_text(v);
      auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));  // after any conversion to UTF-8
      w.byte(static_cast<std::uint8_t>(Value::Type::kText));
      w.bytes(p ? std::string_view(static_cast<const char*>(p), n) : std::string_view());
      return;
    }
    case SQLITE_BLOB: {
      const void* p = sqlite3_value_blob(v);
      auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
      w.byte(static_cast<std::uint8_t>(Value::Type::kBlob));
      w.bytes(p ? std::string_view(static_cast<const char*>(p), n) : std::string_view());
      return;
    }
    default:
      w.byte(static_cast<std::uint8_t>(Value::Type::kNull));
  }
}

sqlite3_value* preupdateValue(sqlite3* db, int (*get)(sqlite3*, int, sqlite3_value**), int column) {
  sqlite3_value* v = nullptr;
  return get(db, column, &v) == SQLITE_OK ? v : nullptr;
}

}  // namespace

Capture::Capture(CaptureState& state) : s_(state) {
  sqlite3* db = s_.db.raw();
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
  auto& rows = pending_.rows;
  if (lastInt_.table == table.id && lastInt_.key == key && lastInt_.slot < rows.size()) return lastInt_.slot;
  lastInt_ = {table.id, key, intIndex_.findOrAdd(table.id, key, rows.size())};
  return lastInt_.slot;
}

std::size_t Capture::addOrFindKey(const TableInfo& table) {
  // A single integer: its tag byte, then the zigzag varint (codec::Writer::value).
  if (table.pk.size() == 1 && !keyScratch_.empty() &&
      keyScratch_[0] == static_cast<char>(Value::Type::kInteger)) {
    codec::Reader r(keyScratch_, "captured key");
    r.byte();
    return addOrFindInt(table, r.signedVarint());
  }
  slotScratch_.clear();
  codec::Writer(slotScratch_).varint(static_cast<std::uint64_t>(table.id));
  slotScratch_ += keyScratch_;
  return index_.try_emplace(slotScratch_, pending_.rows.size()).first->second;
}

void Capture::addRow(const TableInfo& table, std::optional<std::int64_t> rowid, Image before, bool afterKnown) {
  TouchedRow row{&table, rowid.value_or(0), {}, before, {}, afterKnown};
  if (!rowid) row.key = arena_.add(keyScratch_);
  pending_.rows.push_back(row);
}

void Capture::touch(const TableInfo& table, const Row& pk) {
  keyScratch_.clear();
  codec::appendKey(keyScratch_, pk);
  bool byRowid = table.integerKey && pk.size() == 1 && pk[0].type() == Value::Type::kInteger;
  std::size_t at = byRowid ? addOrFindInt(table, pk[0].asInteger()) : addOrFindKey(table);
  if (at != pending_.rows.size()) return;
  addRow(table, byRowid ? std::optional(pk[0].asInteger()) : std::nullopt, {}, false);
}

Capture::Unhooked::Unhooked(Capture& c) : c_(c) { sqlite3_preupdate_hook(c_.s_.db.raw(), nullptr, nullptr); }

Capture::Unhooked::~Unhooked() { sqlite3_preupdate_hook(c_.s_.db.raw(), &Capture::onPreupdate, &c_); }

TouchedRows Capture::take() {
  TouchedRows out = std::move(pending_);
  clear();
  return out;
}

void Capture::recycle(TouchedRows&& done) {
  if (hasPending()) return;  // rows of a new transaction already use the current storage
  arena_ = std::move(done.images);
  arena_.clear();
}

void Capture::clear() {
  failure_.reset();
  pending_.rows.clear();
  pending_.afterStale = false;
  arena_.clear();
  intIndex_.clear();
  lastInt_ = {};
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
  if (lastTable_ && lastTable_->untracking()) lastTable_ = nullptr;  // a plain table again
  return lastTable_;
}

std::string_view Capture::image(sqlite3* db, const TableInfo& table, ValueGetter get, sqlite3_int64 rowid) {
  imageScratch_.clear();
  codec::Writer w(imageScratch_);
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    sqlite3_value* v = preupdateValue(db, get, static_cast<int>(i));
    // SQLite 3.40 gives NULL as the old value of a column added (with a DEFAULT) after the row
    // was written, whose record lacks it; the row holds the default. Read it as stored.
    if (get == sqlite3_preupdate_old && sqlite3_value_type(v) == SQLITE_NULL && i < table.addedDefaults.size() &&
        table.addedDefaults[i] && !table.addedDefaults[i]->isNull())
      encodeStored(w, db, table, get, rowid, i);
    else
      encodeValue(w, v);
  }
  return imageScratch_;
}

void Capture::encodeStored(codec::Writer& w, sqlite3* db, const TableInfo& table, ValueGetter get,
                           sqlite3_int64 rowid, std::size_t column) {
  std::string where;
  if (table.integerKey) {
    where = "rowid = ?1";
  } else {
    for (std::size_t k = 0; k < table.pk.size(); ++k)
      where += fmt::format("{}{} = ?{}", k ? " AND " : "", sql::quoteIdent(table.columns[table.pk[k]]), k + 1);
  }
  sql::Stmt read(db, fmt::format("SELECT {} FROM {} WHERE {}", sql::quoteIdent(table.columns[column]),
                                 sql::quoteIdent(table.name), where));
  if (table.integerKey) {
    read.bind(1, static_cast<std::int64_t>(rowid));
  } else {
    for (std::size_t k = 0; k < table.pk.size(); ++k)
      sqlite3_bind_value(read.raw(), static_cast<int>(k + 1), preupdateValue(db, get, static_cast<int>(table.pk[k])));
  }
  if (!read.step()) throw Error(Status::corruption("capture: the row being changed could not be read"));
  encodeValue(w, sqlite3_column_value(read.raw(), 0));
}

std::size_t Capture::slot(sqlite3* db, const TableInfo& table, ValueGetter get, sqlite3_int64 rowid) {
  std::size_t at;
  if (table.integerKey) {  // the key is the rowid: no need to read it, nor to keep it
    at = addOrFindInt(table, rowid);
  } else {
    keyScratch_.clear();
    codec::Writer w(keyScratch_);
    for (auto k : table.pk) encodeValue(w, preupdateValue(db, get, static_cast<int>(k)));
    at = addOrFindKey(table);
  }
  if (at != pending_.rows.size()) return at;
  // First seen through its old image: present when the transaction began; through its new
  // image (an insert, or the new key of a key-changing update): absent.
  Image before;
  if (get == sqlite3_preupdate_old) before = arena_.add(image(db, table, get, rowid));
  addRow(table, table.integerKey ? std::optional<std::int64_t>(rowid) : std::nullopt, before, true);
  return at;
}

void Capture::onPreupdate(void* self, sqlite3* db, int op, const char* dbName, const char* tableName,
                          sqlite3_int64 oldKey, sqlite3_int64 newKey) {
  auto* c = static_cast<Capture*>(self);
  if (c->suspended_ || c->failure_ || std::strcmp(dbName, "main") != 0) return;
  const TableInfo* table = c->lookup(tableName);
  if (!table) return;
  try {
    c->record(db, op, *table, oldKey, newKey);
  } catch (const std::bad_alloc&) {
    c->failure_ = "out of memory while recording the transaction's changes";
  } catch (const std::exception& e) {
    c->failure_ = e.what();
  }
}

void Capture::record(sqlite3* db, int op, const TableInfo& table, sqlite3_int64 oldKey, sqlite3_int64 newKey) {
  auto& rows = pending_.rows;
  // A row inserted into a rowid table, not seen before in the transaction: only its rowid is
  // kept, and the commit reads the rows back, a run of them with one range scan.
  if (op == SQLITE_INSERT && table.integerKey && addOrFindInt(table, newKey) == rows.size())
    return addRow(table, newKey, {}, false);
  std::size_t old = SIZE_MAX;
  Image previous;
  if (op == SQLITE_DELETE || op == SQLITE_UPDATE) {
    // The old key's row is gone unless the update keeps its key (then overwritten below).
    old = slot(db, table, sqlite3_preupdate_old, oldKey);
    previous = std::exchange(rows[old].after, Image{});
  }
  if (op == SQLITE_INSERT || op == SQLITE_UPDATE) {
    std::size_t now = slot(db, table, sqlite3_preupdate_new, newKey);
    // A row changed again mostly keeps its image's size: the new one goes in the old one's place.
    Image& after = rows[now].after;
    after = arena_.replace(now == old ? previous : after, image(db, table, sqlite3_preupdate_new));
  }
}

int Capture::onCommit(void* self) {
  auto* c = static_cast<Capture*>(self);
  if (!c->hasPending() && !c->failure_) return 0;
  c->refusedCommit_ = true;
  c->clear();
  return 1;
}

void Capture::onRollback(void* self) { static_cast<Capture*>(self)->clear(); }

}  // namespace parley
