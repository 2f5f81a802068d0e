// SiteState: what every layer of a site shares in memory: the connection, identity, clock,
// tracked tables, version vector and storage's caches. Capture adds its own (CaptureState,
// capture/capture_state.hpp), apply its own on top (ApplyState, apply/apply_state.hpp), which
// Site::Impl owns; storage sees only this. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
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
  // Per origin, the full causal context of its newest transaction this connection completed or
  // committed, with that transaction's seq (causal_context.hpp); cleared with the rest. Kept
  // as a full vector shared with the views handed out (`base`, changed in place only while
  // nothing else shares it) and the entries above it (`above`, the origin's own among them), so
  // that completing the next transaction costs the entries it carries, not one per site.
  struct CachedContext {
    std::uint64_t seq = 0;
    std::shared_ptr<VersionVector> base;
    VersionVector above;
  };
  using ContextCache = std::unordered_map<SiteId, CachedContext, SiteIdHash>;
  ContextCache contexts;
  // Undo records (undo.hpp): those saved for transactions not logged yet, which appendLog
  // writes with their log row, by log key; the position the next record takes (0: not read
  // yet); whether the file still has format 7's parley_undo (unknown until read). Cleared with
  // the rest.
  struct HeldUndo {
    std::string body;
    std::int64_t position = 0;
  };
  struct UndoCache {
    std::unordered_map<std::int64_t, HeldUndo> held;
    std::int64_t next = 0;
    std::optional<bool> legacy;
  } undo;

  // REQUIRES nothing; nullptr if `name` is not tracked.
  const TableInfo* table(std::string_view name) const;
  // Whether any tracked table folds differently in arrival order than in canonical order.
  bool orderSensitive() const;
};

}  // namespace parley
