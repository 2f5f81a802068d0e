// Site::Impl running SQL text (declared in site_impl.hpp): statements prepared one at a time,
// transactions and savepoints followed as they run, writes captured and committed.
#include <fmt/format.h>

#include "site_impl.hpp"

namespace parley {

// The statements of a text, prepared one at a time (each after the previous one ran, so
// that it sees what they created), each with what SQLite's parser says it is.
class Site::Impl::Statements {
 public:
  Statements(Impl& impl, std::string_view sql)
      : impl_(impl), tail_(sql.data()), begin_(sql.data()), end_(sql.data() + sql.size()) {}
  std::optional<std::pair<sql::Stmt, StatementInfo>> next() {
    while (tail_ < end_) {
      const char* at = tail_;
      sqlite3_stmt* raw = prepare();
      alone_ = at == begin_ && noMoreStatements({tail_, static_cast<std::size_t>(end_ - tail_)});
      if (!raw) continue;
      StatementInfo info = impl_.classifier.info(sqlite3_stmt_readonly(raw) != 0);
      if (sqlite3_stmt_isexplain(raw)) info = {};  // EXPLAIN BEGIN only describes a BEGIN
      return std::pair{sql::Stmt(raw), std::move(info)};
    }
    return std::nullopt;
  }
  // The last statement is the whole text.
  bool alone() const { return alone_; }

