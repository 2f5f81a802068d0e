// Site: one replicated SQLite database.
//
// A site is an SQLite file (or ":memory:") holding user tables and parley's metadata
// (tables prefixed parley_) in the same file, so one COMMIT covers both. Writes to tracked
// tables made through exec() are captured, whatever SQL makes them (UPSERT, REPLACE,
// triggers, foreign-key actions); a write through a plain sqlite3 connection fails with
// "no such function: parley_guard" instead of going untracked.
//
// Every committed local transaction that changes tracked rows becomes one Transaction in the
// log. This class is what an application uses: open, track and configure, exec, conflicts and
// decisions, waiting for a commit token, backups and clones. What moves transactions between
// sites (changesSince, apply), compares sites, and keeps membership is site.replication()
// (parley/replication.hpp).
//
// Thread-safety: a Site is used by one thread at a time. Time, ids and resolvers are injected
// through SiteOptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/apply_result.hpp"
#include "parley/conflict.hpp"
#include "parley/crdt/bounded_counter.hpp"
#include "parley/crdt/site_id.hpp"
#include "parley/crdt/version_vector.hpp"
#include "parley/hlc.hpp"
#include "parley/resolver.hpp"
#include "parley/status.hpp"
#include "parley/transaction.hpp"
#include "parley/value.hpp"

namespace parley {

// Source of new site and cluster ids.
class IdSource {
 public:
  virtual ~IdSource() = default;
  virtual SiteId newId() = 0;
};

// Random version-4 UUIDs from Boost.UUID's generator.
class RandomIdSource final : public IdSource {
 public:
  RandomIdSource();
  ~RandomIdSource() override;
  SiteId newId() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Always the same id: for a site whose id a test or a simulation chooses.
class FixedIdSource final : public IdSource {
 public:
  explicit FixedIdSource(SiteId id) : id_(id) {}
  SiteId newId() override { return id_; }

