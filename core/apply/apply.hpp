// The apply engine: folds remote transactions into a site.
//
// A site's state is the fold of the set of transactions it holds in canonical order
// (HLC, site id). Every applied transaction keeps an undo record (until compaction). When one
// arrives that sorts before transactions already applied and either the resolver configuration
// is order-sensitive (fww, reject, constraints) or an order-dependent schema transaction (a
// configure, a UNIQUE index: schema_change.hpp's isOrderDependent) is among them or arriving,
// the engine undoes the later ones (in the reverse of the order they were applied, from their
// undo records; schema transactions too) and re-applies everything from the late arrival on in
// canonical order. Otherwise (lww only) applying on arrival already equals the fold. A transaction of more than
// SiteOptions::applyChunkRows rows is folded and written that many rows at a time under a
// savepoint, which a rejection in any chunk rolls back.
#pragma once

#include <span>
#include <string_view>

#include "parley/apply_result.hpp"
#include "parley/transaction.hpp"
#include "apply_state.hpp"

namespace parley {

// REQUIRES: inside a write transaction, with triggers disabled and capture suspended.
// Throws Error: kNotReady when a transaction's causal context is not held, kInvalidArgument
// or kCorruption when one does not fit this site's schema. The caller rolls back on error.
// `bodies`, if not empty, holds each incoming transaction's encoding, which the log keeps as
// it is; otherwise each is encoded.
ApplyResult applyTransactions(ApplyState& s, std::span<const Transaction> incoming,
                              std::span<const std::string_view> bodies = {});

}  // namespace parley
