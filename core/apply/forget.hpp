// Forgotten members: sites removed from the cluster for good (`parley forget`).
//
// A member that is gone for good (a lost laptop, a decommissioned server) would otherwise
// hold back finality and compaction forever: its acknowledgement never comes. Forgetting it
// records its id in parley_forgotten (created on first use), drops its acknowledgement, and
// from then on finality and compaction do not wait for it, acknowledgements about it are
// ignored, and every sync with it is refused. The transactions of it already held stay: its
// writes are not lost, it just no longer counts. Sites pass their forgotten lists on when they
// sync, so the whole cluster stops waiting for it.
#pragma once

#include <vector>

#include "apply_state.hpp"

namespace parley::members {

// What reading the forgotten sites takes: the connection and this connection's cache of them
// (ApplyState::forgotten). An ApplyState converts to one.
struct Forgotten {
  Forgotten(sql::Db& connection, std::optional<std::vector<SiteId>>& sorted) : db(connection), cache(sorted) {}
  Forgotten(ApplyState& s) : db(s.db), cache(s.forgotten) {}  // NOLINT(google-explicit-constructor)
  sql::Db& db;
  std::optional<std::vector<SiteId>>& cache;
};

// The forgotten sites, sorted. Cached until reloaded.
const std::vector<SiteId>& forgotten(Forgotten known);
bool isForgotten(Forgotten known, const SiteId& site);
// Records `site` as forgotten and drops its acknowledgement. No-op if it already is.
// REQUIRES: inside a write transaction; `site` is not this site.
void forget(ApplyState& s, const SiteId& site);

}  // namespace parley::members
