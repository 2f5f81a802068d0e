// Site::Impl: the state and machinery behind parley::Site, shared by the site_*.cpp files
// that implement Site's methods. Internal to core.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "apply.hpp"
#include "capture.hpp"
#include "catalog.hpp"
#include "commit.hpp"
#include "parley/site.hpp"
#include "statement.hpp"
#include "store.hpp"

namespace parley {

// Runs `body`, turning thrown parley::Errors into a Status.
template <class F>
auto guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return Status::ioError("out of memory");
  }
}

// Tracks SAVEPOINT nesting so RELEASE of the outermost one is seen as a commit.
class SavepointStack {
 public:
  void clear() {
    names_.clear();
    startedTransaction_ = false;
  }
  // True if releasing `name` would commit the transaction.
  bool releaseCommits(std::string_view name) const {
    return startedTransaction_ && !names_.empty() && position(name) == 0;
  }
  void savepoint(std::string name, bool startsTransaction) {
    if (startsTransaction) clear(), startedTransaction_ = true;
    names_.push_back(std::move(name));
  }
  void release(std::string_view name) { truncate(name, 0); }
  void rollbackTo(std::string_view name) { truncate(name, 1); }

 private:
  std::ptrdiff_t position(std::string_view name) const {
    for (auto i = static_cast<std::ptrdiff_t>(names_.size()) - 1; i >= 0; --i)
      if (sameSavepoint(names_[static_cast<std::size_t>(i)], name)) return i;
    return -1;
  }
  void truncate(std::string_view name, std::ptrdiff_t keep) {
    auto at = position(name);
    if (at >= 0) names_.resize(static_cast<std::size_t>(at + keep));
  }
  std::vector<std::string> names_;
  bool startedTransaction_ = false;
};


bool isMemory(const std::string& path);

struct Site::Impl {
  Impl(const std::string& path, const SiteOptions& options)
      : state(path, *options.clock, options.maxClockSkew), capture(state) {
    state.resolvers = options.resolvers;
    state.applyChunkRows = std::max<std::size_t>(1, options.applyChunkRows);
    installAuthorizer();
  }

  SiteState state;
  Capture capture;
  // The statements exec() ran most recently, kept prepared: an application running the same
  // INSERT or UPDATE with new parameters does not pay for parsing it each time.
  sql::StmtCache userStatements{32};
  SavepointStack savepoints;
  std::int64_t dataVersion = -1;  // PRAGMA data_version when the cache was last loaded
  std::string deniedSchemaChange;  // set by the authorizer
  // Triggers run on this connection only when the schema has triggers besides parley's own
  // guards (which exist to stop other connections, and cost a trigger program per row).
  std::int64_t triggerSchema = -1;  // PRAGMA schema_version when userTriggers was decided
  bool tempTriggersChanged = false;  // set by the authorizer: temp triggers do not bump it
  bool userTriggers = true;
  // The check holds until the transaction ends: inside a write transaction only this
  // connection changes the schema, and only by a statement the authorizer sees prepared
  // (which clears it). A site running many statements in one transaction checks once.
  bool triggersChecked = false;
  bool schemaStatementPrepared = false;  // since exec() began: a statement that may change the schema
  bool applying = false;  // asApplier runs with every trigger off

  void configure(const std::string& path) {
    if (!isMemory(path)) state.db.exec("PRAGMA journal_mode = WAL");
    state.db.exec("PRAGMA synchronous = NORMAL");
    // Capture and apply read a row's metadata next to the row itself: give both room.
    state.db.exec("PRAGMA cache_size = -65536");
  }

  void load() {
    auto format = catalog::metaText(state.db, "format");
    if (!format || *format != std::to_string(kFormatVersion))
      throw Error(Status::unsupported(fmt::format("site format {} is not supported (expected {})",
                                                  format.value_or("?"), kFormatVersion)));
    state.id = catalog::metaId(state.db, "site_id");
    state.cluster = catalog::metaId(state.db, "cluster_id");
    state.name = catalog::metaText(state.db, "name").value_or("");
    reloadState();
    loadTables();
    dataVersion = currentDataVersion();
  }

  void loadTables() {
    std::vector<std::unique_ptr<TableInfo>> tables;
    for (auto& t : catalog::loadTables(state.db)) {
      checkUnchanged(t);
      t.constrained = hasConstraints(state.db, t);
      bindStored(t);
      tables.push_back(std::make_unique<TableInfo>(std::move(t)));
    }
    capture.forgetTables();
    state.tables = std::move(tables);
  }

