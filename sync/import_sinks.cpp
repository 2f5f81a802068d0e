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
  worker_ = std::thread([this] { run(); });
}

AtomicApplyingStream::~AtomicApplyingStream() { stop(true); }

void AtomicApplyingStream::run() {
  Result<ApplyResult> r = Status::ok();
  try {
    r = site_.replication().applyEncodedBatches([this] { return next(); });
  } catch (const Error& e) {
    r = e.status();
  } catch (const InternalError& e) {
    r = e.status();
  } catch (const std::exception& e) {
    r = Status::internal(std::string("applying a stream: ") + e.what());
  }
  std::lock_guard lock(mutex_);
  if (r) totals_.add(*r);
  result_ = r ? Status::ok() : r.status();
  done_ = true;
  changed_.notify_all();
}

std::optional<Chunk> AtomicApplyingStream::take() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return slot_ || ended_ || aborted_; });
  if (aborted_) throw Error(Status::ioError("the stream was cut short; nothing of it was applied"));
  if (!slot_) return std::nullopt;
  std::optional<Chunk> out = std::move(slot_);
  slot_.reset();
  changed_.notify_all();
  return out;
}

Replication::EncodedBatch AtomicApplyingStream::next() {
  try {
    std::size_t n = 0, rows = 0;
    bool ended = false;
    while (rows < limit_) {
      if (at_ == chunk_.pieces.size()) {
        auto chunk = take();
        if (!chunk) {
          ended = true;
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
      rows_ += pool_[n].rows.size();
      ++n;
    }
    if (ended && n == 0) {
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

Status AtomicApplyingStream::write(Chunk&& chunk) {
  std::uint64_t complete = 0;
  for (const auto& piece : chunk.pieces) complete += piece.last;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !slot_ || done_; });
    if (done_) return result_.ok() ? Status::invalidArgument("a chunk arrived after the end of the stream") : result_;
    if (ended_) return Status::invalidArgument("a chunk arrived after the end of the stream");
    slot_ = std::move(chunk);
    changed_.notify_all();
  }
  transactions_ += complete;
  if (progress_) progress_(transactions_, rows_);
  return Status::ok();
}

Status AtomicApplyingStream::stop(bool abort) {
  {
    std::lock_guard lock(mutex_);
    if (!worker_.joinable()) return result_;
    (abort ? aborted_ : ended_) = true;
    changed_.notify_all();
  }
  worker_.join();
  return result_;
}

Status AtomicApplyingStream::finish() {
  {
    std::lock_guard lock(mutex_);
    if (ended_ || !worker_.joinable()) return Status::invalidArgument("the stream ended twice");
  }
  Status st = stop(false);
  if (st && progress_) progress_(transactions_, rows_);
  return st;
}

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
