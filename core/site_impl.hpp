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
#include "apply_state.hpp"
#include "capture.hpp"
#include "catalog.hpp"
#include "commit.hpp"
#include "finality.hpp"
#include "parley/site.hpp"
#include "savepoints.hpp"
#include "schema_change.hpp"
#include "statement.hpp"
#include "store.hpp"

namespace parley {

// Runs `body`, turning thrown parley::Errors into a Status, and a failed PARLEY_ASSERT into one
// of code kInternal (parley/assert.hpp).
template <class F>
auto guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error& e) {
    return e.status();
  } catch (const InternalError& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return Status::ioError("out of memory");
  }
}

bool isMemory(const std::string& path);

struct Site::Impl {
  Impl(const std::string& path, const SiteOptions& options)
      : state(path, *options.clock, options.maxClockSkew), capture(state) {
    state.resolvers = options.resolvers;
    state.applyChunkRows = std::max<std::size_t>(1, options.applyChunkRows);
    state.checkCapture = options.checkCapture;
    installAuthorizer();
    state.applySchema = [this](const Transaction& t, std::vector<ConflictReport>& conflicts,
                               std::vector<SchemaUndo>& undo) { applySchemaTransaction(t, conflicts, undo); };
    state.undoSchema = [this](const Transaction& t, const std::vector<SchemaUndo>& undo) {
      undoSchemaTransaction(t, undo);
    };
    sqlite3_create_function_v2(state.db.raw(), "parley_guard", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC, this,
                               &Impl::guardFunction, nullptr, nullptr, nullptr);
  }

  ApplyState state;
  Capture capture;
  // The statements exec() ran most recently, kept prepared: an application running the same
  // INSERT or UPDATE with new parameters does not pay for parsing it each time.
  sql::StmtCache userStatements{32};
  SavepointStack savepoints;
  std::int64_t dataVersion = -1;  // PRAGMA data_version when the cache was last loaded
  std::string deniedSchemaChange;  // set by the authorizer
  std::string deniedIndexChange;   // likewise: the tracked table of a refused CREATE/DROP INDEX
  std::string deniedUntracking;    // likewise: a table being untracked (site_untrack.cpp)
  // While a user statement is being prepared, the authorizer tells it what SQLite compiles.
  StatementClassifier classifier;
  bool classifying = false;
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
  // Guard triggers (createGuards) make writes to tracked tables through a connection that does
  // not capture fail. Their condition asks parley_guard() for this token, kept in parley_meta:
  // a no-op parley_guard another program defines does not return it. Empty on a site whose
  // guards predate tokens (they only call parley_guard()) until it next tracks a table.
  std::string guardToken;
  // Set when the site opens or reloads its tables: a tracked table's guard trigger is missing
  // or altered, so writes may have bypassed capture. Writes and syncs are refused until
  // restoreGuards(); reads work.
  std::optional<std::string> guardProblem;
  // Likewise, set when a tracked table's columns are not what parley recorded (changedOutside).
  std::optional<std::string> schemaProblem;
  bool changingGuards = false;  // lets the authorizer allow parley's own DROP TRIGGER

