// The conflict-resolution interface the apply engine calls, and per-table configuration.
// Declared in core; strategies live in resolvers/ and reach a Site through a ResolverProvider,
// which resolves the strategy names a table's TableConfig stores.
//
// The fold (core/fold.cpp) classifies every write against the cell it writes (CellRelation):
// it supersedes the version in place, the cell already reflects its transaction, or it is
// concurrent with it. The column's strategy then owns the rule: ColumnResolver::meet() says
// what becomes of the cell (take the write, keep the cell, set a value, ask resolve() to
// settle a conflict, or reject the whole transaction), and how the origin's contribution to
// the cell grows when the strategy keeps contributions (counters). The fold carries the step
// out: it updates the cell's dots and stamp, its contributions, and the conflict log.
//
// A few coarse properties (replacesWhenSuperseded, keepsContributions, foldsDeltas,
// orderSensitive) are read once when a table's configuration is bound and cached with it; the
// fold does not ask them per cell.
//
// A new strategy implements ColumnResolver and is registered by name
// (resolvers::Registry::addColumn); no core file changes. The built-in ones are in resolvers/:
// timestamp.cpp (lww, fww), merge.cpp, counter.cpp, reject.cpp, callback.cpp, bounded.cpp.
//
// A strategy that keeps contributions may also keep rights moves in the cell (a bounded
// counter: CellStep::move) and check this site's own writes before they commit
// (checksLocalWrites, admitLocal): such columns fold every local write through meet(), and
// their cells may carry *operations* (Site::commitOperation): writes that leave the value as
// it is and that only the strategy interprets, such as a transfer of rights.
//
// Strategies must be deterministic functions of their arguments, and immutable once shared
// with a site: every site calls them with the same arguments when it folds the same
// transactions in canonical order. Their names are part of the schema fingerprint; their code
// is not, so every site of a cluster must register the same code under a name.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <functional>
#include <span>

#include "parley/crdt/bounded_counter.hpp"
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

// How a write relates to the version of the cell it writes.
enum class CellRelation : std::uint8_t {
  kSupersedes,  // its causal context covers every write the cell reflects (or the cell has none)
  kReflected,   // the cell already reflects its transaction (an earlier change of the same one)
  kConcurrent,  // the cell reflects a write its transaction had not seen
};

// A write meeting its cell in the fold. The references live for the call only.
struct CellWrite {
  std::string_view column;
  const Value& inPlace;       // the cell's value before the write
  const Dots& inPlaceDots;    // the writes that value reflects; empty for a new cell
  const ColumnWrite& write;   // oldValue (before-image), newValue (after-image), base (dots read)
  CellRelation relation;
};

// A move of rights a write makes (bounded counters): the writing site gives `amount` of its
// rights to `to`, or asks for `amount` more than it has received so far.
struct RightsMove {
  enum class Kind : std::uint8_t { kGive, kAsk };
  Kind kind = Kind::kGive;
  SiteId to;
  std::int64_t amount = 0;
};

// What the fold does with a cell after a write (ColumnResolver::meet).
struct CellStep {
  enum class Action : std::uint8_t {
    kTake,     // value w.newValue; the cell reflects the write alone, contributions start empty
    kIgnore,   // nothing changes
    kJoin,     // the value stays; the cell reflects the write too (both sides agree)
    kSet,      // value `value`. Superseding: the cell reflects the write alone and keeps its
               // contributions; otherwise the cell joins the write and a merged conflict is logged
    kResolve,  // a conflict: resolve() picks or makes the value, and the conflict is logged
    kReject,   // the transaction is rejected, every write of it, because of `reason`
  };  // kJoin and kResolve on a cell with no version in place act as kTake.
  Action action = Action::kTake;
  Value value;                                // kSet
  std::optional<std::int64_t> contribution;  // the writing site's contribution grows by this
  std::string reason;                         // kReject: one line, naming the column
  std::optional<RightsMove> move;             // kept with the contributions (keepsContributions)

