// Capture: notes every tracked row a local transaction touches, through SQLite's preupdate
// hook, which sees each row change the connection makes (plain statements, UPSERT, REPLACE's
// deletes, trigger bodies, foreign-key actions).
//
// For each touched row it keeps the row's image before its first change in the transaction.
// What the transaction did is read at commit by comparing that image with the row as it is
// then (as the session extension does), so statement rollbacks, ROLLBACK TO and ON CONFLICT
// FAIL partial changes are all accounted for without tracking them.
//
// It also installs the guard function (parley_guard) that tracked tables' triggers call and a
// commit hook that refuses to commit touched rows that were not turned into a transaction.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "parley/value.hpp"
#include "state.hpp"

namespace parley {

struct TouchedRow {
  const TableInfo* table = nullptr;
  Row pk;
  std::string key;            // codec::encodeKey(pk)
  std::optional<Row> before;  // nullopt: absent when the transaction began
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
  // Records a row as touched unless it already is.
  void touch(const TableInfo& table, Row pk, std::optional<Row> before);
  // Touched rows in first-touch order; leaves none pending.
  std::vector<TouchedRow> take();
  void clear();
  // Drops cached table pointers (the tables were reloaded). REQUIRES: !hasPending().
  void forgetTables() { lastTable_ = nullptr; }
  // True (once) if the commit hook refused a commit since the last call.
  bool takeRefusedCommit();

 private:
  static void onPreupdate(void* self, sqlite3* db, int op, const char* dbName, const char* table,
                          sqlite3_int64 oldKey, sqlite3_int64 newKey);
  static int onCommit(void* self);
  static void onRollback(void* self);
  void record(sqlite3* db, const TableInfo& table, bool useNew);
  const TableInfo* lookup(const char* name);

  SiteState& s_;
  bool suspended_ = false;
  bool refusedCommit_ = false;
  std::vector<TouchedRow> rows_;
  std::unordered_map<std::string, std::size_t> index_;  // table id + key -> rows_ position
  const TableInfo* lastTable_ = nullptr;
  std::string scratch_;
};

}  // namespace parley
