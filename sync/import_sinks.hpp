// The sinks an import chooses for its session over a FileLink (SessionOptions::sink), so that
// a change-set file keeps its guarantees: what it holds applies all or nothing.
//
// AtomicApplyingStream applies a whole stream in one SQLite transaction: a stream that ends
// early, a chunk that fails to decode or apply, or a final check that fails rolls all of it
// back. Site::applyEncodedBatches asks for its batches, so the sink asks for its chunks: it
// drains a link's source (Link::source; a FileLink has one), and refuses chunks pushed at it.
//
// CheckingStream reads a stream and applies nothing: it decodes every transaction and, given a
// site, checks it would apply there in stream order (it fits the site, and what it needs is
// held or came before it in the stream); at its end it calls `then` (an import of a large file
// pulls the file again into an ApplyingStream, each chunk in a commit of its own).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/sync/link.hpp"

namespace parley::sync {

// Tells what a sink has taken so far: complete transactions and their rows.
using SinkProgress = std::function<void(std::uint64_t transactions, std::uint64_t rows)>;

// A stream's pieces joined into transactions' bodies.
class PieceJoiner {
 public:
  // Takes `piece`; true when it completed a transaction, whose bytes are then in `body`.
  bool take(Piece&& piece, std::string& body);
  bool inside() const { return !partial_.empty(); }

 private:
  std::string partial_;
};

class AtomicApplyingStream final : public ChunkSink {
 public:
  // Runs at the end of the stream, inside the transaction: an error refuses all of it.
  using AtEnd = std::function<Status()>;
  AtomicApplyingStream(Site& site, AtEnd atEnd, SinkProgress progress = {});

  // Reads the whole of `source` inside one Site::applyEncodedBatches: all of it or nothing.
  Status drain(ChunkSource& source) override;
  // kUnsupported: the stream must be read from a link's source (drain), not pushed.
  Status write(Chunk&& chunk) override;
  Status finish() override;
  ApplyTotals totals() const override { return totals_; }

  // Transactions are handed to the apply in batches of about this many rows (~23 MB decoded):
  // the decoded stream never lives whole, and after the first batch decoding allocates little.
  // 4096: slower, 262144: no faster (bench/RESULTS.md).
  static constexpr std::size_t kBatchRows = 65536;

 private:
  Replication::EncodedBatch next(ChunkSource& source);

  Site& site_;
  AtEnd atEnd_;
  SinkProgress progress_;
  VersionVector held_;
  Hlc siteLast_;
  bool decided_ = false;
  std::size_t limit_ = kBatchRows;
  Chunk chunk_;
  std::size_t at_ = 0;
  bool ended_ = false;  // the source said the stream ended
  PieceJoiner joiner_;
  std::vector<Transaction> pool_;   // the batch is the first n
  std::deque<std::string> bodies_;  // a deque: the views into it stay valid as it grows
  std::vector<std::string_view> views_;
  std::uint64_t transactions_ = 0, rows_ = 0;
  ApplyTotals totals_;
};

class CheckingStream final : public ChunkSink {
 public:
  // What `then` applied is the sink's totals().
  using Then = std::function<Result<ApplyTotals>()>;
  // `site` may be null (decode only); `then` may be empty.
  CheckingStream(const Site* site, Then then = {}, SinkProgress progress = {});
  Status write(Chunk&& chunk) override;
  Status finish() override;
  ApplyTotals totals() const override { return totals_; }
  std::uint64_t transactions() const { return transactions_; }

 private:
  Status check(const Transaction& t);

  const Site* site_;
  Then then_;
  SinkProgress progress_;
  VersionVector held_;
  PieceJoiner joiner_;
  Transaction t_;
  std::string body_;
  std::uint64_t transactions_ = 0, rows_ = 0;
  ApplyTotals totals_;
};

}  // namespace parley::sync
