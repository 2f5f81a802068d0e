// Site: one replicated SQLite database.
//
// A site is an SQLite file (or ":memory:") holding user tables and parley's metadata
// (tables prefixed parley_) in the same file, so one COMMIT covers both. Writes to tracked
// tables made through exec() are captured, whatever SQL makes them (UPSERT, REPLACE,
// triggers, foreign-key actions); a write through a plain sqlite3 connection fails with
// "no such function: parley_guard" instead of going untracked.
//
// Every committed local transaction that changes tracked rows becomes one Transaction in the
// log. changesSince() hands out what a peer lacks; apply() folds remote transactions in.
//
// Thread-safety: a Site is used by one thread at a time. Time, ids and resolvers are injected
// through SiteOptions.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

struct SiteOptions {
  Clock* clock = nullptr;  // required; must outlive the site
  std::shared_ptr<const ResolverProvider> resolvers;  // required
  std::chrono::milliseconds maxClockSkew{std::chrono::minutes(1)};
};

struct CreateOptions {
  std::string name;
  IdSource* ids = nullptr;            // required
  std::optional<SiteId> clusterId;    // join this cluster; a new one is made if empty
};

struct QueryResult {
  std::vector<std::string> columns;  // of the last statement that returned rows
  std::vector<Row> rows;
  std::int64_t changes = 0;  // rows changed by the last statement
};

enum class ConflictKind : std::uint8_t { kCell, kInsertInsert, kUpdateDelete, kDeleteUpdate };

// A conflict met while applying remote transactions.
struct ConflictReport {
  ConflictKind kind = ConflictKind::kCell;
  std::string table;
  Row pk;
  std::string column;  // empty for row-level conflicts
  std::string resolver;
  Value localValue;
  Dots localDots;
  Stamp localStamp;
  Value remoteValue;
  Dot remoteDot;
  Stamp remoteStamp;
  Value result;       // the cell's value afterwards (cell conflicts)
  bool remoteWon = false;
};

struct ApplyResult {
  std::size_t applied = 0;     // transactions newly applied
  std::size_t duplicates = 0;  // already held: ignored
  std::size_t refolded = 0;    // held transactions undone and re-applied after a late arrival
  std::vector<ConflictReport> conflicts;
  std::vector<std::string> warnings;  // e.g. clock skew beyond the bound
};

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

  // Starts replicating `table`. Its existing rows become this site's first transaction on it.
  // Refuses, saying why, tables parley cannot replicate safely (no PRIMARY KEY, generated
  // columns, a key column with a non-binary collation, parley's own tables, views...).
  // REQUIRES: no transaction open on the site.
  Status track(std::string_view table);
  std::vector<std::string> trackedTables() const;
  // The columns of a tracked table, in declaration order.
  Result<std::vector<std::string>> columns(std::string_view table) const;

  // Runs one or more SQL statements. Statements outside BEGIN..COMMIT commit one by one;
  // BEGIN/COMMIT/SAVEPOINT/RELEASE/ROLLBACK work as in SQLite, across calls too.
  // Returns the rows of the last statement that produced rows.
  Result<QueryResult> exec(std::string_view sql);
  // Runs one statement with bound parameters (?1, ?2, ...).
  Result<QueryResult> exec(std::string_view sql, const std::vector<Value>& params);

  VersionVector vector() const;
  Hlc lastHlc() const;
  // Every held transaction `peer` lacks, from any origin, in canonical (hence causal) order.
  Result<std::vector<Transaction>> changesSince(const VersionVector& peer) const;
  // Applies remote transactions atomically: all of them or, on error, none. Ones already held
  // are ignored; ones whose causal context is not held are refused with kNotReady naming
  // what is missing, and nothing is applied.
  // REQUIRES: no transaction open on the site.
  Result<ApplyResult> apply(std::span<const Transaction> transactions);

  // A hash of the tracked tables, their columns and the resolver configuration. Sites whose
  // fingerprints differ must not exchange transactions.
  std::string schemaFingerprint() const;

 private:
  struct Impl;
  explicit Site(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley
