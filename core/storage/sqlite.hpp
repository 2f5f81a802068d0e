// Thin RAII wrappers over the SQLite C API used inside core.
//
// Db owns a connection; Stmt owns a prepared statement. Unexpected SQLite errors throw
// parley::Error carrying a one-line message with the failing SQL's context. Values move
// between SQLite and parley::Value through bind() and Stmt::value().
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "parley/status.hpp"
#include "parley/value.hpp"

namespace parley::sql {

// "name" with embedded quotes doubled: safe to splice as an identifier.
std::string quoteIdent(std::string_view name);
// Reads an sqlite3_value into a Value (copying text/blob bytes).
Value fromSqlite(sqlite3_value* v);

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql);  // throws Error on a prepare failure
  explicit Stmt(sqlite3_stmt* adopted) : stmt_(adopted) {}
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;

  // Binding is 1-based, as in SQLite.
  Stmt& bind(int index, const Value& v);
  Stmt& bind(int index, std::int64_t v);
  Stmt& bindText(int index, std::string_view v);
  Stmt& bindBlob(int index, std::string_view bytes);
  // Binds without copying. REQUIRES: `bytes` outlive the statement's next step().
  Stmt& bindBlobUncopied(int index, std::string_view bytes);
  Stmt& bindNull(int index);

  // Steps once: true if a row is available, false when done. Throws Error on failure.
  bool step();
  // Steps to completion, ignoring rows.
  void run();
  // Resets and clears bindings for reuse.
  void reset();

  int columnCount() const;
  Value value(int col) const;
  std::int64_t int64(int col) const;
  std::string text(int col) const;
  std::string_view blob(int col) const;  // valid until the next step/reset
  bool isNull(int col) const;

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  // Opens (creating if needed) a database. Throws Error on failure.
  explicit Db(const std::string& path);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* raw() const { return db_; }
  // Runs SQL without results. Throws Error.
  void exec(std::string_view sql);
  // A cached prepared statement for `sql`, reset and ready to bind. Keyed by the text's
  // address (string literals, TableInfo's SQL), checked against the text itself.
  Stmt& cached(std::string_view sql);
  // cached() for SQL built at run time: the text is kept once, so its address is stable.
  Stmt& cachedText(std::string_view sql) { return cached(*texts_.emplace(sql).first); }
  // Resets every cached statement, ending the read snapshots they may hold.
  void resetAll();
  // Drops every cached statement (after schema changes of our own).
  void clearCache() { cache_.clear(); }
  std::string errmsg() const;
  // Whether the database holds a table of this name (tables parley makes on first use).
  bool hasTable(std::string_view name);
  bool inTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  // The busy handler: retries a locked database in short sleeps for about 10 s.
  static int waitForLock(void*, int attempts);

  sqlite3* db_ = nullptr;
  struct Cached {
    std::string text;
    Stmt stmt;
  };
  std::unordered_map<const char*, Cached> cache_;
  std::unordered_set<std::string> texts_;  // cachedText()'s texts
};

// Prepared statements for SQL text given at run time (what a site's users run), the most
// recently used `capacity` of them. take() hands one out, reset and with no bindings, and the
// cache no longer holds it (a statement run while another runs gets its own); give() puts it
// back. SQLite prepares a statement again by itself after a schema change.
class StmtCache {
 public:
  explicit StmtCache(std::size_t capacity) : capacity_(capacity) {}
  std::optional<Stmt> take(std::string_view sql);
  void give(std::string_view sql, Stmt stmt);

 private:
  using Entry = std::pair<std::string, Stmt>;
  std::size_t capacity_;
  std::list<Entry> entries_;  // the most recently given first
  // Nodes whose statement is out (taken): give() puts a statement back in one, so running the
  // same statement again and again allocates nothing.
  std::list<Entry> spare_;
};

// The first line of an SQLite error message, for a one-line user error.
std::string oneLine(std::string_view message);

}  // namespace parley::sql
