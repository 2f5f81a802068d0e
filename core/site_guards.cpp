// The guard triggers of tracked tables: they make a write through a connection that does not
// capture fail. Their condition asks parley_guard() for the site's guard token (parley_meta),
// so that another program's no-op parley_guard does not let its writes through. A site checks
// its guards when it opens and whenever another connection changed the database, and refuses
// writes and syncs while one is missing or altered (Site::Impl::guardProblem).
#include "parley/replication.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

std::string literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

const char* const kGuardedOps[] = {"INSERT", "UPDATE", "DELETE"};

std::string guardName(const TableInfo& t, const char* op) { return fmt::format("parley_guard_{}_{}", t.name, op); }

}  // namespace

void Site::Impl::guardFunction(sqlite3_context* ctx, int, sqlite3_value**) {
  const auto* impl = static_cast<const Impl*>(sqlite3_user_data(ctx));
  if (impl->guardToken.empty()) return sqlite3_result_null(ctx);
  sqlite3_result_text(ctx, impl->guardToken.data(), static_cast<int>(impl->guardToken.size()), SQLITE_TRANSIENT);
}

std::string Site::Impl::guardSql(const TableInfo& t, const char* op) const {
  std::string trigger = sql::quoteIdent(guardName(t, op));
  std::string table = sql::quoteIdent(t.name);
  if (guardToken.empty())  // a guard made before tokens
    return fmt::format("CREATE TRIGGER {} BEFORE {} ON {} BEGIN SELECT parley_guard(); END", trigger, op, table);
  std::string message = fmt::format("parley_guard: {} is replicated by parley; write to it through parley", table);
  return fmt::format("CREATE TRIGGER {} BEFORE {} ON {} BEGIN SELECT RAISE(ABORT, {}) WHERE parley_guard() IS NOT {}; END",
                     trigger, op, table, literal(message), literal(guardToken));
}

void Site::Impl::createGuards(const TableInfo& t) {
  if (guardToken.empty()) restoreGuards();  // the first guard, or the first since tokens: all get one
  for (const char* op : kGuardedOps) state.db.exec(guardSql(t, op));
}

void Site::Impl::replaceGuards(const TableInfo& t) {
  changingGuards = true;
  try {
    for (const char* op : kGuardedOps)
      state.db.exec(fmt::format("DROP TRIGGER IF EXISTS {}", sql::quoteIdent(guardName(t, op))));
  } catch (...) {
    changingGuards = false;
    throw;
  }
  changingGuards = false;
  for (const char* op : kGuardedOps) state.db.exec(guardSql(t, op));
}

void Site::Impl::checkGuards() {
  guardProblem.reset();
  auto& find = state.db.cached("SELECT sql, tbl_name FROM sqlite_schema WHERE type = 'trigger' AND name = ?1");
  for (const auto& t : state.tables) {
    if (t->untracking()) continue;  // its guards are gone: a plain table again
    for (const char* op : kGuardedOps) {
      find.bindText(1, guardName(*t, op));
      bool present = find.step();
      bool intact = present && !find.isNull(0) && find.text(0) == guardSql(*t, op) && find.text(1) == t->name;
      find.reset();
      if (intact) continue;
      guardProblem = fmt::format(
          "tracked table \"{}\" has {} guard trigger {} ({} outside parley), so writes may have bypassed capture; "
          "writes and syncs are refused until it is restored: find rows written behind parley's back with "
          "parley verify, then restore the guards with parley restore-guards",
          t->name, present ? "an altered" : "lost its", guardName(*t, op), present ? "changed" : "dropped");
      return;
    }
  }
}

void Site::Impl::restoreGuards() {
  if (guardToken.empty()) {
    guardToken = state.id.hex();
    catalog::setMeta(state.db, "guard_token", guardToken);
  }
  for (const auto& t : state.tables)
    if (!t->untracking()) replaceGuards(*t);
}

Status Replication::restoreGuards() {
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction())
      return Status::busy("restore guards: a transaction is open on this site; commit or roll it back first");
    impl_->writeNow([&] { impl_->restoreGuards(); });
    impl_->checkGuards();
    return Status::ok();
  });
}

}  // namespace parley
