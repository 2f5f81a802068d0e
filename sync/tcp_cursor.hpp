// Reads what a peer lacks in bounded batches, for a stream that pauses between them.
//
// An event loop cannot block inside Site::forEachChangeSince() while the network drains, and
// must not keep a read statement open across other sessions' writes. So each batch reads
// afresh from a vector that already counts the transactions taken: since the log is read in
// causal order, and each origin's transactions in seq order, the transactions taken so far
// are exactly those the advanced vector holds. Transactions applied between batches are
// picked up by the next one. Not thread-safe; the site must outlive the cursor.
#pragma once

#include <cstddef>
#include <deque>

#include "parley/site.hpp"
#include "parley/sync/session.hpp"

namespace parley::sync {

class ChangeCursor {
 public:
  // Batches of about `batchBytes` (at least one transaction), cut into chunks of `chunkBytes`.
  ChangeCursor(const Site& site, VersionVector since, std::size_t chunkBytes, std::size_t batchBytes);

  // Appends the next batch to `out` (whole transactions only). Returns false once nothing was left.
  Result<bool> next(std::deque<Chunk>& out);
  const StreamTotals& totals() const { return totals_; }
  // What the reader holds as far as the cursor knows: `since` and everything taken.
  const VersionVector& since() const { return since_; }
  // Records that the reader holds `dot` and what precedes it from the same origin, so no
  // batch hands those out (a subscriber holds all of its own transactions).
  void assumeHeld(const Dot& dot) { since_.advance(dot); }

 private:
  void append(std::deque<Chunk>& out, std::string_view body);

  const Site& site_;
  VersionVector since_;
  std::size_t chunkBytes_, batchBytes_;
  StreamTotals totals_;
};

}  // namespace parley::sync