  // Schema changes (core/site_schema.cpp). A user's ALTER TABLE or CREATE/DROP INDEX of a tracked
  // table, as the authorizer saw it prepared: what SQLite action, on which table, which index.
  struct SchemaStatement {
    int action = 0;
    std::string table;
    std::string index;
  };
  std::optional<SchemaStatement> schemaStatement;
  bool changingSchema = false;          // parley runs DDL of its own (a remote change, a track)
  bool statementTransaction = false;    // the open transaction is the one runStatement opened for one statement
  // The changes this transaction made, logged as one schema transaction at its commit, before
  // its data (a write to a new column has the change in its causal past).
  std::vector<SchemaChange> pendingSchema;
  // What undoing them restores (the configuration before a configure, an index created or
  // dropped), saved as the schema transaction's undo record.
  std::vector<SchemaUndo> pendingSchemaUndo;
  // The CREATE INDEX of the index a DROP INDEX statement is about to drop (beforeSchemaStatement).
  std::optional<std::string> droppingIndexSql;
  // After a user statement ran: what the schema statement it was changed, checked and noted.
  void noteSchemaStatement(sql::Stmt& stmt);
  // Before it runs, in its transaction: a table tracked by hand keeps its fingerprint as it was.
  void beforeSchemaStatement();
  void noteAlter(TableInfo& t, std::string_view statement);
  void noteIndex(TableInfo& t, const SchemaStatement& st);
  // REQUIRES: inside the write transaction that made the changes.
  void logPendingSchema();
  // After a rollback: the changes are undone, and so is what the tables' shapes say.
  void forgetPendingSchema();
  // Applies a remote schema transaction (the apply engine calls it through ApplyState), and
  // undoes one in a re-fold as its undo record says.
  void applySchemaTransaction(const Transaction& t, std::vector<ConflictReport>& conflicts,
                              std::vector<SchemaUndo>& undo);
  void undoSchemaTransaction(const Transaction& t, const std::vector<SchemaUndo>& undo);
  void applyChange(const SchemaChange& c, const Stamp& stamp, const Dot& dot, std::vector<ConflictReport>& conflicts,
                   std::vector<SchemaUndo>& undo);
  void applyTrack(const SchemaChange& c, const Stamp& stamp, std::vector<SchemaUndo>& undo);
  void applyAddColumn(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                      std::vector<ConflictReport>& conflicts);
  void applyRename(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                   std::vector<ConflictReport>& conflicts);
  // Puts `config` in force as made at `stamp`; what it replaces goes to `undo` when given.
  void applyConfigure(TableInfo& t, const std::string& config, const Stamp& stamp,
                      std::vector<SchemaUndo>* undo = nullptr);
  // A UNIQUE index at its place in canonical order: created if the table's rows hold no
  // duplicates of its key, else not created and logged (kind schema) with one duplicated key.
  void applyUniqueIndex(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                        std::vector<ConflictReport>& conflicts, std::vector<SchemaUndo>& undo);
  void applyDropIndex(TableInfo& t, const SchemaChange& c, std::vector<SchemaUndo>& undo);
  // The smallest key of `createIndex` (a CREATE UNIQUE INDEX of `t`) that two rows share, as
  // SQL literals ("'ann', 3"); nullopt if none is found.
  std::optional<std::string> duplicatedKey(const TableInfo& t, const std::string& createIndex);
  // After an index of `t` was created or dropped: whether its rows are constrained, and so how
  // they fold and are written.
  void refreshConstraints(TableInfo& t);
  void applyDropColumn(TableInfo& t, const SchemaChange& c, const Dot& dot, const Stamp& stamp,
                       std::vector<ConflictReport>& conflicts);
  // After column `pos` of `t` was dropped from SQLite: its id is remembered as dropped, and
  // its cells leave every row's metadata, the undo records and the table's digest.
  void forgetColumn(TableInfo& t, std::uint32_t pos);
  // Re-reads a tracked table's shape from SQLite after DDL: columns, key, SQL, resolvers. `ids`:
  // the id of each column now (empty: positions).
  void reshape(TableInfo& t, std::vector<std::uint32_t> ids, std::vector<std::optional<Value>> defaults,
               std::vector<Stamp> renamedAt);
  // Before the first change of a table tracked before schema changes replicated: keeps its
  // description as it was, which its fingerprint stays (site_decisions.cpp).
  void freezeBase(const TableInfo& t);
  // The fingerprint's lines of a table as it is now (site_decisions.cpp).
  std::vector<std::string> describe(const TableInfo& t);
  // What parley made a replicated table look like, kept after each change it makes, and what
  // differs from it now (a change made with another program), if anything.
  void recordShape(const TableInfo& t);
  std::optional<std::string> shapeChangedOutside(const TableInfo& t);
  TableInfo* mutableTable(std::string_view name);
  // Runs DDL of parley's own (the authorizer lets it through).
  void execDdl(const std::string& sql);

