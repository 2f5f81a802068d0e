// A bounded counter (escrow; AntidoteDB's bounded counter, Balegas et al. 2015): a counter
// whose value never goes below a bound, kept without coordination by giving each site
// *rights*, the amount it may still subtract.
//
// State: each site's own increments and decrements (a PNCounter), the rights each site moved
// to each other (RightsMoves::transfers, a grow-only total per (from, to)), and what each site
// asked for (RightsMoves::wanted, per site the total of received rights it wants to reach).
// Every entry is written by one site only (its increments, decrements, transfers out and
// requests), so merge() is the pointwise maximum: commutative, associative and idempotent.
//
//   rights(s) = increments(s) - decrements(s) + received(s) - sent(s)
//   value()   = sum of increments - sum of decrements = sum over sites of rights(s)
//
// value() is relative to the bound (the bounded column's value minus its bound). A site that
// only decrements and transfers within its rights keeps rights(s) >= 0, hence value() >= 0 in
// any merge of states that include its operations. The try* operations are those checks; add(),
// move() and ask() replay operations a site already made (a fold), unchecked.
// Totals are int64; overflow throws std::overflow_error. Pure values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "parley/crdt/counter.hpp"
#include "parley/crdt/site_id.hpp"

namespace parley {

class RightsMoves {
 public:
  using Pair = std::pair<SiteId, SiteId>;  // (from, to)
  using Transfer = std::pair<Pair, std::int64_t>;
  using Want = std::pair<SiteId, std::int64_t>;

  // `from` moves `amount` (>= 0) of its rights to `to` (another site).
  void transfer(const SiteId& from, const SiteId& to, std::int64_t amount);
  // `site` wants its received total to reach `total`: the register keeps the greatest.
  void want(const SiteId& site, std::int64_t total);
  std::int64_t transferred(const SiteId& from, const SiteId& to) const;
  std::int64_t received(const SiteId& site) const;
  std::int64_t sent(const SiteId& site) const;
  std::int64_t wanted(const SiteId& site) const;
  void merge(const RightsMoves& other);
  bool empty() const { return transfers_.empty() && wanted_.empty(); }
  // Sorted, zero entries omitted.
  const std::vector<Transfer>& transfers() const { return transfers_; }
  const std::vector<Want>& wants() const { return wanted_; }
  // Rebuilds stored totals (any order; a key listed twice keeps its greatest). REQUIRES: >= 0.
  static RightsMoves fromTotals(std::vector<Transfer> transfers, std::vector<Want> wants);
  friend bool operator==(const RightsMoves&, const RightsMoves&) = default;

 private:
  std::vector<Transfer> transfers_;
  std::vector<Want> wanted_;
};

class BoundedCounter {
 public:
  BoundedCounter() = default;
  BoundedCounter(PNCounter deltas, RightsMoves moves) : deltas_(std::move(deltas)), moves_(std::move(moves)) {}

  // Replays: `site` added `delta`; `from` moved `amount` to `to`; `site` asked for `amount`
  // more than it has received so far.
  void add(const SiteId& site, std::int64_t delta) { deltas_.add(site, delta); }
  void move(const SiteId& from, const SiteId& to, std::int64_t amount) { moves_.transfer(from, to, amount); }
  void ask(const SiteId& site, std::int64_t amount);

  // A site's own operations, checked: false (and no change) if beyond its rights.
  bool tryAdd(const SiteId& site, std::int64_t delta);
  bool tryMove(const SiteId& from, const SiteId& to, std::int64_t amount);

  std::int64_t rights(const SiteId& site) const;
  std::int64_t value() const { return deltas_.value(); }
  // What `site` asked for and has not received yet.
  std::int64_t outstanding(const SiteId& site) const;
  // Every site with an entry, sorted.
  std::vector<SiteId> sites() const;
  void merge(const BoundedCounter& other);

  const PNCounter& deltas() const { return deltas_; }
  const RightsMoves& moves() const { return moves_; }
  // "{1a2b3c4d:300, 5e6f7a8b:700}": each site's rights.
  std::string toString() const;
  friend bool operator==(const BoundedCounter&, const BoundedCounter&) = default;

 private:
  PNCounter deltas_;
  RightsMoves moves_;
};

}  // namespace parley