 private:
  SiteId id_;
};

struct SiteOptions {
  Clock* clock = nullptr;  // required; must outlive the site
  // Resolves the strategy names tables are configured with; required. Its defaults() is the
  // configuration of a table tracked without one.
  std::shared_ptr<const ResolverProvider> resolvers;
  std::chrono::milliseconds maxClockSkew{std::chrono::minutes(1)};
  // A remote transaction with more rows than this is applied this many rows at a time, under
  // a savepoint, so that applying it holds one chunk's rows in memory rather than all of them.
  // The outcome does not depend on it. Transactions touching a table with constraints (UNIQUE,
  // CHECK, foreign keys) are applied whole: their rows may only fit together.
  std::size_t applyChunkRows = 65536;
  // A debugging aid for capture: every commit also re-reads each changed row and folds it the
  // general way, and fails if the captured image, the fast path's metadata or the encoded body
  // differ. Slows commits several times; for tests.
  bool checkCapture = false;
  // The SQLite page cache of the site's connection, in KiB; reads that sort (what a peer
  // lacks, in canonical order) use as much before spilling to temporary files. Two sites open
  // in one process (parley sync a.db b.db) each take their own.
  std::size_t cacheKiB = 65536;
};

struct CreateOptions {
  std::string name;
  IdSource* ids = nullptr;            // required
  std::optional<SiteId> clusterId;    // join this cluster; a new one is made if empty
};

// The rows one statement returned.
struct ResultSet {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

struct QueryResult {
  std::vector<std::string> columns;  // of the last statement that returned rows
  std::vector<Row> rows;
  std::int64_t changes = 0;  // rows changed by the last statement
  // The rows of each earlier statement of the text that returned rows, in order (the last
  // one's are `columns` and `rows`): what the sqlite3 shell prints, statement by statement.
  std::vector<ResultSet> earlier;
};

// The fold's decision on a held transaction.
struct Decision {
  bool rejected = false;
  bool final = false;  // no transaction can arrive any more that would change it
};

// What this site knows of a peer: what it acknowledged, and how far behind that is.
struct PeerStatus {
  SiteId site;
  std::string name;  // as its hello said at the last direct sync; empty if it never synced here
  VersionVector acknowledged;
  std::optional<std::uint64_t> lastSyncMs;  // when this site last synced with it directly
  std::uint64_t pending = 0;                // held transactions it has not acknowledged
  double lagSeconds = 0;                    // now minus the HLC time of the oldest of them
};

// What a `parley serve` process said of one peer it replicates with (Site::recordServe).
struct ServePeerRecord {
  std::string address;         // HOST:PORT, as given to --peer
  std::optional<SiteId> site;  // once a hello named it
  std::string name;
  std::string state;           // streaming, connected, retrying, never connected
  std::uint64_t sinceMs = 0;   // when it entered that state
  std::string lastError;       // empty if none yet
  std::uint64_t lastErrorMs = 0;
  std::uint64_t lastSuccessMs = 0;  // the last sync or stream connection that worked; 0: none
  std::uint64_t syncsFailed = 0;    // since serve started
  friend bool operator==(const ServePeerRecord&, const ServePeerRecord&) = default;
};

// What a `parley serve` process last said of itself and its peers, kept in the site file so that
// `parley status`, another process, can show connection state.
struct ServeReport {
  std::int64_t pid = 0;
  std::string host;             // the machine's hostname
  std::string listen;           // HOST:PORT it listens on
  std::uint64_t startedMs = 0;
  std::uint64_t updatedMs = 0;  // when serve last wrote this report (every few seconds while it runs)
  std::uint64_t stoppedMs = 0;  // when it stopped cleanly; 0 if it did not (yet)
  std::vector<ServePeerRecord> peers;
};

// Per resolver, the rows of the conflict log it produced, and how many of them are rejected
// writes.
struct ConflictCount {
  std::string resolver;
  std::uint64_t conflicts = 0;
  std::uint64_t rejected = 0;
};

// The newest transaction a site holds of one origin, and its hash (parley/transaction.hpp):
// the head of that origin's hash chain as the site knows it.
struct ChainHead {
  SiteId site;
  std::uint64_t seq = 0;
  ChainHash hash;  // empty if that transaction has none
};

// A tracked table's state digest (core/digest.hpp): 32 hex digits, equal at two sites iff
// (but for a 2^-128 chance) their rows are equal.
struct TableDigest {
  std::string table;
  std::string digest;
  friend bool operator==(const TableDigest&, const TableDigest&) = default;
};

// What verify() found: per tracked table, the digest kept up to date by commits and applies
// and the one recomputed from the rows. They differ when rows were written behind parley's
// back (a dropped guard trigger, another program).
struct DigestCheck {
  std::string table;
  std::string kept;
  std::string recomputed;
  std::uint64_t rows = 0;
  bool ok() const { return kept == recomputed; }
};

// A range of a tracked table's rows in key order: lo <= key < hi (an empty bound: unbounded).
struct KeyRange {
  Row lo, hi;
};
// What summarize() says of a range: enough to find the rows two sites hold differently without
// shipping the rows (parley/verify.hpp).
struct RangeSummary {
  std::uint64_t rows = 0;
  std::string digest;             // of the range's rows (as TableDigest)
  std::optional<Row> middle;      // the key of the range's row at position rows / 2, if any
  std::vector<std::pair<Row, std::string>> keys;  // when rows <= the asked limit: each key and its row's digest
};

class Replication;

class Site {
 public:
  // Creates a new site in `path` (a new file, or ":memory:"). Fails if it is already a site.
  static Result<std::unique_ptr<Site>> create(const std::string& path, const CreateOptions& create,
                                              SiteOptions options);
  // Opens an existing site.
  static Result<std::unique_ptr<Site>> open(const std::string& path, SiteOptions options);
  ~Site();
  Site(const Site&) = delete;
  Site& operator=(const Site&) = delete;

  const SiteId& id() const;
  const SiteId& clusterId() const;
  const std::string& name() const;

