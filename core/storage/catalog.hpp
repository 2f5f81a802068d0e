// The catalog: parley's metadata tables in a site's SQLite file, the tracked tables' shape,
// and the mapping between global site ids and the small integers stored in metadata.
//
// Metadata tables (all prefixed parley_):
//   parley_meta(key, value)           site id, cluster id, name, format version
//   parley_sites(idx, id, name)       SiteId <-> local integer
//   parley_tables(id, name, columns)  tracked tables; columns encoded with codec
//   parley_rows_<table id>(pk, meta)  per-row metadata (row_meta.hpp) of one tracked table;
//                                     pk INTEGER PRIMARY KEY when the table's key is its rowid,
//                                     else the encoded key, WITHOUT ROWID
//   parley_ranges(tbl, lo, hi,        one metadata blob for a run of rowids [lo, hi] a local
//                 site, seq, meta)    transaction (site, seq) inserted (insert_ranges.hpp)
//   parley_log(site, seq, hlc, body,  every held transaction, body = txn_codec encoding, the
//              rejected, ctx,         fold's decision on it, its full causal context or NULL
//              applied, undo)         (core/causal_context.hpp), and what re-folding needs to
//                                     undo it with its place in application order (undo.hpp;
//                                     format 7 kept these in parley_undo(site, seq, body),
//                                     still read where present)
//   parley_conflicts(...)             the conflict log (conflict_log.hpp)
//   parley_acks(site, vector,         the vector each known site has acknowledged holding, and
//               last_sync_ms)         when this site last synced with it directly
//   parley_compacted(site, seq,       per origin, the transactions compact() dropped (1..seq)
//                    context)         and the full causal context of the newest
//   parley_divergence(peer, name,     divergence found with a peer and not cleared since
//     detected_ms, message)
//   parley_digests(tbl, high, low)    per tracked table, the digest of its rows as of
//   parley_digest_base(site, seq)     these seqs; parley_log.digests has each later
//                                     transaction's change (core/digest.hpp)
// The site's version vector is not stored: per origin, the greatest seq in parley_log or
// parley_compacted.
//   parley_config_changes(...)        every change of a table's resolver configuration
//   parley_clock_skew(site, source,   per origin whose transactions arrived beyond the clock skew
//     ahead_ms, at_ms, last_ms,       bound: whose clock ran ahead, the greatest skew and when,
//     remote_ms)                      the last such arrival, its newest physical time (clock_skew.hpp)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "parley/crdt/site_id.hpp"
#include "parley/resolver.hpp"
#include "parley/transaction.hpp"
#include "sqlite.hpp"

namespace parley {

// 2: parley_log is WITHOUT ROWID keyed by (site, seq): one B-tree fewer per commit, and its
// hlc index covers the sync queries' (site, seq) filters; row metadata in one table per
// tracked table, keyed by the rowid when the key is one; no parley_vector table (derived).
// 3: parley_log bodies in the compact transaction encoding (parley/txn_codec.hpp) instead
// of packed Cap'n Proto.
// 4: no index on parley_log: finality is a watermark per origin (parley_final) instead of a
// column with a partial index, and re-folds find late transactions by each origin's HLCs,
// which grow with its seqs. A local commit writes one log page instead of three. The log is
// a rowid table keyed by site << 40 | seq: a table leaf holds bodies up to ~4 KB in place,
// where an index leaf (WITHOUT ROWID) spills those over ~1 KB to overflow pages.
// 5: transactions carry only the context entries grown since their origin's previous one
// (transaction format 3); parley_log.ctx and parley_compacted.context keep full contexts.
// 6: parley_ranges: a bulk insert's rows share one metadata row (core/insert_ranges.hpp);
// a row's own parley_rows row takes precedence.
// 7: one history per site: parley_log.hash and parley_compacted.hash keep each transaction's
// hash chain hash (transaction format 4); parley_digests keeps each tracked table's digest.
// 8: undo records in the log row (parley_log.undo, .applied) instead of parley_undo: a commit
// writes one B-tree row fewer. A file of format 7 is upgraded when opened (catalog::upgrade).
inline constexpr int kFormatVersion = 8;

struct TableInfo {
  std::int64_t id = 0;
  std::string name;
  std::vector<std::string> columns;  // declaration order
  std::vector<std::uint32_t> pk;     // indexes into columns, in primary-key order
  std::vector<bool> isKey;           // per column

  // Schema changes (core/schema_change.hpp). Per column, the id transactions name it by; empty
  // while every column's id is its position (no column was added or dropped).
  std::vector<std::uint32_t> ids;
  // Per column, the value an added column has in rows that never wrote it (its DEFAULT): the
  // digest leaves such cells out, so adding a column changes no row's digest. nullopt for the
  // columns the table was tracked with. Empty when `ids` is.
  std::vector<std::optional<Value>> addedDefaults;
  // Ids of dropped columns: writes to them are ignored.
  std::vector<std::uint32_t> droppedIds;
  // Per column, the stamp of the rename that gave it its name (zero: none); the latest wins.
  std::vector<Stamp> renamedAt;
  // The stamp of the transaction that tracked the table (zero: tracked before schema changes
  // replicated, at every site by hand) and of its configuration's latest change.
  Stamp trackedAt;
  Stamp configuredAt;
  // Set once the table is being untracked (core/site_untrack.cpp): the untrack's dot. Local
  // writes are no longer captured; remote writes made before their site held the untrack still
  // fold until the untrack is final, when parley forgets the table.
  std::optional<Dot> untrackedBy;
  bool untracking() const { return untrackedBy.has_value(); }
  std::uint32_t idAt(std::uint32_t position) const { return ids.empty() ? position : ids[position]; }
  std::optional<std::uint32_t> positionOfId(std::uint32_t id) const;
  bool dropped(std::uint32_t id) const;

