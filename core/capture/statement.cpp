#include "statement.hpp"

#include <cctype>

#include <sqlite3.h>

namespace parley {
namespace {

// The kind a statement has when `action` is the first thing its preparation authorizes.
// A PRAGMA statement's first callback is SQLITE_PRAGMA; a pragma table-valued function inside
// a SELECT or INSERT comes after that statement's own SQLITE_SELECT or SQLITE_INSERT.
StatementInfo kindOf(int action, const char* arg1, const char* arg2) {
  std::string_view what = arg1 ? arg1 : "";
  std::string name = arg2 ? arg2 : "";
  switch (action) {
    case SQLITE_TRANSACTION:  // arg1: BEGIN, COMMIT (also END) or ROLLBACK
      if (what == "BEGIN") return {StatementKind::kBegin, {}};
      if (what == "COMMIT") return {StatementKind::kCommit, {}};
      return {StatementKind::kRollback, {}};
    case SQLITE_SAVEPOINT:  // arg1: BEGIN, RELEASE or ROLLBACK; arg2: the savepoint's name
      if (what == "BEGIN") return {StatementKind::kSavepoint, name};
      if (what == "RELEASE") return {StatementKind::kRelease, name};
      return {StatementKind::kRollbackTo, name};
    case SQLITE_PRAGMA:
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return {StatementKind::kNoTransaction, {}};
    default:
      return {StatementKind::kOther, {}};
  }
}

bool readsOrWritesRows(int action, const char* table) {
  switch (action) {
    case SQLITE_READ:
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return true;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:  // arg1: the table; SQLite's schema tables change the schema
      return table && sqlite3_strnicmp(table, "sqlite_", 7) != 0;
    default:
      return false;
  }
}

}  // namespace

void StatementClassifier::see(int action, const char* arg1, const char* arg2) {
  if (!seenAny_) first_ = kindOf(action, arg1, arg2);
  seenAny_ = true;
  dataOnly_ = dataOnly_ && readsOrWritesRows(action, arg1);
}

StatementInfo StatementClassifier::info(bool readonly) const {
  StatementInfo out = first_;
  // VACUUM and REINDEX authorize nothing when prepared; both refuse or need no transaction.
  if (!seenAny_ && !readonly) out.kind = StatementKind::kNoTransaction;
  out.data = seenAny_ && dataOnly_ && out.kind == StatementKind::kOther;
  return out;
}

bool noMoreStatements(std::string_view rest) {
  for (char c : rest)
    if (c != ';' && !std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

bool sameSavepoint(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace parley