  // Starts replicating `table`, resolving its conflicts as `config` says (the resolver
  // provider's defaults if none). Its existing rows become this site's first transaction on it.
  // Refuses, saying why, tables parley cannot replicate safely (no PRIMARY KEY, generated
  // columns, a key column with a non-binary collation, parley's own tables, views...).
  // track() tracks it at this site only: every site of the cluster creates and tracks the table
  // the same way itself (a cluster whose schema a script sets up at each site, as
  // parley::testing::Cluster does), and syncs compare it by the schema fingerprint.
  // trackEverywhere() also logs the table's definition, indexes and configuration as a schema
  // transaction, so it reaches every site by sync: tracking at one site is enough (README,
  // "Changing the schema"; `parley track` does this). Later changes of either kind of table
  // (ALTER TABLE, indexes, configure) replicate.
  // REQUIRES: no transaction open on the site.
  Status track(std::string_view table, std::optional<TableConfig> config = std::nullopt);
  Status trackEverywhere(std::string_view table, std::optional<TableConfig> config = std::nullopt);
  // Stops replicating `table`; its rows stay as a plain table. One tracked with track() is
  // untracked at this site only, at once. One tracked with trackEverywhere() is untracked at
  // every site by a schema transaction: writes made here from now on are not replicated, while
  // writes made at sites that had not received the untrack yet still arrive and apply
  // everywhere; once every site holds the untrack, parley forgets the table (README, "Changing
  // the schema"). trackedTables() no longer lists it. REQUIRES: no transaction open.
  Status untrack(std::string_view table);
  // Changes how a tracked table resolves conflicts, and records the change. For a table tracked
  // with trackEverywhere() the change is a schema transaction that reaches every site (the
  // later of two concurrent ones wins); for one tracked with track(), every site of the cluster
  // must make the same change: sites whose fingerprints differ refuse to sync.
  // Switching a site to order-sensitive resolution (fww, reject, ...) needs every held
  // transaction to be final, since re-folding needs undo records kept from then on.
  Status configure(std::string_view table, const TableConfig& config);
  Result<TableConfig> config(std::string_view table) const;
  std::vector<std::string> trackedTables() const;
  // The columns of a tracked table, in declaration order.
  Result<std::vector<std::string>> columns(std::string_view table) const;

  // Runs one or more SQL statements. Statements outside BEGIN..COMMIT commit one by one;
  // BEGIN/COMMIT/SAVEPOINT/RELEASE/ROLLBACK work as in SQLite, across calls too.
  // Returns the rows of the last statement that produced rows.
  Result<QueryResult> exec(std::string_view sql);
  // Runs one statement with bound parameters (?1, ?2, ...).
  Result<QueryResult> exec(std::string_view sql, const std::vector<Value>& params);
  // Runs the statements of `sql` as one transaction: all of them or, if one fails, none.
  // Text that manages transactions itself (BEGIN, COMMIT, SAVEPOINT, RELEASE, ROLLBACK) or
  // holds a statement SQLite runs only outside one (VACUUM, ATTACH, DETACH, PRAGMA) runs as
  // exec() runs it. SQLite's parser tells which statements those are, not their text.
  // Inside an open transaction it is exec().
  Result<QueryResult> execAtomically(std::string_view sql);

  // Commits, as a transaction of its own, a strategy operation on one cell: a write of `op`
  // that leaves the row's values as they are and that only the column's strategy interprets
  // (a bounded counter's rights transfer, parley/resolvers/bounded.hpp). It replicates like
  // any transaction. The strategy checks it first (ColumnResolver::admitLocal) and its refusal
  // is returned. kNotFound if the row does not exist.
  // REQUIRES: no transaction open on the site.
  Result<Dot> commitOperation(std::string_view table, const Row& pk, std::string_view column, const Value& op);
  // What a counter strategy keeps in a cell: its value and each site's contribution and rights
  // moves (parley/crdt/bounded_counter.hpp; empty for other strategies).
  struct CellState {
    Row pk;
    Value value;
    BoundedCounter state;
  };
  // The cell of `column` in each live row of `table`, in key order.
  Result<std::vector<CellState>> cellStates(std::string_view table, std::string_view column) const;
  // The cell of one row; nullopt if the row does not exist.
  Result<std::optional<CellState>> cellState(std::string_view table, const Row& pk,
                                             std::string_view column) const;

