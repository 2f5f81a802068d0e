// The conflict-resolution interface the apply engine calls, and per-table configuration.
// Declared in core; strategies live in resolvers/ and reach a Site through a ResolverProvider,
// which resolves the strategy names a table's TableConfig stores.
//
// The engine classifies every remote write against the cell's current dots: a write whose
// causal context covers them supersedes the local value; otherwise it is concurrent. What
// happens next depends on the column's kind:
//   kPick     concurrent writes go to resolve(), which keeps one value or makes one (lww, fww,
//             callbacks);
//   kMerge    numeric writes apply their delta new - old, always; non-numeric concurrent writes
//             go to resolve() (the fallback, lww by default);
//   kCounter  like kMerge, and the delta also grows the origin's PN-counter contribution;
//   kReject   a transaction is accepted only if every such cell it writes still holds exactly
//             the version it read (its base); otherwise the whole transaction is rejected.
// Resolvers must be deterministic functions of their arguments: every site calls them with
// the same arguments when it folds the same transactions in canonical order.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "parley/crdt/dot.hpp"
#include "parley/status.hpp"
#include "parley/transaction.hpp"
#include "parley/value.hpp"

namespace parley {

// One version of a cell: its value, the dots it reflects, and the stamp of its latest write.
struct CellVersion {
  Value value;
  Dots dots;
  Stamp stamp;
};

struct CellConflict {
  std::string_view table;
  std::string_view column;
  const Row& pk;
  CellVersion local;       // the version in place
  CellVersion remote;      // the incoming write; remote.dots is its transaction's dot
  const Value& remoteOld;  // the incoming write's before-image
};

enum class CellOutcome : std::uint8_t { kKeepLocal, kTakeRemote, kMerged };

struct CellResolution {
  CellOutcome outcome = CellOutcome::kKeepLocal;
  Value merged;  // used when outcome == kMerged
};

enum class ColumnKind : std::uint8_t { kPick, kMerge, kCounter, kReject };

class ColumnResolver {
 public:
  virtual ~ColumnResolver() = default;
  virtual std::string_view name() const = 0;
  virtual ColumnKind kind() const = 0;
  // Decides a concurrent write (kPick), or a non-numeric one (kMerge, kCounter).
  virtual CellResolution resolve(const CellConflict& conflict) const = 0;
  // True when applying writes in arrival order can differ from folding them in canonical
  // order. The engine then keeps undo records and re-folds late arrivals.
  virtual bool orderSensitive() const = 0;
};

enum class RowConflictKind : std::uint8_t {
  kInsertInsert,  // both sides created the same key concurrently
  kUpdateDelete,  // an incoming update or insert meets a concurrent delete in place
  kDeleteUpdate,  // an incoming delete meets a row changed concurrently
};

struct RowConflict {
  std::string_view table;
  const Row& pk;
  RowConflictKind kind;
  Stamp local;   // the latest write to the row in place (or its tombstone)
  Stamp remote;  // the incoming transaction
};

enum class RowOutcome : std::uint8_t {
  kKeepLocal,     // the row in place (present or deleted) stays
  kTakeRemote,    // the incoming operation wins: delete, resurrect, or its whole row
  kMergeColumns,  // insert/insert: resolve each column with its column resolver
  kReject,        // reject the incoming transaction, all of it
};

class RowPolicy {
 public:
  virtual ~RowPolicy() = default;
  virtual std::string_view name() const = 0;
  virtual RowOutcome resolve(const RowConflict& conflict) const = 0;
  virtual bool orderSensitive() const = 0;
};

// How one tracked table resolves conflicts: a strategy for its columns, overrides for some,
// and policies for row existence. Names are resolved by the site's ResolverProvider.
struct TableConfig {
  std::string columns = "lww";                   // lww, fww, merge, merge/fww, counter, reject, callback:NAME
  std::map<std::string, std::string> overrides;  // column -> strategy
  std::string insertInsert = "merge";            // merge (column by column), lww, fww, reject
  std::string updateDelete = "lww";              // lww, fww, delete-wins, update-wins, reject
  std::string deleteUpdate = "lww";              // lww, fww, delete-wins, update-wins, reject

  const std::string& strategyFor(const std::string& column) const;
  // "columns=lww balance=merge insert/insert=merge update/delete=lww delete/update=lww"
  std::string toString() const;
  // Parses toString()'s form. A column name that is not a plain word (white space, '=', '"',
  // empty, or a reserved key such as `columns`) is double-quoted there, '"' doubled:
  // `"unit price"=merge "columns"=fww`.
  static Result<TableConfig> parse(std::string_view text);
  friend bool operator==(const TableConfig&, const TableConfig&) = default;
};

// Resolves strategy names. nullptr: no such strategy.
class ResolverProvider {
 public:
  virtual ~ResolverProvider() = default;
  virtual const ColumnResolver* column(std::string_view strategy) const = 0;
  virtual const RowPolicy* row(std::string_view policy) const = 0;
  // The configuration track() uses when given none.
  virtual TableConfig defaults() const = 0;
};

}  // namespace parley
