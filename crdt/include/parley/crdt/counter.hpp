// State-based counters (Shapiro et al. 2011): G-Counter and PN-Counter.
//
// A GCounter maps each site to the total it has added (never decreasing); its value is the sum.
// A PNCounter is two GCounters, increments (P) and decrements (N); its value is P - N.
// merge() is the pointwise maximum: commutative, associative and idempotent, so replicas that
// exchange states in any order, any number of times, agree. Pure values; thread-compatible.
// Overflow: totals are int64; add() of a delta that would overflow a total, and value() of
// totals whose sum overflows, throw std::overflow_error.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "parley/crdt/site_id.hpp"

namespace parley {

class GCounter {
 public:
  using Entry = std::pair<SiteId, std::int64_t>;

  // REQUIRES: amount >= 0 (throws std::invalid_argument otherwise).
  void add(const SiteId& site, std::int64_t amount);
  std::int64_t get(const SiteId& site) const;
  std::int64_t value() const;
  void merge(const GCounter& other);
  // Sorted by site id, zero entries omitted.
  const std::vector<Entry>& entries() const { return entries_; }
  friend bool operator==(const GCounter&, const GCounter&) = default;

 private:
  std::vector<Entry> entries_;
};

class PNCounter {
 public:
  // Adds `delta` (positive or negative) to `site`'s contribution.
  void add(const SiteId& site, std::int64_t delta);
  // The site's net contribution: P[site] - N[site].
  std::int64_t contribution(const SiteId& site) const;
  std::int64_t value() const;
  void merge(const PNCounter& other);
  const GCounter& increments() const { return p_; }
  const GCounter& decrements() const { return n_; }
  // Rebuilds a counter from stored totals. REQUIRES: totals >= 0.
  static PNCounter fromTotals(const std::vector<GCounter::Entry>& p, const std::vector<GCounter::Entry>& n);
  // "{1a2b3c4d:+100-30, ...}"
  std::string toString() const;
  friend bool operator==(const PNCounter&, const PNCounter&) = default;

 private:
  GCounter p_;
  GCounter n_;
};

}  // namespace parley
