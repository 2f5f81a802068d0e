// Finality: when a transaction's decision (accepted or rejected) can no longer change.
//
// A decision is final at this site once every known site S has acknowledged a vector V_S
// covering the transaction and this site holds all of S's own transactions up to V_S[S]
// (DESIGN.md, "Provisional and final"): no transaction can then arrive that sorts before it.
// Sites learn acknowledgements from each other (gossip), so a chain A-B-C settles too.
// The members are this site, the origins it holds, and every site it has an acknowledgement
// from; acknowledge(site, {}) registers a member that has not acknowledged anything yet.
// A site never heard of is not accounted for, so a decision can only be as final as the
// membership is complete. Undo records are therefore kept past finality (until compaction):
// a late transaction from an unknown site re-folds correctly instead of failing.
#pragma once

#include <utility>
#include <vector>

#include "parley/crdt/version_vector.hpp"
#include "apply_state.hpp"
#include "forget.hpp"
#include "handles.hpp"

namespace parley::finality {

// Records that `site` holds at least `vector` (entries only ever grow).
void acknowledge(ApplyState& s, const SiteId& site, const VersionVector& vector);
// Every known site's latest acknowledged vector, this site's own (its vector) included.
std::vector<std::pair<SiteId, VersionVector>> acknowledgements(ApplyState& s);
// What settling reads and marks: the log and the conflict log, the forgotten sites, this site's
// id and vector, and finality's caches (the acknowledgements' digest, the settled frontier).
// An ApplyState converts to one.
struct Settling {
  Settling(ApplyState& s)  // NOLINT(google-explicit-constructor)
      : log(s), forgotten(s), self(s.id), vector(s.vector), acks(s.ackDigest), settled(s.settled) {}
  store::Log log;
  members::Forgotten forgotten;
  const SiteId& self;
  const VersionVector& vector;
  std::optional<ApplyState::AckDigest>& acks;
  VersionVector& settled;
};
// Marks final what has become final.
void settle(Settling at);

}  // namespace parley::finality
