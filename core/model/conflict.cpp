#include "parley/conflict.hpp"

namespace parley {

std::string toString(ConflictKind kind) {
  switch (kind) {
    case ConflictKind::kCell: return "cell";
    case ConflictKind::kInsertInsert: return "insert/insert";
    case ConflictKind::kUpdateDelete: return "update/delete";
    case ConflictKind::kDeleteUpdate: return "delete/update";
    case ConflictKind::kRejected: return "rejected";
    case ConflictKind::kSchema: return "schema";
  }
  return "?";
}

std::string toString(ConflictOutcome outcome) {
  switch (outcome) {
    case ConflictOutcome::kAppliedRemote: return "applied-remote";
    case ConflictOutcome::kKeptLocal: return "kept-local";
    case ConflictOutcome::kMerged: return "merged";
    case ConflictOutcome::kRejected: return "rejected";
  }
  return "?";
}

}  // namespace parley
