// Site::Impl's SQLite authorizer: what each statement a user prepares may do to the schema.
#include <string_view>

#include "site_impl.hpp"

namespace parley {

void Site::Impl::installAuthorizer() {
  sqlite3_set_authorizer(state.db.raw(), &Impl::authorize, this);
}

int Site::Impl::authorize(void* self, int action, const char* a, const char* b, const char*, const char*) {
  auto* impl = static_cast<Impl*>(self);
  if (impl->classifying) impl->classifier.see(action, a, b);
  if (action == SQLITE_DROP_TABLE && a && impl->state.table(a)) {
    (impl->state.table(a)->untracking() ? impl->deniedUntracking : impl->deniedSchemaChange) = a;
    return SQLITE_DENY;
  }
  if (impl->deniesWhileUntracking(action, b)) return SQLITE_DENY;
  // ALTER TABLE and index changes of a tracked table become schema transactions
  // (site_schema.cpp), unless parley itself is making them.
  bool altersTracked = action == SQLITE_ALTER_TABLE && b && impl->state.table(b);
  bool indexesTracked = (action == SQLITE_CREATE_INDEX || action == SQLITE_DROP_INDEX) && b && impl->state.table(b);
  if ((altersTracked || indexesTracked) && !impl->applying && !impl->changingSchema) {
    if (impl->state.db.inTransaction() && !impl->statementTransaction) {
      impl->deniedIndexChange = b;
      return SQLITE_DENY;
    }
    impl->schemaStatement = {action, b, action == SQLITE_ALTER_TABLE ? "" : (a ? a : "")};
  }
  if (action == SQLITE_CREATE_TEMP_TRIGGER || action == SQLITE_DROP_TEMP_TRIGGER) impl->tempTriggersChanged = true;
  if (mayChangeSchema(action, a, b)) {
    impl->triggersChecked = false;
    impl->schemaStatementPrepared = true;
  }
  if (action == SQLITE_DROP_TRIGGER && a && std::string_view(a).starts_with("parley_") && !impl->changingGuards) {
    impl->deniedSchemaChange = a;
    return SQLITE_DENY;
  }
  return SQLITE_OK;
}

bool Site::Impl::mayChangeSchema(int action, const char* arg, const char* arg2) {
  switch (action) {
    case SQLITE_PRAGMA:  // arg: its name, arg2: the value it is set to, if any
      return arg2 != nullptr;
    case SQLITE_READ:
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
    case SQLITE_TRANSACTION:
      return false;
    case SQLITE_SAVEPOINT:  // arg: BEGIN, RELEASE or ROLLBACK
      return !arg || sqlite3_stricmp(arg, "ROLLBACK") == 0;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:  // arg: the table
      return !arg || sqlite3_strnicmp(arg, "sqlite_", 7) == 0;
    default:
      return true;
  }
}

}  // namespace parley