  // What this site holds: per origin, the highest seq of its transactions. Re-read from the
  // database first if another connection (a `parley serve`, an import) wrote it since; an
  // error doing so is returned. A value: `site.vector().value().entries()` is safe to loop over.
  Result<VersionVector> vector() const;
  // Waits until this site holds everything in `token` (another site's vector after a write:
  // read-your-writes across sites), re-reading the database every `poll` while other
  // connections apply what arrives. kNotReady after `timeout`, in one line naming the token
  // (commitToken) and what the site holds. REQUIRES: no transaction open on the site.
  Status waitFor(const VersionVector& token, std::chrono::milliseconds timeout,
                 std::chrono::milliseconds poll = std::chrono::milliseconds(50)) const;
  // The clock the site was opened with (SiteOptions::clock).
  Clock& clock() const;

  // The conflict log, oldest first; only `table`'s rows when given.
  Result<std::vector<ConflictReport>> conflicts(std::optional<std::string> table = std::nullopt);
  // This site's own writes that the fold rejected, with the values they wanted.
  Result<std::vector<ConflictReport>> rejectedWrites();
  // The decision on a held transaction; kNotFound if it is not held.
  Result<Decision> decision(const Dot& dot);

  // Bytes copied so far and the database's size, for a progress display.
  using CopyProgress = std::function<void(std::uint64_t copied, std::uint64_t total)>;
  // Writes a consistent copy of the whole database to `path` (SQLite's backup API). With
  // `progress`, copies a few MB at a time and calls it after each step (a write by another
  // connection meanwhile makes SQLite restart the copy, so it stays consistent).
  Status backup(const std::string& path, const CopyProgress& progress = {});
  // Creates a new site at `path` from a snapshot of this one: same cluster, data, log and
  // configuration, a new id and name. Each registers the other as a member.
  Result<std::unique_ptr<Site>> clone(const std::string& path, const CreateOptions& create, SiteOptions options,
                                      const CopyProgress& progress = {});
  // Turns `path`, a snapshot of another site's database (a backup), into a new site of the
  // same cluster with a new id and name. The source is told about it when they next sync.
  static Result<std::unique_ptr<Site>> adoptSnapshot(const std::string& path, const CreateOptions& create,
                                                     SiteOptions options);

  // The replication side of this site: moving transactions (changesSince, apply), comparing
  // with peers, acknowledgements, membership and the operator's tools (parley/replication.hpp).
  // Sync, links, the simulated cluster and `parley` use it; an application needs only the above.
  Replication& replication();
  const Replication& replication() const;

 private:
  friend class Replication;
  struct Impl;
  explicit Site(std::unique_ptr<Impl> impl);
  Status track(std::string_view table, std::optional<TableConfig> config, bool replicate);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Replication> replication_;
};

// What differs between this site's schema description (Site::schemaDescription) and a peer's,
// in one line: "<peer> has no X; ...". Syncs say it when fingerprints differ.
std::string schemaDifference(const std::vector<std::string>& mine, const std::vector<std::string>& theirs,
                             std::string_view myName, std::string_view theirName);

// A commit token: a vector as "SITEID:SEQ,SITEID:SEQ" with full hex ids ("-" when empty), as
// `parley exec` prints it and `--after` reads it.
std::string commitToken(const VersionVector& v);
// The vector a commit token names; kInvalidArgument, saying the expected form, if `text` is not one.
Result<VersionVector> parseCommitToken(std::string_view text);

// The one line that refuses a forgotten site (Site::forget), naming it and the remedy.
std::string forgottenRefusal(const SiteId& site);

}  // namespace parley