 private:
  sqlite3_stmt* prepare() {
    sqlite3_stmt* raw = nullptr;
    const char* next = nullptr;
    impl_.classifier.reset();
    impl_.classifying = true;
    int rc = sqlite3_prepare_v2(impl_.state.db.raw(), tail_, static_cast<int>(end_ - tail_), &raw, &next);
    impl_.classifying = false;
    if (rc != SQLITE_OK) throw Error(impl_.userError(Status::invalidArgument(impl_.state.db.errmsg())));
    tail_ = next;
    return raw;
  }
  Impl& impl_;
  const char* tail_;
  const char* begin_;
  const char* end_;
  bool alone_ = false;
};

QueryResult Site::Impl::execAll(std::string_view sql, const std::vector<Value>* params) {
  // A cached statement left mid-read would pin an old snapshot: a write then could not wait
  // for other connections, only fail.
  if (!state.db.inTransaction()) state.db.resetAll();
  schemaStatementPrepared = false;
  schemaStatement.reset();
  QueryResult out;
  if (auto stmt = userStatements.take(sql)) {  // run before, and alone in its text
    if (params) bindAll(*stmt, *params);
    runStatement(*stmt, kDataStatement, out);
    userStatements.give(sql, std::move(*stmt));
    return out;
  }
  for (Statements statements(*this, sql); auto next = statements.next();) {
    auto& [stmt, info] = *next;
    if (params) bindAll(stmt, *params);
    runStatement(stmt, info, out);
    // Kept prepared only when it ran to the end: a statement that failed is prepared afresh.
    if (statements.alone() && info.data) userStatements.give(sql, std::move(stmt));
  }
  return out;
}

QueryResult Site::Impl::execAtomically(std::string_view sql) {
  if (state.db.inTransaction()) return execAll(sql, nullptr);
  if (auto kept = userStatements.take(sql)) {  // one data statement, atomic by itself
    userStatements.give(sql, std::move(*kept));
    return execAll(sql, nullptr);
  }
  state.db.resetAll();
  schemaStatementPrepared = false;
  QueryResult out;
  bool begun = false;
  try {
    for (Statements statements(*this, sql); auto next = statements.next();) {
      auto& [stmt, info] = *next;
      if (info.kind != StatementKind::kOther) {
        // What ran is undone: the text runs again, its own way.
        if (begun) rollbackQuietly();
        return execAll(sql, nullptr);
      }
      if (!begun && statements.alone()) {  // one statement is atomic by itself
        runStatement(stmt, info, out);
        if (info.data) userStatements.give(sql, std::move(stmt));
        return out;
      }
      if (!begun) begin(), begun = true;
      runStatement(stmt, info, out);
    }
    if (begun) commit();
  } catch (...) {
    if (begun) rollbackQuietly();
    throw;
  }
  return out;
}

void Site::Impl::bindAll(sql::Stmt& stmt, const std::vector<Value>& params) {
  int n = sqlite3_bind_parameter_count(stmt.raw());
  if (n != static_cast<int>(params.size()))
    throw Error(Status::invalidArgument(fmt::format("statement has {} parameters, {} given", n, params.size())));
  for (int i = 0; i < n; ++i) stmt.bind(i + 1, params[static_cast<std::size_t>(i)]);
}

void Site::Impl::runStatement(sql::Stmt& stmt, const StatementInfo& info, QueryResult& out) {
  bool inTxn = state.db.inTransaction();
  if (!inTxn) triggersChecked = false;  // the last transaction has ended
  bool ends = inTxn && (info.kind == StatementKind::kCommit ||
                        (info.kind == StatementKind::kRelease && savepoints.releaseCommits(info.savepoint)));
  bool wrap = !inTxn && info.kind == StatementKind::kOther && !sqlite3_stmt_readonly(stmt.raw());
  if (ends) {
    recordOrRollBack();
    state.db.resetAll();  // so that the checkpoint after this COMMIT can run (commitNow)
  }
  statementTransaction = wrap;  // a schema statement re-prepared in it is still alone in it
  struct Clear {
    bool& flag;
    ~Clear() { flag = false; }
  } clear{statementTransaction};
  if (wrap) begin();  // reloads the tables, and checks their guards, if another connection wrote
  try {
    if (!sqlite3_stmt_readonly(stmt.raw())) requireGuards(), syncTriggers();
    if (schemaStatement) beforeSchemaStatement();
    collectRows(stmt, out);
    if (schemaStatement) noteSchemaStatement(stmt);
  } catch (const Error& e) {
    schemaStatement.reset();
    if (wrap || !state.db.inTransaction()) rollbackQuietly();
    else capture.distrust();  // SQLite may have undone some of the statement's changes
    throw Error(userError(e.status()));
  }
  if (wrap) {
    try {
      commit();
    } catch (...) {
      rollbackQuietly();
      throw;
    }
  }
  afterStatement(info, inTxn);
  out.changes = sqlite3_changes64(state.db.raw());
}

void Site::Impl::recordOrRollBack() {
  try {
    recordPending();
  } catch (...) {
    rollbackQuietly();
    throw;
  }
}

void Site::Impl::collectRows(sql::Stmt& stmt, QueryResult& out) {
  bool first = true;
  while (stmt.step()) {
    if (first) {
      if (!out.columns.empty()) out.earlier.push_back({std::move(out.columns), std::move(out.rows)});
      out.columns.clear();
      out.rows.clear();
      for (int i = 0; i < stmt.columnCount(); ++i) out.columns.emplace_back(sqlite3_column_name(stmt.raw(), i));
      first = false;
    }
    Row row;
    for (int i = 0; i < stmt.columnCount(); ++i) row.push_back(stmt.value(i));
    out.rows.push_back(std::move(row));
  }
}

void Site::Impl::afterStatement(const StatementInfo& info, bool wasInTxn) {
  switch (info.kind) {
    case StatementKind::kBegin: savepoints.clear(); break;
    case StatementKind::kSavepoint: savepoints.savepoint(info.savepoint, !wasInTxn); break;
    case StatementKind::kRelease: savepoints.release(info.savepoint); break;
    case StatementKind::kRollbackTo:
      savepoints.rollbackTo(info.savepoint);
      capture.distrust();  // the changes since the savepoint are undone
      break;
    default: break;
  }
  if (!state.db.inTransaction()) savepoints.clear();
}

}  // namespace parley