  // Untracking (core/site_untrack.cpp). A table tracked by hand is forgotten at once; one
  // tracked everywhere is marked by a schema transaction and forgotten once that is final.
  // REQUIRES: inside a write transaction.
  void untrack(std::string_view name);
  void applyUntrack(TableInfo& t, const Dot& dot);
  // Stops capturing the table and drops its guards; its metadata stays for the remote writes
  // still to come.
  void markUntracking(TableInfo& t, const Dot& dot);
  // Forgets every table whose untrack is final here. REQUIRES: inside a write transaction.
  void finishUntracks();
  void forgetTable(const TableInfo& t);
  // Two definitions of one added column (core/site_column_definition.cpp): the first in
  // canonical order wins; the definition in force and its stamp are kept per column.
  struct ColumnDefinition {
    Stamp stamp;      // of the first add in canonical order held
    std::string sql;  // its definition
    bool typeless = false;  // two held definitions differ in type affinity: the type is BLOB
    std::string inForce() const;  // the definition as SQLite holds it
  };
  std::optional<ColumnDefinition> columnDefinition(const std::string& table, std::uint32_t id);
  void keepColumnDefinition(const std::string& table, std::uint32_t id, const ColumnDefinition& d);
  void settleColumnDefinition(TableInfo& t, std::uint32_t pos, const SchemaChange& c, const Dot& dot,
                              const Stamp& stamp, std::vector<ConflictReport>& conflicts);
  void redefineColumn(TableInfo& t, std::uint32_t pos, const std::string& from, const std::string& to);
  // The table's digest from its rows as they are now.
  void recomputeDigest(const TableInfo& t);
  void dropGuards(const TableInfo& t);
  void loadUntracks();
  bool deniesWhileUntracking(int action, const char* table);
  static std::string untrackingMessage(const std::string& table);

  // The schema as the fingerprint sees it (schema_text.hpp), kept until PRAGMA schema_version
  // or a table's resolver configuration changes. site_decisions.cpp.
  struct SchemaCache {
    std::int64_t version = -1;
    std::string configKey;
    std::vector<std::string> lines;
    std::string fingerprint;
    std::vector<std::string> current;  // every tracked table as it is (Replication::schemaNow)
  } schemaCache;
  const SchemaCache& schema();

  void configure(const std::string& path, std::size_t cacheKiB) {
    if (!isMemory(path)) state.db.exec("PRAGMA journal_mode = WAL");
    state.db.exec("PRAGMA synchronous = NORMAL");
    // Capture and apply read a row's metadata next to the row itself: give both room.
    state.db.exec(fmt::format("PRAGMA cache_size = -{}", cacheKiB));
  }

