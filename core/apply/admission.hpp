// Admission: which incoming transactions an apply takes, checked before anything is folded.
//
// An apply call first keeps the transactions it does not hold (each once, refusing a second
// transaction under a held dot: a fork), then requires each to be causally ready, to follow its
// origin's previous transaction (in HLC and in the hash chain), and to fit this site's tracked
// tables. What the site holds is read once before (store::Held); the checks are decisions over it
// and the transactions alone. Every check throws Error and changes nothing; the caller rolls back.
// Admission also decides how the transactions it takes are folded: on arrival, or again in
// canonical order with the held ones after them (refolds).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "parley/apply_result.hpp"
#include "parley/transaction.hpp"
#include "state.hpp"
#include "store.hpp"

namespace parley {

// Canonical order: by stamp (HLC, then site id).
inline bool inCanonicalOrder(const Transaction* a, const Transaction* b) { return a->stamp() < b->stamp(); }

// The transactions of `in` this apply takes: those not yet held, each once, in canonical order;
// counts the others in result.duplicates. Decides over `held` alone (store::heldAround, read
// before) and changes nothing. Throws Error: kDiverged for two different transactions with one
// dot, or one that does not link to its origin's previous transaction's hash (a fork);
// kInvalidArgument for one whose HLC is not after its origin's previous transaction's (the log
// finds late transactions by it: causal::heldAfter); kNotReady unless each one's causal context is
// held before it and each origin's seqs are gapless.
std::vector<const Transaction*> admit(std::span<const Transaction> in, const store::Held& held, ApplyResult& result);
// Where the held transactions stand in canonical order: the greatest stamp held, the greatest
// compacted, and the greatest HLC of a held order-dependent schema transaction (the barrier).
struct Bounds {
  const std::optional<Stamp>& frontier;
  const std::optional<Stamp>& compacted;
  const std::optional<Hlc>& barrier;
};
// Whether the admitted transactions `fresh` (canonical order) are folded again with the held
// ones after the first of them (a re-fold) rather than on arrival: they fold in canonical order
// (some tracked table is order-sensitive, or one of them sorts before an order-dependent schema
// transaction, held or arriving) and the first sorts before a held one. Throws
// Error(kNotReady) if it sorts before compacted history.
bool refolds(TableLookup tables, const Bounds& held, const std::vector<const Transaction*>& fresh);
// Throws Error(kInvalidArgument) unless `t` only names tables, columns and keys this site has,
// each row once.
void checkFits(TableLookup tables, const Transaction& t);

}  // namespace parley