  // Conflict resolution, bound from `config` by bindResolvers().
  TableConfig config;
  std::vector<const ColumnResolver*> resolvers;  // per column; nullptr for key columns
  // Per column, its strategy's coarse properties, read once by bindResolvers() so the fold
  // does not ask them per cell. All false for key columns.
  struct ColumnTraits {
    bool replacesWhenSuperseded = false;
    bool keepsContributions = false;
    bool foldsDeltas = false;
    bool checksLocalWrites = false;
  };
  std::vector<ColumnTraits> traits;
  const RowPolicy* insertInsert = nullptr;
  const RowPolicy* updateDelete = nullptr;
  const RowPolicy* deleteUpdate = nullptr;
  // The table has constraints a remote change can break (CHECK, UNIQUE, foreign keys).
  bool constrained = false;
  // Folding in arrival order can differ from canonical order for this table.
  bool orderSensitive = false;
  // A transaction writing this table may be rejected (a reject column or row policy, constraints).
  bool mayReject = false;
  // Some column's strategy checks local writes (ColumnResolver::checksLocalWrites).
  bool checksLocalWrites = false;

  // SQL built once, identifiers quoted.
  std::string selectByKey;  // every column, WHERE key = ?1..?k
  std::string insertRow;    // every column, ?1..?n in column order
  std::string updateRow;    // every non-key column (?n.. order of columns), WHERE key
  std::string deleteRow;    // WHERE key = ?1..?k
  std::string selectAll;    // every column, every row
  // Row metadata in parley_rows_<id>, keyed by the row's key (?1), blob ?2.
  bool integerKey = false;  // the key is the rowid: stored as the integer itself
  std::string metaSelect, metaInsert, metaUpdate, metaDelete;
  // The same writes for a whole batch (meta_batch.hpp, ?1 the batch): insert, and overwrite.
  std::string metaBatchInsert, metaBatchUpsert;
  // A row's metadata (?1) and, if stored, the row (key ?2..): meta, 1 if stored, every column.
  std::string stateSelect;
  // The same for many rows per statement (row_batch.hpp), only when integerKey: statements
  // for `rows` rows each, largest first, and a range read.
  struct BatchSql {
    int rows = 0;
    std::string stateSelect, update, metaWrite;
  };
  std::vector<BatchSql> batches;
  std::string stateRange;
  std::string valuesRange;  // the stored rows with rowids in [?1, ?2], the key first

  std::optional<std::uint32_t> columnIndex(std::string_view column) const;
};

// Reads the shape of `table` and checks parley can replicate it. Throws Error(Unsupported or
// InvalidArgument) saying why not.
TableInfo inspectTable(sql::Db& db, std::string_view table);
// Fills the SQL strings of `t` from its name and columns.
void prepareSql(TableInfo& t);
// Fills the row-metadata SQL of `t` (after its id is known).
void prepareMetaSql(sql::Db& db, TableInfo& t);
// Resolves `config`'s strategy names with `provider` into `t`. Throws Error(InvalidArgument)
// naming an unknown strategy or column.
void bindResolvers(TableInfo& t, const TableConfig& config, const ResolverProvider& provider);
// Whether `t` has constraints a remote change can break.
bool hasConstraints(sql::Db& db, const TableInfo& t);

class SiteTable {
 public:
  void load(sql::Db& db);
  // The local index of `id`, registering it if new. REQUIRES: inside a write transaction.
  std::uint32_t indexOf(sql::Db& db, const SiteId& id);
  // REQUIRES: idx was returned by indexOf or load.
  const SiteId& idAt(std::uint32_t idx) const;
  std::optional<std::uint32_t> find(const SiteId& id) const;

 private:
  std::vector<SiteId> ids_;  // idx -> id (idx 0 unused)
  std::unordered_map<SiteId, std::uint32_t, SiteIdHash> index_;
};

namespace catalog {

bool isSite(sql::Db& db);
void createSchema(sql::Db& db);
// Brings a file of an older format that this version can still read up to kFormatVersion
// (7 -> 8); leaves any other as it is, for the format check to refuse.
void upgrade(sql::Db& db);
std::optional<std::string> metaText(sql::Db& db, std::string_view key);
void setMeta(sql::Db& db, std::string_view key, std::string_view value);
SiteId metaId(sql::Db& db, std::string_view key);
void setMetaId(sql::Db& db, std::string_view key, const SiteId& id);
std::vector<TableInfo> loadTables(sql::Db& db);
void saveTable(sql::Db& db, TableInfo& t);
// Rewrites the stored shape of a tracked table (columns, key, ids, stamps) after a schema change.
void updateTable(sql::Db& db, const TableInfo& t);
// Stores `t.config` and records the change.
void saveConfig(sql::Db& db, const TableInfo& t, const std::string& before, std::uint64_t atMs);

}  // namespace catalog
}  // namespace parley
