// VersionVector: for each origin site, the highest seq of its transactions a site holds.
//
// Because transactions are delivered in causal order, a vector entry n for site S means
// "holds every transaction S originated with seq 1..n". Entries with seq 0 are not stored.
// Pure value type: no I/O; thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "parley/crdt/dot.hpp"
#include "parley/crdt/site_id.hpp"

namespace parley {

enum class CausalOrder { Equal, Before, After, Concurrent };

class VersionVector {
 public:
  using Entry = std::pair<SiteId, std::uint64_t>;

  std::uint64_t get(const SiteId& site) const;
  // Sets the entry for `site` (0 removes it).
  void set(const SiteId& site, std::uint64_t seq);
  // Raises the entry for dot.site to at least dot.seq.
  void advance(const Dot& dot);

  bool contains(const Dot& dot) const { return get(dot.site) >= dot.seq; }
  bool containsAll(std::span<const Dot> dots) const;
  // Pointwise maximum.
  void merge(const VersionVector& other);
  // Pointwise minimum (an entry absent from either side is 0, so it goes).
  void meet(const VersionVector& other);
  // Every entry of *this is <= the same entry of `other`.
  bool leq(const VersionVector& other) const;
  CausalOrder compare(const VersionVector& other) const;

  // Sorted by site id. Of a temporary vector, the entries are moved out and returned by value,
  // so `for (auto& e : site.vector()->entries())` iterates a live vector, never a destroyed one.
  const std::vector<Entry>& entries() const& { return entries_; }
  std::vector<Entry> entries() && { return std::move(entries_); }
  bool empty() const { return entries_.empty(); }
  // Number of transactions covered: the sum of all entries.
  std::uint64_t total() const;
  // "{1a2b3c4d:3, 9f8e7d6c:5}"
  std::string toString() const;

  friend bool operator==(const VersionVector&, const VersionVector&) = default;

 private:
  std::vector<Entry> entries_;
};

}  // namespace parley