  std::int64_t currentDataVersion() {
    // Reset once read: left active, it made SQLite refuse a DROP TABLE in the same
    // transaction ("database table is locked").
    auto& st = state.db.cached("PRAGMA data_version");
    st.step();
    std::int64_t version = st.int64(0);
    st.reset();
    return version;
  }

  // Another connection (parley serve, another process) committed since we last looked: what
  // is cached in memory is stale. Tables are reloaded only when `tablesToo` (no capture open).
  void refresh(bool tablesToo) {
    std::int64_t now = currentDataVersion();
    if (now == dataVersion) return;
    reloadState();
    if (tablesToo) loadTables();
    dataVersion = now;
  }

  // Re-reads what a rollback may have made stale in memory.
  void reloadState() {
    state.settled = VersionVector{};
    state.ackDigest.reset();
    state.forgotten.reset();
    state.contexts.clear();
    state.skewRecords.reset();
    state.sites.load(state.db);
    state.digests.load(state.db);
    state.vector = store::loadVector(state);
    state.frontier = store::lastStamp(state);
    state.compactedStamp = store::compactedStamp(state);
    // The clock's floor: every HLC this site used or saw is in the log or was compacted away.
    if (state.frontier) state.hlc.restore(state.frontier->hlc);
    if (state.compactedStamp) state.hlc.restore(state.compactedStamp->hlc);
  }

  void bindStored(TableInfo& t) {
    try {
      bindResolvers(t, t.config, *state.resolvers);
    } catch (const Error& e) {
      throw Error(Status::invalidArgument(fmt::format(
          "table \"{}\" is configured with \"{}\", which this program cannot resolve: {}", t.name,
          t.config.toString(), e.status().message())));
    }
  }

  // Re-folding needs undo records, kept only while some table is order-sensitive. A site may
  // become order-sensitive only when no re-fold can reach back before now.
  void checkCanBecomeOrderSensitive(bool orderSensitiveAfter, std::string_view what) {
    if (!orderSensitiveAfter || state.orderSensitive() || store::allFinal(state)) return;
    throw Error(Status::invalidArgument(fmt::format(
        "{}: this makes the site order-sensitive (fww, reject, callbacks, constraints), which needs every "
        "held transaction to be final first; sync with every site, then retry",
        what)));
  }

  void checkUnchanged(const TableInfo& stored) {
    TableInfo now = inspectTable(state.db, stored.name);
    if (now.columns != stored.columns || now.pk != stored.pk)
      throw Error(Status::corruption(fmt::format(
          "tracked table \"{}\" was altered outside parley (its columns or key differ from when it was tracked)",
          stored.name)));
  }

  void installAuthorizer() {
    sqlite3_set_authorizer(state.db.raw(), &Impl::authorize, this);
  }

  static int authorize(void* self, int action, const char* a, const char* b, const char*, const char*) {
    auto* impl = static_cast<Impl*>(self);
    const char* table = action == SQLITE_ALTER_TABLE ? b : action == SQLITE_DROP_TABLE ? a : nullptr;
    if (table && impl->state.table(table)) {
      impl->deniedSchemaChange = table;
      return SQLITE_DENY;
    }
    if (action == SQLITE_CREATE_TEMP_TRIGGER || action == SQLITE_DROP_TEMP_TRIGGER) impl->tempTriggersChanged = true;
    if (mayChangeSchema(action, a, b)) {
      impl->triggersChecked = false;
      impl->schemaStatementPrepared = true;
    }
    if (action == SQLITE_DROP_TRIGGER && a && std::string_view(a).starts_with("parley_")) {
      impl->deniedSchemaChange = a;
      return SQLITE_DENY;
    }
    return SQLITE_OK;
  }

