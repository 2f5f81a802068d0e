#include "sqlite.hpp"

#include <chrono>
#include <thread>

namespace parley::sql {
namespace {

Status::Code codeOf(sqlite3* db) {
  int code = sqlite3_errcode(db) & 0xff;
  if (code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN) return Status::Code::kIOError;
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Status::Code::kCorruption;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Status::Code::kBusy;
  if (code == SQLITE_CONSTRAINT) return Status::Code::kConstraint;
  return Status::Code::kInvalidArgument;
}

// SQLite's message `msg`, in the context of what this layer was doing ("sql", "prepare").
[[noreturn]] void failWith(sqlite3* db, std::string_view what, std::string msg) {
  throw Error(Status(codeOf(db), std::move(msg)).withContext(what));
}

[[noreturn]] void fail(sqlite3* db, std::string_view what) { failWith(db, what, oneLine(sqlite3_errmsg(db))); }

}  // namespace

std::string oneLine(std::string_view message) {
  auto nl = message.find('\n');
  return std::string(message.substr(0, nl));
}

std::string quoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Value fromSqlite(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      return Value::integer(sqlite3_value_int64(v));
    case SQLITE_FLOAT:
      return Value::real(sqlite3_value_double(v));
    case SQLITE_TEXT: {
      auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
      return Value::text(std::string(p, static_cast<std::size_t>(sqlite3_value_bytes(v))));
    }
    case SQLITE_BLOB: {
      auto* p = static_cast<const char*>(sqlite3_value_blob(v));
      auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
      return Value::blob(n ? std::string(p, n) : std::string());
    }
    default:
      return Value::null();
  }
}

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt_, nullptr) != SQLITE_OK) {
    fail(db, "prepare");
  }
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt::Stmt(Stmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Stmt& Stmt::bind(int index, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      return bindNull(index);
    case Value::Type::kInteger:
      return bind(index, v.asInteger());
    case Value::Type::kReal:
      sqlite3_bind_double(stmt_, index, v.asReal());
      return *this;
    case Value::Type::kText:
      return bindText(index, v.asText());
    case Value::Type::kBlob:
      return bindBlob(index, v.asBlob());
  }
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}

Stmt& Stmt::bindText(int index, std::string_view v) {
  sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bindBlob(int index, std::string_view bytes) {
  // A zero-length blob must stay a blob, not become NULL.
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bindBlobUncopied(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_STATIC);
  return *this;
}

Stmt& Stmt::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  sqlite3_reset(stmt_);
  fail(db, "sql");
}

void Stmt::run() {
  while (step()) {
  }
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Stmt::columnCount() const { return sqlite3_column_count(stmt_); }

Value Stmt::value(int col) const { return fromSqlite(sqlite3_column_value(stmt_, col)); }

std::int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Stmt::text(int col) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

std::string_view Stmt::blob(int col) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string_view();
}

bool Stmt::isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Db::Db(const std::string& path) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string msg = "cannot open " + path + ": " + (db_ ? oneLine(sqlite3_errmsg(db_)) : "out of memory");
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(Status::ioError(msg));
  }
  sqlite3_extended_result_codes(db_, 0);
  // Other connections (parley serve, other processes) may hold the write lock for a while.
  sqlite3_busy_handler(db_, &Db::waitForLock, nullptr);
}

int Db::waitForLock(void*, int attempts) {
  // SQLite's own busy timeout sleeps up to 100 ms between attempts, which puts whole sleeps
  // into replication lag; waiting in steps of at most 1 ms costs a little CPU instead.
  constexpr int kFastAttempts = 20;
  constexpr int kGiveUpAfter = kFastAttempts + 10'000;  // about 10 s in all
  if (attempts >= kGiveUpAfter) return 0;
  int micros = attempts < kFastAttempts ? 50 * (attempts + 1) : 1000;
  std::this_thread::sleep_for(std::chrono::microseconds(micros));
  return 1;
}

void Db::resetAll() {
  for (auto& [sql, entry] : cache_) sqlite3_reset(entry.stmt.raw());
}

Db::~Db() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

void Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? oneLine(err) : "unknown error";
    sqlite3_free(err);
    failWith(db_, "sql", msg);
  }
}

Stmt& Db::cached(std::string_view sql) {
  auto it = cache_.find(sql.data());
  if (it == cache_.end() || it->second.text != sql) {
    Cached entry{std::string(sql), Stmt(db_, sql)};
    it = cache_.insert_or_assign(sql.data(), std::move(entry)).first;
  }
  it->second.stmt.reset();
  return it->second.stmt;
}

std::optional<Stmt> StmtCache::take(std::string_view sql) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first != sql) continue;
    Stmt stmt = std::move(it->second);
    // A statement that fails is not given back, so spare nodes could pile up: keep a few.
    if (spare_.size() < capacity_) spare_.splice(spare_.begin(), entries_, it);
    else entries_.erase(it);
    return stmt;
  }
  return std::nullopt;
}

void StmtCache::give(std::string_view sql, Stmt stmt) {
  stmt.reset();
  if (spare_.empty()) {
    entries_.emplace_front(std::string(sql), std::move(stmt));
  } else {
    entries_.splice(entries_.begin(), spare_, spare_.begin());
    entries_.front().first.assign(sql);
    entries_.front().second = std::move(stmt);
  }
  if (entries_.size() > capacity_) entries_.pop_back();
}

bool Db::hasTable(std::string_view name) {
  auto& st = cached("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  st.bindText(1, name);
  bool found = st.step();
  st.reset();
  return found;
}

std::string Db::errmsg() const { return oneLine(sqlite3_errmsg(db_)); }

}  // namespace parley::sql
