// Causal contexts: what a transaction's encoding carries of its context, and how a site gets
// the full context back for the fold.
//
// A transaction's full causal context is its origin's version vector at commit (DESIGN.md). An
// origin's contexts only grow, and every site applies an origin's transactions in seq order, so
// an encoded transaction carries only the entries that grew since its origin's previous
// transaction (any superset, the whole vector included, is as valid): with 50 sites that is a
// few bytes instead of ~1 KB. The receiver completes it from the previous transaction's full
// context, which it holds.
//
// parley_log keeps beside each body the full context with local site indexes (column ctx), or
// NULL where it is the previous transaction's with the origin's own entry advanced; every
// store::kCheckpointEvery-th seq of an origin stores it anyway (store::storedContext in
// log_format.hpp), so a lookup reads at most that many log rows. compact() keeps the context
// of the newest transaction it drops (parley_compacted.context). This connection caches each
// origin's newest full context (SiteState::contexts).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "handles.hpp"

namespace parley::causal {

// What completing a context reads: the log, and this connection's cache of each origin's newest
// full context (SiteState::contexts). A SiteState converts to one.
struct Contexts {
  Contexts(store::Log stored, SiteState::ContextCache& newest) : log(stored), cache(newest) {}
  Contexts(SiteState& s) : log(s), cache(s.contexts) {}  // NOLINT(google-explicit-constructor)
  store::Log log;
  SiteState::ContextCache& cache;
};

// The full context of `origin`'s transaction `seq`, which this site holds (seq 0: empty).
// Throws Error(Corruption) if the log cannot give it.
VersionVector of(Contexts known, const SiteId& origin, std::uint64_t seq);

// `t`'s full context into `out` (reusing its storage): the entries t carries over its
// predecessor's full context. Returns whether it grew beyond that. Remembers it. Costs the
// entries t carries (and now and then one copy of the vector, when kMaxAbove entries have grown
// since the last), not one per site of the cluster.
// REQUIRES: t's predecessor is held, or was completed just before.
bool complete(Contexts known, const Transaction& t, ContextView& out);

// complete() for each of `batch` (new transactions in canonical order, each origin's in seq
// order), into the first batch.size() views of `out`, which grows to fit (the views' storage
// is reused). Returns whether each grew.
std::vector<bool> completeAll(Contexts known, std::span<const Transaction* const> batch,
                              std::vector<ContextView>& out);

// How many entries a cached context keeps above its shared full vector before it makes a new
// one (context_view.hpp).
inline constexpr std::size_t kMaxAbove = 32;
// Contexts of at most this many entries are handed out whole (copied), larger ones as views of
// the shared vector.
inline constexpr std::size_t kCopiedContext = 64;

// For a local commit with full context `full`: the entries to encode (those grown since the
// previous local commit; all of them when that is not cached) and whether it grew. Remembers it.
struct Encoded {
  VersionVector entries;
  bool grew = true;
};
Encoded forCommit(Contexts kept, const Dot& dot, const VersionVector& full);

// Every held transaction (of `vector`, what the site holds) whose stamp is greater than `from`,
// in canonical order, each with its full causal context: what a re-fold folds again.
// REQUIRES: each origin's HLCs grow with its seqs (apply checks it).
std::vector<Transaction> heldAfter(Contexts known, const VersionVector& vector, const Stamp& from);

// A ctx column (or parley_compacted.context) value, decoded.
VersionVector decodeStored(const SiteTable& sites, std::string_view bytes);

// `context` as the next transaction of `origin`, seq `seq`, sees it when it grew by nothing:
// the origin's own entry at seq - 1.
VersionVector advanced(VersionVector context, const SiteId& origin, std::uint64_t seq);

}  // namespace parley::causal
