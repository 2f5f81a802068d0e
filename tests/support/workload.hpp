// Delivery schedules and state comparisons for randomized property tests on a
// parley::testing::Cluster.
//
// Property tests build a random history (writes, partial and duplicated deliveries,
// partitions), sync everything, then check invariants. These helpers do the generic parts:
// delivering a set of transactions to one site in a random order that respects causality,
// syncing a cluster until every site holds everything and knows that every other does, and
// reading the parts of a site's state that must agree across sites (conflict-log identities,
// decisions). Randomness is always the caller's seeded generator, so a seed replays a run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley::test {

// Totals over ApplyResults.
struct ApplyTally {
  std::size_t applies = 0;
  std::size_t conflicts = 0;
  std::size_t rejected = 0;  // rejections reported by folds (a re-fold can report one again)
  std::size_t refolded = 0;
  std::size_t notReadyRetries = 0;  // applies refused with kNotReady and retried later
  void add(const ApplyResult& r);
};

enum class DeliveryOrder : std::uint8_t {
  kOriginBatches,  // one origin's run of ready transactions at a time, origins interleaved at
                   // random
  kShuffled,       // shuffled, applied in random chunks; chunks refused with kNotReady are retried
  kOneBatch,       // shuffled, handed to a single apply()
};
const char* deliveryOrderName(DeliveryOrder order);

// Delivers `txns` (a causally closed set, given what `site` holds) to `site` in a random order
// that `order` describes; `afterEach` runs after every successful apply. A refused apply must
// be refused with kNotReady and leave the site's vector unchanged. Appends what it did to `log`.
void deliverInRandomOrder(Site& site, std::vector<Transaction> txns, DeliveryOrder order,
                          std::mt19937& rng, ApplyTally& tally, std::string& log,
                          const std::function<void()>& afterEach = {});

// Syncs the whole cluster through site 0 until all sites hold the same vector, then spreads
// acknowledgements until every site knows that every other holds everything.
void syncUntilEqual(testing::Cluster& cluster, ApplyTally& tally);

// What identifies a conflict-log row across sites: (remote dot, table, key, column, kind,
// outcome, local dots), with key, enums and dots as text.
using ConflictIdentity =
    std::tuple<Dot, std::string, std::string, std::string, std::string, std::string, std::string>;
// The site's conflict log as identities, sorted (duplicates kept).
std::vector<ConflictIdentity> conflictIdentities(Site& site);
std::string describe(const ConflictIdentity& c);
std::string describe(const std::vector<ConflictIdentity>& cs);
// Rows present in one sorted list and not the other, for INFO.
std::string difference(const std::vector<ConflictIdentity>& a,
                       const std::vector<ConflictIdentity>& b);

// decision() that must succeed.
Decision decisionOk(Site& site, const Dot& dot);

}  // namespace parley::test
