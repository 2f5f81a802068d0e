// The conflict-resolution interface the apply engine calls. Declared in core; strategies
// (lww, fww, ...) live in resolvers/ and reach a Site through a ResolverProvider.
//
// The engine classifies every remote write against the cell's current dots: a write whose
// causal context covers them supersedes the local value and never reaches a resolver; a
// concurrent write does. Resolvers must be deterministic functions of their arguments: every
// site calls them with the same arguments when it folds the same transactions.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "parley/crdt/dot.hpp"
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
  CellVersion local;
  CellVersion remote;      // remote.dots is the remote transaction's dot
  const Value& remoteOld;  // the remote write's before-image
};

enum class CellOutcome : std::uint8_t { kKeepLocal, kTakeRemote, kMerged };

struct CellResolution {
  CellOutcome outcome = CellOutcome::kKeepLocal;
  Value merged;  // used when outcome == kMerged
};

class ColumnResolver {
 public:
  virtual ~ColumnResolver() = default;
  virtual std::string_view name() const = 0;
  virtual CellResolution resolve(const CellConflict& conflict) const = 0;
  // True when applying writes in arrival order can differ from folding them in canonical
  // order (fww, reject). The engine then keeps undo records and re-folds late arrivals.
  virtual bool orderSensitive() const = 0;
};

enum class RowConflictKind : std::uint8_t {
  kInsertInsert,  // both sides created the same key concurrently
  kUpdateDelete,  // a remote update or insert meets a concurrent local delete
  kDeleteUpdate,  // a remote delete meets a row changed concurrently here
};

struct RowConflict {
  std::string_view table;
  const Row& pk;
  RowConflictKind kind;
  Stamp local;   // the latest write to the local row (or its tombstone)
  Stamp remote;  // the remote transaction
};

enum class RowOutcome : std::uint8_t {
  kKeepLocal,     // the local row state (present or deleted) stays
  kTakeRemote,    // the remote operation wins: delete, or resurrect with the remote writes
  kMergeColumns,  // insert/insert only: resolve each column with its column resolver
};

class RowPolicy {
 public:
  virtual ~RowPolicy() = default;
  virtual std::string_view name() const = 0;
  virtual RowOutcome resolve(const RowConflict& conflict) const = 0;
  virtual bool orderSensitive() const = 0;
};

// Chooses the resolver for each column and the row policy for each tracked table.
class ResolverProvider {
 public:
  virtual ~ResolverProvider() = default;
  virtual const ColumnResolver& column(std::string_view table, std::string_view column) const = 0;
  virtual const RowPolicy& row(std::string_view table) const = 0;
  // True if any resolver or policy it hands out is order-sensitive.
  virtual bool orderSensitive() const = 0;
  // A stable description of the configuration; part of the schema fingerprint.
  virtual std::string fingerprint() const = 0;
};

}  // namespace parley
