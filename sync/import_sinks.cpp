#include "import_sinks.hpp"

#include <fmt/format.h>

#include <new>

#include "parley/txn_codec.hpp"

namespace parley::sync {
namespace {

Status endedInside() { return Status::corruption("the stream ended inside a transaction"); }

}  // namespace

bool PieceJoiner::take(Piece&& piece, std::string& body) {
  if (partial_.empty() && piece.last) {
    body = std::move(piece.body);
    return true;
  }
  partial_ += piece.body;
  if (!piece.last) return false;
  body = std::move(partial_);
  partial_.clear();
  return true;
}

AtomicApplyingStream::AtomicApplyingStream(Site& site, AtEnd atEnd, SinkProgress progress)
    : site_(site), atEnd_(std::move(atEnd)), progress_(std::move(progress)) {
  held_ = valueOrThrow(site.vector());
  siteLast_ = site.replication().lastHlc();
}

Status AtomicApplyingStream::drain(ChunkSource& source) {
  auto r = site_.replication().applyEncodedBatches([&] { return next(source); });
  if (!r) return r.status();
  totals_.add(*r);
  if (progress_) progress_(transactions_, rows_);
  return Status::ok();
}

Replication::EncodedBatch AtomicApplyingStream::next(ChunkSource& source) {
  try {
    std::size_t n = 0, rows = 0;
    while (rows < limit_ && !ended_) {
      if (at_ == chunk_.pieces.size()) {
        auto chunk = valueOrThrow(source.next());
        if (!chunk) {
          ended_ = true;
          break;
        }
        chunk_ = std::move(*chunk);
        at_ = 0;
        continue;
      }
      if (n == pool_.size()) pool_.emplace_back(), bodies_.emplace_back();
      if (!joiner_.take(std::move(chunk_.pieces[at_++]), bodies_[n])) continue;
      if (Status st = decodeTransaction(bodies_[n], pool_[n]); !st) throw Error(st);
      // The first transaction the site lacks sorts before what the site holds: the fold of
      // each batch would undo and fold again what the site holds (and report its conflicts
      // again), so the stream is one batch.
      if (!decided_ && !held_.contains(pool_[n].dot)) {
        decided_ = true;
        if (!(siteLast_ < pool_[n].hlc)) limit_ = SIZE_MAX;
      }
      rows += pool_[n].rows.size();
      ++n;
    }
    transactions_ += n, rows_ += rows;
    if (n > 0 && progress_) progress_(transactions_, rows_);
    if (ended_ && n == 0) {
      if (joiner_.inside()) throw Error(endedInside());
      if (atEnd_)
        if (Status st = atEnd_(); !st) throw Error(st);
    }
    views_.assign(bodies_.begin(), bodies_.begin() + static_cast<std::ptrdiff_t>(n));
    return {std::span<const Transaction>(pool_.data(), n), views_};
  } catch (const std::bad_alloc&) {
    throw Error(Status::ioError("out of memory while applying"));
  }
}

Status AtomicApplyingStream::write(Chunk&&) {
  return Status::unsupported("this stream applies all or nothing: it reads its chunks from a link's source");
}

Status AtomicApplyingStream::finish() { return write({}); }

CheckingStream::CheckingStream(const Site* site, Then then, SinkProgress progress)
    : site_(site), then_(std::move(then)), progress_(std::move(progress)) {
  if (site_) held_ = valueOrThrow(site_->vector());
}

Status CheckingStream::check(const Transaction& t) {
  if (!site_ || held_.contains(t.dot)) return Status::ok();
  if (auto fits = site_->replication().checkFits(t); !fits) return Status::invalidArgument(fits.message());
  if (held_.get(t.dot.site) + 1 != t.dot.seq || !t.context.leq(held_))
    return Status::notReady(fmt::format(
        "transaction {} needs transactions this site lacks (it holds {}); import the earlier change sets first",
        t.dot.toString(), held_.toString()));
  held_.advance(t.dot);
  return Status::ok();
}

Status CheckingStream::write(Chunk&& chunk) {
  for (auto& piece : chunk.pieces) {
    if (!joiner_.take(std::move(piece), body_)) continue;
    if (Status st = decodeTransaction(body_, t_); !st) return st;
    if (Status st = check(t_); !st) return st;
    ++transactions_, rows_ += t_.rows.size();
    if (progress_ && transactions_ % 1024 == 0) progress_(transactions_, rows_);
  }
  return Status::ok();
}

Status CheckingStream::finish() {
  if (joiner_.inside()) return endedInside();
  if (progress_) progress_(transactions_, rows_);
  if (!then_) return Status::ok();
  auto applied = then_();
  if (!applied) return applied.status();
  totals_ = std::move(*applied);
  return Status::ok();
}

}  // namespace parley::sync
