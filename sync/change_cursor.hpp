// How every stream of a sync cuts transactions into chunks, and a reader of what a peer lacks
// in bounded batches, for a stream that pauses between them.
//
// An event loop cannot block inside Site::forEachChangeSince() while the network drains, and
// must not keep a read statement open across other sessions' writes. So each batch reads
// afresh from a vector that already counts the transactions taken: since the log is read in
// causal order, and each origin's transactions in seq order, the transactions taken so far
// are exactly those the advanced vector holds. Transactions applied between batches are
// picked up by the next one. Not thread-safe; the site must outlive the cursor.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <string_view>

#include "parley/site.hpp"
#include "parley/sync/session.hpp"

namespace parley::sync {

// A stream that reads ahead does it in batches of kBatchChunks chunks, and at least
// kMinBatchBytes: each batch re-runs the log query, so tiny batches would cost a scan each.
inline constexpr std::size_t kBatchChunks = 4;
inline constexpr std::size_t kMinBatchBytes = 1 << 20;
// A live stream sends what is new in batches of at most this many bytes (then cut in chunks).
inline constexpr std::size_t kLiveBatchBytes = 1 << 20;

// Appends `body` to `out`: it fills the last chunk up to `chunkBytes`, then new ones. A piece
// that completes the transaction is marked last. Before each new chunk, `full(out)` may take
// the full ones (a stream that sends as it reads: it holds one chunk, not one transaction).
template <class Full>
Status appendToChunks(std::deque<Chunk>& out, std::string_view body, std::size_t chunkBytes, Full&& full) {
  do {
    if (!out.empty() && out.back().bytes >= chunkBytes)
      if (Status st = full(out); !st) return st;
    if (out.empty() || out.back().bytes >= chunkBytes) out.emplace_back();
    Chunk& chunk = out.back();
    std::size_t take = std::min(chunkBytes - chunk.bytes, body.size());
    chunk.pieces.push_back({std::string(body.substr(0, take)), take == body.size()});
    chunk.bytes += take;
    body.remove_prefix(take);
  } while (!body.empty());
  return Status::ok();
}

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
  const Site& site_;
  VersionVector since_;
  std::size_t chunkBytes_, batchBytes_;
  StreamTotals totals_;
};

}  // namespace parley::sync