  // Anything but reading, calling functions, transaction control, reading a pragma and writing
  // rows of a table other than SQLite's schema tables. ROLLBACK TO may undo a CREATE or DROP.
  static bool mayChangeSchema(int action, const char* arg, const char* arg2) {
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

  Status userError(const Status& cause) {
    std::string what = cause.message();
    if (!deniedSchemaChange.empty()) {
      what = fmt::format("\"{}\" is replicated by parley: altering or dropping it is not supported yet",
                         deniedSchemaChange);
      deniedSchemaChange.clear();
    }
    if (capture.takeRefusedCommit())
      what = "commit refused: tracked rows changed without being captured; the transaction was rolled back";
    if (cause.code() == Status::Code::kConstraint) return Status::constraint(what);
    return Status::invalidArgument(what);
  }

  // Records the open transaction's changes to tracked rows as one parley transaction.
  void recordPending() {
    if (const auto& failure = capture.failure())
      throw Error(Status::ioError(fmt::format("capture: {}; the transaction was rolled back", *failure)));
    if (!capture.hasPending()) return;
    refresh(false);
    Capture::Unhooked unhooked(capture);  // commitLocal writes only parley's own tables
    TouchedRows rows = capture.take();
    commitLocal(state, rows, state.orderSensitive());
    capture.recycle(std::move(rows));
  }

  // Before a read outside a transaction: catch up with other connections' commits. A cached
  // statement left mid-read (a lookup stepped once, as loading the catalog does) would pin an
  // old snapshot, in which data_version never moves: reset them all first.
  void refreshForRead() {
    if (state.db.inTransaction()) return;
    state.db.resetAll();
    refresh(true);
  }

  void begin() {
    state.db.resetAll();  // a half-read statement's stale snapshot would make BEGIN fail at once
    state.db.cached("BEGIN IMMEDIATE").run();  // prepared once, not parsed for every transaction
    refresh(!capture.hasPending());
  }

  // COMMITs after resetting the cached statements. One left mid-read would keep a read
  // transaction open after the COMMIT, and SQLite's automatic checkpoint gives up on a
  // connection in a transaction: the WAL grew until the site was closed.
  void commitNow() {
    state.db.resetAll();
    state.db.cached("COMMIT").run();
  }

  void commit() {
    recordPending();
    commitNow();
  }

  void rollbackQuietly() {
    if (state.db.inTransaction()) sqlite3_exec(state.db.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    capture.clear();
    savepoints.clear();
    reloadState();
  }

  QueryResult execAll(std::string_view sql, const std::vector<Value>* params) {
    // A cached statement left mid-read would pin an old snapshot: a write then could not wait
    // for other connections, only fail.
    if (!state.db.inTransaction()) state.db.resetAll();
    schemaStatementPrepared = false;
    QueryResult out;
    if (auto stmt = userStatements.take(sql)) {  // run before, and alone in its text
      if (params) bindAll(*stmt, *params);
      runStatement(*stmt, kDataStatement, out);
      userStatements.give(sql, std::move(*stmt));
      return out;
    }
    const char* tail = sql.data();
    const char* end = sql.data() + sql.size();
    while (tail < end) {
      sqlite3_stmt* raw = nullptr;
      const char* next = nullptr;
      if (sqlite3_prepare_v2(state.db.raw(), tail, static_cast<int>(end - tail), &raw, &next) != SQLITE_OK) {
        throw Error(userError(Status::invalidArgument(state.db.errmsg())));
      }
      bool alone = tail == sql.data() && noMoreStatements({next, end});
      tail = next;
      if (!raw) continue;
      sql::Stmt stmt(raw);
      if (params) bindAll(stmt, *params);
      runStatement(stmt, classifyStatement(sqlite3_sql(stmt.raw())), out);
      // Kept prepared only when it ran to the end: a statement that failed is prepared afresh.
      if (alone && isDataStatement(sql)) userStatements.give(sql, std::move(stmt));
    }
    return out;
  }

  static void bindAll(sql::Stmt& stmt, const std::vector<Value>& params) {
    int n = sqlite3_bind_parameter_count(stmt.raw());
    if (n != static_cast<int>(params.size()))
      throw Error(Status::invalidArgument(fmt::format("statement has {} parameters, {} given", n, params.size())));
    for (int i = 0; i < n; ++i) stmt.bind(i + 1, params[static_cast<std::size_t>(i)]);
  }

  // How classifyStatement() sees a kept statement: only data statements are kept.
  static inline const StatementInfo kDataStatement{StatementKind::kOther, {}};

  void runStatement(sql::Stmt& stmt, const StatementInfo& info, QueryResult& out) {
    bool inTxn = state.db.inTransaction();
    if (!inTxn) triggersChecked = false;  // the last transaction has ended
    bool ends = inTxn && (info.kind == StatementKind::kCommit ||
                          (info.kind == StatementKind::kRelease && savepoints.releaseCommits(info.savepoint)));
    bool wrap = !inTxn && info.kind == StatementKind::kOther && !sqlite3_stmt_readonly(stmt.raw());
    if (ends) {
      recordOrRollBack();
      state.db.resetAll();  // so that the checkpoint after this COMMIT can run (commitNow)
    }
    if (wrap) begin();
    try {
      if (!sqlite3_stmt_readonly(stmt.raw())) syncTriggers();
      collectRows(stmt, out);
    } catch (const Error& e) {
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

  // Before COMMIT: records the pending changes, or rolls the whole transaction back.
  void recordOrRollBack() {
    try {
      recordPending();
    } catch (...) {
      rollbackQuietly();
      throw;
    }
  }

  void collectRows(sql::Stmt& stmt, QueryResult& out) {
    bool first = true;
    while (stmt.step()) {
      if (first) {
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

  void afterStatement(const StatementInfo& info, bool wasInTxn) {
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

  void track(std::string_view name, const std::optional<TableConfig>& config) {
    if (state.table(name)) throw Error(Status::invalidArgument(fmt::format("track: table \"{}\" is already tracked", name)));
    TableInfo t = inspectTable(state.db, name);
    t.constrained = hasConstraints(state.db, t);
    bindResolvers(t, config ? *config : state.resolvers->defaults(), *state.resolvers);
    checkCanBecomeOrderSensitive(t.orderSensitive, "track");
    catalog::saveTable(state.db, t);
    catalog::saveConfig(state.db, t, "", state.clock.nowMillis());
    createGuards(t);
    state.tables.push_back(std::make_unique<TableInfo>(std::move(t)));
    const TableInfo& tracked = *state.tables.back();
    sql::Stmt all(state.db.raw(), tracked.selectAll);
    while (all.step()) {
      Row pk;
      for (auto k : tracked.pk) pk.push_back(all.value(static_cast<int>(k)));
      capture.touch(tracked, pk);
    }
  }

  void createGuards(const TableInfo& t) {
    for (const char* op : {"INSERT", "UPDATE", "DELETE"}) {
      std::string trigger = sql::quoteIdent(fmt::format("parley_guard_{}_{}", t.name, op));
      state.db.exec(fmt::format("CREATE TRIGGER {} BEFORE {} ON {} BEGIN SELECT parley_guard(); END",
                                trigger, op, sql::quoteIdent(t.name)));
    }
  }

  // Runs `body` in a write transaction with triggers off and capture suspended: what remote
  // transactions do is not a local change and must not fire local triggers again.
  void configure(std::string_view name, const TableConfig& config) {
    auto it = std::find_if(state.tables.begin(), state.tables.end(), [&](const auto& t) { return t->name == name; });
    if (it == state.tables.end()) throw Error(Status::notFound(fmt::format("configure: table \"{}\" is not tracked", name)));
    TableInfo updated = **it;
    bindResolvers(updated, config, *state.resolvers);
    bool sensitiveAfter = updated.orderSensitive;
    for (const auto& t : state.tables) sensitiveAfter = sensitiveAfter || (t.get() != it->get() && t->orderSensitive);
    if (!state.orderSensitive()) checkCanBecomeOrderSensitive(sensitiveAfter, "configure");
    std::string before = (*it)->config.toString();
    catalog::saveConfig(state.db, updated, before, state.clock.nowMillis());
    **it = std::move(updated);
  }

  template <class F>
  auto asApplier(F&& body) {
    if (state.db.inTransaction())
      throw Error(Status::busy("apply: a transaction is open on this site; commit or roll it back first"));
    applying = true;
    setTriggers(false);
    capture.suspend(true);
    struct Restore {
      Impl& impl;
      ~Restore() {
        impl.capture.suspend(false);
        impl.applying = false;
        impl.setTriggers(impl.userTriggers);
      }
    } restore{*this};
    begin();
    try {
      Capture::Unhooked unhooked(capture);  // suspended capture records nothing: spare SQLite the hook
      auto result = body();
      commitNow();
      return result;
    } catch (...) {
      rollbackQuietly();
      throw;
    }
  }

  void setTriggers(bool on) {
    sqlite3_db_config(state.db.raw(), SQLITE_DBCONFIG_ENABLE_TRIGGER, on ? 1 : 0, nullptr);
  }

  // REQUIRES: before a write statement runs, in the transaction it runs in. Turns this
  // connection's triggers on iff the schema has triggers of its own (a change of the setting
  // expires prepared statements, so they are recompiled with or without them).
  void syncTriggers() {
    if (applying || triggersChecked) return;
    triggersChecked = !schemaStatementPrepared;  // else the statement about to run may change it
    auto& version = state.db.cached("PRAGMA schema_version");
    version.step();
    std::int64_t now = version.int64(0);
    version.reset();
    if (now == triggerSchema && !tempTriggersChanged) return;
    auto& others = state.db.cached(
        "SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND NOT (name LIKE 'parley\\_guard\\_%' ESCAPE '\\' "
        "AND sql LIKE '% BEGIN SELECT parley_guard(); END') UNION ALL SELECT 1 FROM sqlite_temp_schema "
        "WHERE type = 'trigger'");
    bool found = others.step();
    others.reset();
    triggerSchema = now;
    tempTriggersChanged = false;
    if (found != userTriggers) setTriggers(found);
    userTriggers = found;
  }
};

}  // namespace parley
