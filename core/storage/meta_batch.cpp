#include "meta_batch.hpp"

#include <algorithm>
#include <cstring>

#include "store.hpp"

namespace parley {
namespace {

constexpr const char* kPointerType = "parley_meta_batch";

using Entries = std::vector<MetaBatch::Entry>;

struct Cursor {
  sqlite3_vtab_cursor base;
  const Entries* entries = nullptr;
  std::size_t at = 0;
};

int connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char**) {
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(k INTEGER, v BLOB, batch HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  *out = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
  if (!*out) return SQLITE_NOMEM;
  std::memset(*out, 0, sizeof(sqlite3_vtab));
  return SQLITE_OK;
}

int disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

// Only usable with the batch argument: parley_meta_batch(?).
int bestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn != 2 || c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c.usable) return SQLITE_CONSTRAINT;
    info->aConstraintUsage[i].argvIndex = 1;
    info->aConstraintUsage[i].omit = 1;
    info->estimatedCost = 1000;
    info->estimatedRows = 1000;
    return SQLITE_OK;
  }
  return SQLITE_CONSTRAINT;
}

int open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* c = new (std::nothrow) Cursor{};
  if (!c) return SQLITE_NOMEM;
  *out = &c->base;
  return SQLITE_OK;
}

int close(sqlite3_vtab_cursor* cur) {
  delete reinterpret_cast<Cursor*>(cur);
  return SQLITE_OK;
}

int filter(sqlite3_vtab_cursor* cur, int, const char*, int argc, sqlite3_value** argv) {
  auto* c = reinterpret_cast<Cursor*>(cur);
  c->entries = argc > 0 ? static_cast<const Entries*>(sqlite3_value_pointer(argv[0], kPointerType)) : nullptr;
  c->at = 0;
  return SQLITE_OK;
}

int next(sqlite3_vtab_cursor* cur) {
  ++reinterpret_cast<Cursor*>(cur)->at;
  return SQLITE_OK;
}

int eof(sqlite3_vtab_cursor* cur) {
  auto* c = reinterpret_cast<Cursor*>(cur);
  return !c->entries || c->at >= c->entries->size();
}

int column(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int i) {
  auto* c = reinterpret_cast<Cursor*>(cur);
  const MetaBatch::Entry& e = (*c->entries)[c->at];
  if (i == 0) sqlite3_result_int64(ctx, e.rowid);
  else if (i == 1) sqlite3_result_blob64(ctx, e.blob.empty() ? "" : e.blob.data(), e.blob.size(), SQLITE_STATIC);
  else sqlite3_result_null(ctx);
  return SQLITE_OK;
}

int rowid(sqlite3_vtab_cursor* cur, sqlite3_int64* out) {
  *out = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(cur)->at);
  return SQLITE_OK;
}

sqlite3_module makeModule() {
  sqlite3_module m{};
  m.xConnect = connect;  // no xCreate: eponymous only
  m.xBestIndex = bestIndex;
  m.xDisconnect = disconnect;
  m.xOpen = open;
  m.xClose = close;
  m.xFilter = filter;
  m.xNext = next;
  m.xEof = eof;
  m.xColumn = column;
  m.xRowid = rowid;
  return m;
}

const sqlite3_module kModule = makeModule();

// Fewer rows than this are written one statement each: for them the batch's statement and
// cursor cost more than they save.
constexpr std::size_t kBatchMinRows = 8;

void run(SiteState& s, const std::string& sql, const Entries& entries) {
  if (entries.empty()) return;
  auto& st = s.db.cached(sql);
  sqlite3_bind_pointer(st.raw(), 1, const_cast<Entries*>(&entries), kPointerType, nullptr);
  st.run();
  st.reset();
}

}  // namespace

void registerMetaBatch(sqlite3* db) { sqlite3_create_module_v2(db, kPointerType, &kModule, nullptr, nullptr); }

void MetaBatch::add(std::int64_t rowid, std::string_view blob, bool existed, bool stable) {
  Added a{rowid, stable ? blob.data() : nullptr, arena_.size(), blob.size()};
  if (!stable) arena_.append(blob);
  (existed ? updates_ : inserts_).push_back(a);
}

std::vector<MetaBatch::Entry> MetaBatch::entries(const std::vector<Added>& added) const {
  std::vector<Entry> out;
  out.reserve(added.size());
  for (const Added& a : added) out.push_back({a.rowid, {a.stable ? a.stable : arena_.data() + a.offset, a.size}});
  return out;
}

void MetaBatch::write(SiteState& s, const TableInfo& t) {
  if (inserts_.size() + updates_.size() < kBatchMinRows) {
    for (const Entry& e : entries(inserts_)) store::writeMetaBlobAt(s, t, e.rowid, e.blob, false);
    for (const Entry& e : entries(updates_)) store::writeMetaBlobAt(s, t, e.rowid, e.blob, true);
  } else {
    run(s, t.metaBatchInsert, entries(inserts_));
    run(s, t.metaBatchUpsert, entries(updates_));
  }
  inserts_.clear();
  updates_.clear();
  arena_.clear();
}

}  // namespace parley