  void load() {
    catalog::upgrade(state.db);
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
    schemaProblem.reset();
    for (auto& t : catalog::loadTables(state.db)) {
      if (!schemaProblem) schemaProblem = changedOutside(t);
      t.constrained = hasConstraints(state.db, t);
      bindStored(t);
      tables.push_back(std::make_unique<TableInfo>(std::move(t)));
    }
    capture.forgetTables();
    state.tables = std::move(tables);
    for (const auto& t : state.tables)
      if (!schemaProblem && t->trackedAt != Stamp{}) schemaProblem = shapeChangedOutside(*t);
    loadUntracks();
    checkGuards();
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
    guardToken = catalog::metaText(state.db, "guard_token").value_or("");  // a rollback may undo a new one
    state.settled = VersionVector{};
    state.ackDigest.reset();
    state.forgotten.reset();
    state.contexts.clear();
    state.undo = {};
    state.skewRecords.reset();
    state.sites.load(state.db);
    state.digests.load(state.db);
    state.vector = store::loadVector(state);
    state.frontier = store::lastStamp(state, state.vector);
    state.compactedStamp = store::compactedStamp(state.db);
    state.orderBarrier = store::orderBarrier(state.db);
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

  // A configure of a table tracked by hand is not a transaction: it has no place in canonical
  // order, so a re-fold reaching back before it would fold earlier writes by the new resolvers.
  // Making a site order-sensitive that way needs every held transaction final (no re-fold can
  // reach back before now). A replicated configure is a transaction, folded in its place.
  void checkCanBecomeOrderSensitive(bool orderSensitiveAfter, std::string_view what) {
    if (!orderSensitiveAfter || state.orderSensitive()) return;
    finality::settle(state);  // a lone site's own transactions are final once settled
    if (store::allFinal(state.db)) return;
    throw Error(Status::invalidArgument(fmt::format(
        "{}: this makes the site order-sensitive (fww, reject, callbacks, constraints), which needs every "
        "held transaction to be final first; sync with every site, then retry",
        what)));
  }

  // What is wrong with a tracked table whose shape is not what parley recorded (a change made
  // with another program): reads work, writes and syncs are refused until it is undone.
  std::optional<std::string> changedOutside(const TableInfo& stored) {
    std::string now;
    try {
      TableInfo shape = inspectTable(state.db, stored.name);
      if (shape.columns == stored.columns && shape.pk == stored.pk) return std::nullopt;
      now = "it now has columns (" + joined(shape.columns) + ")";
    } catch (const Error& e) {
      now = e.status().message();
    }
    return fmt::format(
        "tracked table \"{}\" was changed outside parley (parley recorded columns ({}); {}); reads work, but writes "
        "and syncs are refused until the change is undone: put the table back as it was (with the program that "
        "changed it), then make the change through parley (parley exec SITE \"ALTER TABLE ...\"), which replicates it",
        stored.name, joined(stored.columns), now);
  }
  static std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  // The authorizer (site_authorizer.cpp): tells the classifier what a statement compiles to,
  // refuses dropping a tracked table or parley's triggers, and notes schema statements.
  void installAuthorizer();
  static int authorize(void* self, int action, const char* a, const char* b, const char*, const char*);
  // Anything but reading, calling functions, transaction control, reading a pragma and writing
  // rows of a table other than SQLite's schema tables. ROLLBACK TO may undo a CREATE or DROP.
  static bool mayChangeSchema(int action, const char* arg, const char* arg2);

  Status userError(const Status& cause) {
    std::string what = cause.message();
    if (!deniedSchemaChange.empty()) {
      what = fmt::format("\"{}\" is replicated by parley: dropping it is not supported",
                         deniedSchemaChange);
      deniedSchemaChange.clear();
    }
    if (!deniedUntracking.empty()) what = untrackingMessage(std::exchange(deniedUntracking, {}));
    if (!deniedIndexChange.empty()) {
      what = fmt::format("\"{}\" is replicated by parley: change its schema in a statement of its own, outside "
                         "BEGIN...COMMIT (each schema change is a replicated transaction); nothing was changed",
                         deniedIndexChange);
      deniedIndexChange.clear();
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
    logPendingSchema();
    if (!capture.hasPending()) return;
    refresh(false);
    Capture::Unhooked unhooked(capture);  // commitLocal writes only parley's own tables
    TouchedRows rows = capture.take();
    commitLocal(state, rows);
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

  // Runs `write` in a transaction of its own and commits it at once (nothing in it is captured);
  // rolls back and rethrows if it throws.
  template <class F>
  auto writeNow(F&& write) {
    begin();
    try {
      if constexpr (std::is_void_v<decltype(write())>) {
        write();
        commitNow();
      } else {
        auto result = write();
        commitNow();
        return result;
      }
    } catch (...) {
      rollbackQuietly();
      throw;
    }
  }

  void rollbackQuietly() {
    if (state.db.inTransaction()) sqlite3_exec(state.db.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    forgetPendingSchema();
    capture.clear();
    savepoints.clear();
    reloadState();
    commitFollowUps();
  }

  // Commits, each as a transaction of its own, the operations a strategy asked for when it
  // refused the commit just rolled back (CaptureState::followUps). One that fails is dropped: the
  // refusal is what the caller hears about.
  void commitFollowUps() {
    std::vector<CaptureState::FollowUp> ops;
    std::swap(ops, state.followUps);
    for (const auto& f : ops) {
      const TableInfo* t = state.table(f.table);
      if (!t) continue;
      try {
        begin();
        parley::commitOperation(state, *t, f.pk, f.column, f.op);
        commitNow();
      } catch (...) {
        state.followUps.clear();
        if (state.db.inTransaction()) sqlite3_exec(state.db.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
        reloadState();
      }
    }
  }

  // Running SQL text (core/site_exec.cpp).
  QueryResult execAll(std::string_view sql, const std::vector<Value>* params);
  // The statements of a text, prepared one at a time (each after the previous one ran, so
  // that it sees what they created), each with what SQLite's parser says it is.
  class Statements;
  // Runs the text's statements as one transaction, all or nothing, unless a statement in it
  // manages transactions itself or must not run in one: then the text runs as execAll() runs
  // it, as written. REQUIRES: no transaction open (else it is execAll()).
  QueryResult execAtomically(std::string_view sql);
  static void bindAll(sql::Stmt& stmt, const std::vector<Value>& params);
  // What a kept statement is: only data statements are kept.
  static inline const StatementInfo kDataStatement{StatementKind::kOther, {}, true};
  void runStatement(sql::Stmt& stmt, const StatementInfo& info, QueryResult& out);
  // Before COMMIT: records the pending changes, or rolls the whole transaction back.
  void recordOrRollBack();
  void collectRows(sql::Stmt& stmt, QueryResult& out);
  void afterStatement(const StatementInfo& info, bool wasInTxn);

  // Tracking and configuring (core/site_tracking.cpp). REQUIRES: inside a write transaction.
  void track(std::string_view name, const std::optional<TableConfig>& config, bool replicate);
  void configure(std::string_view name, const TableConfig& config);
  // The schema transaction of a track: the table's CREATE TABLE, its configuration, its indexes.
  void noteTrack(const TableInfo& t);

  // Guard triggers (site_guards.cpp).
  static void guardFunction(sqlite3_context* ctx, int, sqlite3_value**);
  // The guard trigger's text exactly as SQLite keeps it in sqlite_schema.
  std::string guardSql(const TableInfo& t, const char* op) const;
  // REQUIRES: inside a write transaction. The first guard since tokens gives every guard one.
  void createGuards(const TableInfo& t);
  void replaceGuards(const TableInfo& t);
  // Whether every tracked table's guards are in place, as createGuards() made them: sets
  // guardProblem.
  void checkGuards();
  // Drops and recreates every tracked table's guards. REQUIRES: inside a write transaction.
  void restoreGuards();
  // REQUIRES: before anything that writes or syncs. Throws the guard problem, if any.
  void requireGuards() const {
    if (schemaProblem) throw Error(Status::corruption(*schemaProblem));
    if (guardProblem) throw Error(Status::corruption(*guardProblem));
  }

  std::optional<std::string> tableSql(const std::string& name) {
    auto& find = state.db.cached("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1");
    find.bindText(1, name);
    std::optional<std::string> sql;
    if (find.step() && !find.isNull(0)) sql = find.text(0);
    find.reset();
    return sql;
  }

  // Runs `body` in a write transaction with triggers off and capture suspended: what remote
  // transactions do is not a local change and must not fire local triggers again.
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
        impl.setTriggers(impl.triggersAfterApply());
      }
    } restore{*this};
    begin();
    try {
      requireGuards();
      Capture::Unhooked unhooked(capture);  // suspended capture records nothing: spare SQLite the hook
      auto result = body();
      finishUntracks();
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
    decideTriggers(now);
  }

  // What this connection's triggers are set to after an apply: as last decided for user
  // statements, or, when none ran yet (a connection that only applies: serve, the relay), as the
  // schema has them, decided now and kept. Turning them back on for nothing expired every
  // prepared statement after every apply, to be compiled again at the next.
  bool triggersAfterApply() noexcept {
    if (triggerSchema >= 0) return userTriggers;
    try {
      auto& version = state.db.cached("PRAGMA schema_version");
      version.step();
      std::int64_t now = version.int64(0);
      version.reset();
      decideTriggers(now);
    } catch (...) {
      return true;
    }
    return userTriggers;
  }

  void decideTriggers(std::int64_t schemaVersion) {
    auto& others = state.db.cached(
        "SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND NOT (name LIKE 'parley\\_guard\\_%' ESCAPE '\\' "
        "AND (sql LIKE '% BEGIN SELECT parley_guard(); END' OR sql LIKE '% BEGIN SELECT RAISE(ABORT, %) WHERE "
        "parley_guard() IS NOT %; END')) UNION ALL SELECT 1 FROM sqlite_temp_schema WHERE type = 'trigger'");
    bool found = others.step();
    others.reset();
    triggerSchema = schemaVersion;
    tempTriggersChanged = false;
    if (found != userTriggers) setTriggers(found);
    userTriggers = found;
  }
};

}  // namespace parley
