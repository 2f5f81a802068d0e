// Capture: notes every tracked row a local transaction touches, through SQLite's preupdate
// hook, which sees each row change the connection makes (plain statements, UPSERT, REPLACE's
// deletes, trigger bodies, foreign-key actions).
//
// For each touched row it keeps the row's image before its first change in the transaction
// and its image after its last change (the hook's new values; absent after a delete), so a
// commit needs no re-read of the rows. Keys and images are kept encoded in an arena (a few
// dozen bytes a row, no allocation per row), taken with the rows by the commit and decoded
// there a row at a time. Hook-recorded changes can be undone behind the hook's
// back: by a statement that failed and was rolled back by SQLite (ABORT, FAIL's partial
// changes) or by ROLLBACK TO. The site tells the capture when either happens (distrust());
// the after-images are then stale and the commit re-reads every touched row, as the session
// extension does. Rows touched without a change (track()) are always re-read.
//
// It also installs a commit hook that refuses to commit touched rows that were not turned into
// a transaction. (The guard function that tracked tables' triggers call is the site's.)
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "parley/value.hpp"
#include "slot_index.hpp"
#include "capture_state.hpp"
#include "touched_rows.hpp"

namespace parley {
namespace codec {
class Writer;
}

class Capture {
 public:
  explicit Capture(CaptureState& state);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // While suspended (applying remote transactions) row changes are not recorded.
  void suspend(bool suspended) { suspended_ = suspended; }
  bool hasPending() const { return !pending_.rows.empty(); }
  // Records a row as touched, without a change (its images are read at commit), unless it
  // already is.
  void touch(const TableInfo& table, const Row& pk);
  // Some recorded change may have been undone (failed statement, ROLLBACK TO).
  void distrust() { pending_.afterStale = true; }
  // The touched rows, with their images; leaves none pending. They are the caller's whatever
  // happens next (a rollback during the commit clears only what is pending).
  TouchedRows take();
  // Takes back the storage of rows taken and committed, for the next transaction's.
  void recycle(TouchedRows&& done);
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
  // Why recording a row change failed in this transaction (out of memory), if it did: the
  // transaction must not commit, its capture is incomplete. Nothing escapes the hook into
  // SQLite's C frames; the commit hook refuses such a transaction too.
  const std::optional<std::string>& failure() const { return failure_; }

 private:
  static void onPreupdate(void* self, sqlite3* db, int op, const char* dbName, const char* table,
                          sqlite3_int64 oldKey, sqlite3_int64 newKey);
  void record(sqlite3* db, int op, const TableInfo& table, sqlite3_int64 oldKey, sqlite3_int64 newKey);
  static int onCommit(void* self);
  static void onRollback(void* self);
  using ValueGetter = int (*)(sqlite3*, int, sqlite3_value**);
  // The position in the pending rows of the row whose key is in `get`'s image, added if new
  // (with that image as its before-image when `get` reads the old one).
  // `rowid`: the row's rowid as the hook gave it (its key, if table.integerKey).
  std::size_t slot(sqlite3* db, const TableInfo& table, ValueGetter get, sqlite3_int64 rowid);
  // `get`'s image, encoded into imageScratch_.
  std::string_view image(sqlite3* db, const TableInfo& table, ValueGetter get, sqlite3_int64 rowid = 0);
  // Encodes a column's value as the row holds it, read with SQL (by rowid, or by the key in the image).
  static void encodeStored(codec::Writer& w, sqlite3* db, const TableInfo& table, ValueGetter get,
                           sqlite3_int64 rowid, std::size_t column);
  const TableInfo* lookup(const char* name);
  // Pending-row positions by (table id, key): single-column integer keys in a flat index,
  // others by their encoding (keyScratch_: the key encoded, as a row's Image::key).
  std::size_t addOrFindKey(const TableInfo& table);
  std::size_t addOrFindInt(const TableInfo& table, std::int64_t key);
  // Adds a row keyed by keyScratch_ (its key is the rowid if `rowid`).
  void addRow(const TableInfo& table, std::optional<std::int64_t> rowid, Image before, bool afterKnown);

  CaptureState& s_;
  bool suspended_ = false;
  bool refusedCommit_ = false;
  std::optional<std::string> failure_;

  TouchedRows pending_;
  ImageArena& arena_ = pending_.images;
  SlotIndex intIndex_;
  struct LastInt {
    std::int64_t table = 0;
    std::int64_t key = 0;
    std::size_t slot = SIZE_MAX;
  } lastInt_;
  std::unordered_map<std::string, std::size_t> index_;
  const TableInfo* lastTable_ = nullptr;
  std::string keyScratch_, slotScratch_, imageScratch_;
};

}  // namespace parley
