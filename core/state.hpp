// SiteState: everything a site holds in memory, shared by capture, commit and apply.
// Owned by Site::Impl; not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog.hpp"
#include "context_view.hpp"
#include "digest.hpp"
#include "parley/crdt/version_vector.hpp"
#include "parley/hlc.hpp"
#include "parley/resolver.hpp"
#include "parley/site.hpp"
#include "parley/transaction.hpp"
#include "sqlite.hpp"

namespace parley {

struct SiteState {
  SiteState(const std::string& path, Clock& physical, std::chrono::milliseconds maxSkew)
      : db(path), clock(physical), hlc(physical, maxSkew) {}

  sql::Db db;
  Clock& clock;
  SiteId id;
  SiteId cluster;
  std::string name;
  SiteTable sites;
  std::vector<std::unique_ptr<TableInfo>> tables;
  VersionVector vector;
  HlcClock hlc;
  std::shared_ptr<const ResolverProvider> resolvers;
  // Per tracked table, the digest of its rows, as this connection's transaction leaves them.
  Digests digests;
  std::optional<Stamp> frontier;        // the greatest stamp among held transactions
  std::optional<Stamp> compactedStamp;  // nothing may be re-folded before this: compacted
  std::size_t applyChunkRows = 65536;   // SiteOptions::applyChunkRows
  bool checkCapture = false;            // SiteOptions::checkCapture
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
  // The forgotten sites, sorted (core/forget.hpp); cleared with the rest of the cache.
  std::optional<std::vector<SiteId>> forgotten;
  // Per origin, the full causal context of its newest transaction this connection completed or
  // committed, with that transaction's seq (core/causal_context.hpp); cleared with the rest. Kept
  // as a full vector shared with the views handed out (`base`, changed in place only while
  // nothing else shares it) and the entries above it (`above`, the origin's own among them), so
  // that completing the next transaction costs the entries it carries, not one per site.
  struct CachedContext {
    std::uint64_t seq = 0;
    std::shared_ptr<VersionVector> base;
    VersionVector above;
  };
  std::unordered_map<SiteId, CachedContext, SiteIdHash> contexts;
  // The full contexts of the transactions one apply call folds (apply.cpp), as views of the
  // cached ones; their storage is kept for the next call.
  std::vector<ContextView> applyContexts;
  // Operations strategies asked to commit after refusing a local commit
  // (ColumnResolver::operationAfterRefusal), committed once that commit is rolled back.
  struct FollowUp {
    std::string table;
    Row pk;
    std::uint32_t column = 0;
    Value op;
  };
  std::vector<FollowUp> followUps;
  // Applies a schema transaction (core/schema_change.hpp) in the apply engine's place: set by
  // Site::Impl, which owns what a change touches besides the state (guards, capture).
  std::function<void(const Transaction&, std::vector<ConflictReport>&)> applySchema;
  // Whether parley_clock_skew has any record (clock_skew.hpp); unknown until read, cleared with
  // the rest.
  std::optional<bool> skewRecords;

  // REQUIRES nothing; nullptr if `name` is not tracked.
  const TableInfo* table(std::string_view name) const;
  // Whether any tracked table folds differently in arrival order than in canonical order.
  bool orderSensitive() const;
};

}  // namespace parley
