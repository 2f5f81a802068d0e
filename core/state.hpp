// SiteState: everything a site holds in memory, shared by capture, commit and apply.
// Owned by Site::Impl; not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog.hpp"
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
  std::optional<Stamp> frontier;        // the greatest stamp among held transactions
  std::optional<Stamp> compactedStamp;  // nothing may be re-folded before this: compacted
  // Per origin, the seq up to which this connection has marked transactions final, so
  // settling after each apply skips the log when the final frontier has not moved. Cleared
  // with the rest of the cache (a rollback may undo a marking).
  VersionVector settled;

  // REQUIRES nothing; nullptr if `name` is not tracked.
  const TableInfo* table(std::string_view name) const;
  // Whether any tracked table folds differently in arrival order than in canonical order.
  bool orderSensitive() const;
};

}  // namespace parley
