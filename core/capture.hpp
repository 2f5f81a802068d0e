// Capture: notes every tracked row a local transaction touches, through SQLite's preupdate
// hook, which sees each row change the connection makes (plain statements, UPSERT, REPLACE's
// deletes, trigger bodies, foreign-key actions).
//
// For each touched row it keeps the row's image before its first change in the transaction
// and its image after its last change (the hook's new values; absent after a delete), so a
// commit needs no re-read of the rows. Hook-recorded changes can be undone behind the hook's
// back: by a statement that failed and was rolled back by SQLite (ABORT, FAIL's partial
// changes) or by ROLLBACK TO. The site tells the capture when either happens (distrust());
// the after-images are then stale and the commit re-reads every touched row, as the session
// extension does. Rows touched without a change (track()) are always re-read.
//
// It also installs the guard function (parley_guard) that tracked tables' triggers call and a
// commit hook that refuses to commit touched rows that were not turned into a transaction.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chunked.hpp"
#include "parley/value.hpp"
#include "slot_index.hpp"
#include "state.hpp"

namespace parley {

struct TouchedRow {
  const TableInfo* table = nullptr;
  Row pk;                  // empty when the key is `rowid` (a table keyed by its rowid)
  std::int64_t rowid = 0;  // the key, when pk is empty (no Row, so no allocation, per row)
  std::optional<Row> before;  // nullopt: absent when the transaction began
  std::optional<Row> after;   // after the last change the hook saw; nullopt: absent
  bool afterKnown = true;     // false: touched without a change, `after` must be read

  bool rowidKey() const { return pk.empty(); }
  Row key() const { return rowidKey() ? Row{Value::integer(rowid)} : pk; }
};

struct TouchedRows {
  Chunked<TouchedRow> rows;  // in first-touch order
  bool afterStale = false;       // some change may have been undone: re-read every row
};

class Capture {
 public:
  explicit Capture(SiteState& state);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // While suspended (applying remote transactions) row changes are not recorded.
  void suspend(bool suspended) { suspended_ = suspended; }
  bool hasPending() const { return !rows_.empty(); }
  // Records a row as touched, without a change, unless it already is.
  void touch(const TableInfo& table, Row pk, std::optional<Row> before);
  // Some recorded change may have been undone (failed statement, ROLLBACK TO).
  void distrust() { afterStale_ = true; }
  // Touched rows; leaves none pending.
  TouchedRows take();
  void clear();
  // Drops cached table pointers (the tables were reloaded). REQUIRES: !hasPending().
  void forgetTables() { lastTable_ = nullptr; }
  // While alive, SQLite does not call the preupdate hook at all: for parley's own writes
  // (row metadata, the log), which are never tracked, SQLite then skips preparing each row's
  // images for the hook. REQUIRES: no tracked row changes while alive.
  class Unhooked {
   public:
    explicit Unhooked(Capture& c);
    ~Unhooked();
    Unhooked(const Unhooked&) = delete;
    Unhooked& operator=(const Unhooked&) = delete;

   private:
    Capture& c_;
  };

  // True (once) if the commit hook refused a commit since the last call.
  bool takeRefusedCommit();

 private:
  static void onPreupdate(void* self, sqlite3* db, int op, const char* dbName, const char* table,
                          sqlite3_int64 oldKey, sqlite3_int64 newKey);
  static int onCommit(void* self);
  static void onRollback(void* self);
  using ValueGetter = int (*)(sqlite3*, int, sqlite3_value**);
  // The position in rows_ of the row whose key is in `get`'s image, added if new (with that
  // image as its before-image when `get` reads the old one).
  // `rowid`: the row's rowid as the hook gave it (its key, if table.integerKey).
  std::size_t slot(sqlite3* db, const TableInfo& table, ValueGetter get, sqlite3_int64 rowid);
  Row image(sqlite3* db, const TableInfo& table, ValueGetter get) const;
  const TableInfo* lookup(const char* name);

  SiteState& s_;
  bool suspended_ = false;
  bool refusedCommit_ = false;
  bool afterStale_ = false;
  // rows_ positions by (table id, key): integer keys of single-column keys in a flat index,
  // others by their encoding.
  std::size_t addOrFind(const TableInfo& table, const Row& pk);
  std::size_t addOrFindInt(const TableInfo& table, std::int64_t key);

  Chunked<TouchedRow> rows_;
  SlotIndex intIndex_;
  struct LastInt {
    std::int64_t table = 0;
    std::int64_t key = 0;
    std::size_t slot = SIZE_MAX;
  } lastInt_;
  std::unordered_map<std::string, std::size_t> index_;
  const TableInfo* lastTable_ = nullptr;
  Row pkScratch_;
  std::string slotScratch_;
};

}  // namespace parley
