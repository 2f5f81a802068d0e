// Conflicts: what the fold reports when a write meets a concurrent one, or a transaction is
// rejected. Returned by Site::apply() (parley/site.hpp) and kept in the conflict log.
#pragma once

#include <cstdint>
#include <string>

#include "parley/hlc.hpp"
#include "parley/transaction.hpp"
#include "parley/value.hpp"

namespace parley {

enum class ConflictKind : std::uint8_t {
  kCell,          // concurrent writes to one cell
  kInsertInsert,  // concurrent inserts of one key
  kUpdateDelete,  // an incoming update or insert met a concurrent delete
  kDeleteUpdate,  // an incoming delete met a concurrent update
  kRejected,      // a write of a rejected transaction
  kSchema,        // a schema change that lost to a concurrent one (`column`: what it changed)
};

enum class ConflictOutcome : std::uint8_t { kAppliedRemote, kKeptLocal, kMerged, kRejected };

// A conflict the fold met, as returned by apply() and kept in the conflict log
// (parley_conflicts). "Local" is the version in place, "remote" the incoming write, in
// canonical order: a site folding the same transactions meets the same conflicts.
struct ConflictReport {
  ConflictKind kind = ConflictKind::kCell;
  std::string table;
  Row pk;
  std::string column;  // empty for row-level conflicts and rejected deletes
  std::string resolver;
  Value localValue;
  Dots localDots;
  Stamp localStamp;
  Value remoteValue;  // for a rejected write: the value the writer wanted
  Dot remoteDot;      // the transaction decided
  Stamp remoteStamp;
  Value result;  // the cell's value afterwards (cell conflicts)
  ConflictOutcome outcome = ConflictOutcome::kKeptLocal;
  bool remoteWon = false;  // outcome is kAppliedRemote or kMerged
  std::string reason;      // why a transaction was rejected
  bool final = false;      // the decision can no longer change (conflict log only)
};

// The names the conflict log uses: "cell", "insert/insert", ...; "applied-remote", "merged", ...
std::string toString(ConflictKind kind);
std::string toString(ConflictOutcome outcome);

}  // namespace parley
