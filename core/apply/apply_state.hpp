// ApplyState: the whole of a site's memory, as Site::Impl owns it: capture's (CaptureState) plus
// what the apply engine and finality keep (chunk size, contexts reused across applies, the
// finality and membership caches, the step for schema transactions). Not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "capture_state.hpp"
#include "context_view.hpp"
#include "parley/conflict.hpp"
#include "parley/crdt/version_vector.hpp"
#include "parley/transaction.hpp"
#include "schema_change.hpp"

namespace parley {

struct ApplyState : CaptureState {
  using CaptureState::CaptureState;

  std::size_t applyChunkRows = 65536;   // SiteOptions::applyChunkRows
  // Per origin, the seq up to which this connection has marked transactions final, so
  // settling after each apply skips the log when the final frontier has not moved. Cleared
  // with the rest of the cache (a rollback may undo a marking).
  VersionVector settled;
  // finality's digest of parley_acks (what settle needs from it), so settling after each apply
  // does not decode every acknowledged vector: dropped when an acknowledgement is written and
  // with the rest of the cache.
  struct AckDigest {
    std::vector<SiteId> sites;          // the sites with a stored acknowledgement, sorted
    VersionVector own;                  // per such site m: what m acknowledged of its own writes
    std::optional<VersionVector> floor; // the pointwise minimum of their vectors (none if no site)
    // settle(): the number of origins of this site's vector once each was found a member (an
    // acknowledgement from it, or forgotten). Origins are only ever added, so while the count
    // is the same the O(S log S) walk would find the same.
    std::size_t originsHeard = 0;
  };
  std::optional<AckDigest> ackDigest;
  // The forgotten sites, sorted (apply/forget.hpp); cleared with the rest of the cache.
  std::optional<std::vector<SiteId>> forgotten;
  // The full contexts of the transactions one apply call folds (apply.cpp), as views of the
  // cached ones; their storage is kept for the next call.
  std::vector<ContextView> applyContexts;
  // Applies a schema transaction (storage/schema_change.hpp) in the apply engine's place: set by
  // Site::Impl, which owns what a change touches besides the state (guards, capture). Appends to
  // the undo list what undoing it restores.
  std::function<void(const Transaction&, std::vector<ConflictReport>&, std::vector<SchemaUndo>&)> applySchema;
  // Undoes a schema transaction as its undo record says (a re-fold); likewise set by Site::Impl.
  std::function<void(const Transaction&, const std::vector<SchemaUndo>&)> undoSchema;
  // The greatest HLC of a held order-dependent schema transaction (isOrderDependent): a
  // transaction that sorts before it re-folds at every site, order-sensitive or not. Kept in
  // parley_meta ("order_barrier_hlc"); loaded with the rest of the cache.
  std::optional<Hlc> orderBarrier;
  // Whether parley_clock_skew has any record (clock_skew.hpp); unknown until read, cleared with
  // the rest.
  std::optional<bool> skewRecords;
};

}  // namespace parley
