// What a statement does to the transaction it runs in, as SQLite's own parser says: the
// authorizer callbacks that sqlite3_prepare_v2 makes while compiling it (SQLITE_TRANSACTION
// for BEGIN, COMMIT/END and ROLLBACK; SQLITE_SAVEPOINT for SAVEPOINT, RELEASE and ROLLBACK TO),
// never the statement's text. A string holding 'end of month' or a CASE ... END is only a
// string or an expression to the parser.
#pragma once

#include <string>
#include <string_view>

namespace parley {

enum class StatementKind {
  kOther,
  kBegin,
  kCommit,      // COMMIT or END
  kRollback,    // ROLLBACK (the whole transaction)
  kRollbackTo,  // ROLLBACK TO [SAVEPOINT] name
  kSavepoint,
  kRelease,
  kNoTransaction,  // PRAGMA, VACUUM, REINDEX, ATTACH, DETACH: must not be wrapped in a transaction
};

struct StatementInfo {
  StatementKind kind = StatementKind::kOther;
  std::string savepoint;  // for kSavepoint, kRelease, kRollbackTo
  // The statement only reads or writes rows of ordinary tables (SELECT, INSERT, UPDATE,
  // DELETE, REPLACE, WITH, VALUES): a site may keep it prepared and run it again.
  bool data = false;
};

// Collects the authorizer callbacks of one statement's preparation.
// Usage: reset(), prepare the statement (the authorizer calls see()), then info().
class StatementClassifier {
 public:
  void reset() { *this = StatementClassifier{}; }
  // One authorizer callback: its action code and its first two arguments (may be null).
  void see(int action, const char* arg1, const char* arg2);
  // `readonly`: sqlite3_stmt_readonly() of the prepared statement.
  StatementInfo info(bool readonly) const;

 private:
  bool seenAny_ = false;
  bool dataOnly_ = true;
  StatementInfo first_;  // from the first callback: a statement's own kind comes first
};

// True if `rest`, what follows a statement, holds no other statement (spaces and semicolons).
bool noMoreStatements(std::string_view rest);
// SQLite compares savepoint names without regard to ASCII case.
bool sameSavepoint(std::string_view a, std::string_view b);

}  // namespace parley
