// Admission: which incoming transactions an apply takes, checked before anything is folded.
//
// An apply call first keeps the transactions it does not hold (each once, refusing a second
// transaction under a held dot: a fork), then requires each to be causally ready, to follow its
// origin's previous transaction (in HLC and in the hash chain), and to fit this site's tracked
// tables. Every check throws Error and changes nothing; the caller rolls back.
#pragma once

#include <span>
#include <vector>

#include "parley/apply_result.hpp"
#include "parley/transaction.hpp"
#include "apply_state.hpp"

namespace parley {

// Canonical order: by stamp (HLC, then site id).
inline bool inCanonicalOrder(const Transaction* a, const Transaction* b) { return a->stamp() < b->stamp(); }

// The transactions of `in` not yet held, each once, in canonical order; counts the others in
// result.duplicates. Throws Error(kDiverged) for two different transactions with one dot.
std::vector<const Transaction*> selectNew(ApplyState& s, std::span<const Transaction> in, ApplyResult& result);
// Throws Error(kNotReady) unless every transaction's causal context is held before it and each
// origin's seqs are gapless.
void checkReady(const ApplyState& s, const std::vector<const Transaction*>& txns);
// Each transaction follows its origin's previous one: its HLC is later (the log finds late
// transactions by it: store::logAfter; a transaction that breaks this was not made by a parley
// site: kInvalidArgument) and it links to that one's hash (otherwise a fork: kDiverged).
void checkHistories(ApplyState& s, std::vector<const Transaction*> txns);
// Throws Error(kInvalidArgument) unless `t` only names tables, columns and keys this site has,
// each row once.
void checkFits(const ApplyState& s, const Transaction& t);

}  // namespace parley
