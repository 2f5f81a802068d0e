// Classifies an SQL statement by its leading keywords, so the site can see a transaction
// end coming (COMMIT, RELEASE of the outermost savepoint) and record its changes first.
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
  kNoTransaction,  // PRAGMA, VACUUM, ATTACH, DETACH: must not be wrapped in a transaction
};

struct StatementInfo {
  StatementKind kind = StatementKind::kOther;
  std::string savepoint;  // for kSavepoint, kRelease, kRollbackTo
};

StatementInfo classifyStatement(std::string_view sql);
// True for a statement that reads or writes rows and changes nothing else (SELECT, INSERT,
// UPDATE, DELETE, REPLACE, WITH, VALUES): a site may keep it prepared and run it again.
bool isDataStatement(std::string_view sql);
// True if `rest`, what follows a statement, holds no other statement (spaces and semicolons).
bool noMoreStatements(std::string_view rest);
// SQLite compares savepoint names without regard to ASCII case.
bool sameSavepoint(std::string_view a, std::string_view b);

}  // namespace parley