  static CellStep take() { return {}; }
  static CellStep ignore() { return {Action::kIgnore, {}, {}, {}, {}}; }
  static CellStep join() { return {Action::kJoin, {}, {}, {}, {}}; }
  static CellStep set(Value v) { return {Action::kSet, std::move(v), {}, {}, {}}; }
  static CellStep resolve() { return {Action::kResolve, {}, {}, {}, {}}; }
  static CellStep reject(std::string why) { return {Action::kReject, {}, {}, std::move(why), {}}; }
};

// A held transaction's write to a cell, not final yet, in a transaction that may still be
// rejected (it touches a table with a reject column or row policy, or constraints).
struct PendingWrite {
  SiteId origin;
  bool rejected = false;  // the fold's current decision on its transaction
  ColumnWrite write;
};

// This site's own write to a cell, about to commit (ColumnResolver::admitLocal).
struct LocalWrite {
  std::string_view table;
  std::string_view column;
  const Row& pk;
  const SiteId& self;
  const ColumnWrite& write;
  const Value& value;                    // the cell's value after the write
  BoundedCounter state;                  // its contributions and rights moves after it
  std::span<const PendingWrite> pending;  // the cell's writes PendingWrite describes
  std::function<std::string(const SiteId&)> nameOf;  // a site's name, for messages
};

// A column strategy: the rule that folds a write into a cell.
class ColumnResolver {
 public:
  virtual ~ColumnResolver() = default;
  virtual std::string_view name() const = 0;

  // The step a write makes on its cell. Called for every write of the column, except
  // superseding writes when replacesWhenSuperseded() (those are taken without asking).
  // The default is a pick: a superseding write is taken, a reflected one ignored, a concurrent
  // one goes to resolve().
  // REQUIRES of overrides: a local write (superseding, its before-image in place, its base the
  // cell's dots) gets take() or set(w.newValue), possibly with a contribution: a site stores
  // what its own writes wrote, and local commits build that metadata without asking.
  virtual CellStep meet(const CellWrite& w) const;
  // Settles a conflict meet() handed over (CellStep::kResolve): keeps one version or makes one.
  virtual CellResolution resolve(const CellConflict& conflict) const = 0;
  // True when applying writes in arrival order can differ from folding them in canonical
  // order. The engine then keeps undo records and re-folds late arrivals. A strategy that can
  // reject (CellStep::kReject) is order-sensitive.
  virtual bool orderSensitive() const = 0;

  // Coarse properties, read once per column when a table's configuration is bound.
  // True: a superseding write takes the cell (CellStep::take()) and meet() is not called for
  // it. A strategy whose meet() does anything else for superseding writes returns false.
  virtual bool replacesWhenSuperseded() const { return true; }
  // True: each cell keeps the per-origin sum of the contributions meet() reports (a
  // PN-counter), stored in the cell's metadata and starting empty.
  virtual bool keepsContributions() const { return false; }
  // True: numeric writes fold as deltas new - old, so writing a transaction again
  // (Site::reissue) must add its delta, not set its after-image.
  virtual bool foldsDeltas() const { return false; }
  // True: meet() may return CellStep::kReject (the engine then counts a transaction writing
  // this column as one that may still be rejected until its decision is final).
  virtual bool mayReject() const { return false; }
  // True: every local write of the column folds through meet() (no fast path keeps its
  // metadata) and admitLocal() checks it before it commits.
  virtual bool checksLocalWrites() const { return false; }
  // A local write of the column about to commit; an error refuses the commit, its message the
  // one line the user sees. Called only when checksLocalWrites().
  virtual Status admitLocal(const LocalWrite&) const { return Status::ok(); }
  // After admitLocal() refused a write: an operation to commit on the cell, as a transaction of
  // its own, once the refused transaction is rolled back (a bounded counter asks the other
  // sites for what it lacked). nullopt: none.
  virtual std::optional<Value> operationAfterRefusal(const LocalWrite&) const { return std::nullopt; }
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
  // True: resolve() may return RowOutcome::kReject.
  virtual bool mayReject() const { return false; }
};

// How one tracked table resolves conflicts: a strategy for its columns, overrides for some,
// and policies for row existence. Names are resolved by the site's ResolverProvider.
struct TableConfig {
  std::string columns = "lww";                   // lww, fww, merge, merge/fww, counter, bounded[:MIN], reject, callback:NAME
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
