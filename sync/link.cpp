// runSession(): the side of a session that asks, over any Link. The order is hello, pull,
// push, acknowledge: each side applies what arrives as it arrives, so an interrupted sync
// keeps what it got and the next one resumes from there.
#include "parley/sync/link.hpp"
#include "parley/replication.hpp"

#include <exception>

#include <fmt/format.h>

namespace parley::sync {

Status ApplyingStream::write(Chunk&& chunk) {
  if (finished_) return Status::invalidArgument("a chunk arrived after the end of the stream");
  if (auto st = applier_.apply(chunk); !st) return st;
  std::uint64_t before = transactions_;
  for (const auto& piece : chunk.pieces) transactions_ += piece.last, seen_.bytes += piece.body.size();
  if (observer_) {
    seen_.transactions = transactions_;
    seen_.rows = applier_.totals().rows;
    observer_(seen_);
  }
  if (!progress_ || transactions_ == before) return Status::ok();
  try {
    progress_(transactions_);
  } catch (const std::exception& e) {
    return Status::ioError(std::string("interrupted: ") + e.what());
  }
  return Status::ok();
}

Status ApplyingStream::finish() {
  if (finished_) return Status::invalidArgument("the stream ended twice");
  finished_ = true;
  return applier_.finish();
}

Status ChunkSink::drain(ChunkSource& source) {
  for (;;) {
    auto chunk = source.next();
    if (!chunk) return chunk.status();
    if (!*chunk) return finish();
    if (auto st = write(std::move(**chunk)); !st) return st;
  }
}

Result<EndState> endStateOf(Site& site) {
  auto digests = site.replication().digests();
  if (!digests) return digests.status();
  auto vector = site.vector();
  if (!vector) return vector.status();
  return EndState{std::move(*vector), std::move(*digests)};
}

namespace {

// A refusal for another schema, naming what differs when the link can tell the peer's.
Status namingSchemaDifference(Site& site, Link& link, const Status& refusal) {
  if (refusal || refusal.code() != Status::Code::kInvalidArgument) return refusal;
  auto theirs = link.peerSchema();
  auto mine = site.replication().schemaDescription();
  if (!theirs || !mine || theirs->cluster != site.clusterId() ||
      theirs->fingerprint == site.replication().schemaFingerprint())
    return refusal;
  std::string differs = schemaDifference(*mine, theirs->lines, site.name(), theirs->site);
  if (differs.empty()) return refusal;
  return Status::invalidArgument(fmt::format("{}: {}", refusal.message(), differs));
}

Status compatible(Site& site, Link& link, const Hello& peer, bool sameSite) {
  return namingSchemaDifference(site, link, checkCompatible(site, peer, sameSite));
}

// The checks of the peer's hello: compatible, the same rows if the same transactions, and no
// forgotten site on either side. Changes nothing but the record of a divergence found.
Status checkPeer(Site& site, Link& link, const Hello& peer, bool sameSite = false) {
  Status st = compatible(site, link, peer, sameSite);
  if (st) st = checkConverged(site, peer);
  if (!st && st.code() == Status::Code::kDiverged) {
    if (auto noted = site.replication().noteComparison(peer.site, peer.name, st); !noted)
      return noted;
  }
  if (!st) return st;
  return checkForgotten(site, peer.site, peer.forgotten);
}

Result<Hello> checkedHello(Site& site, Link& link, bool sameSite) {
  auto mine = helloOf(site);
  if (!mine) return mine.status();
  auto peer = link.hello(*mine);
  if (!peer) return namingSchemaDifference(site, link, peer.status());
  if (auto st = checkPeer(site, link, *peer, sameSite); !st) return st;
  return peer;
}

// Tells the sink's owner whether the stream was finished, whatever the sink.
class Watched final : public ChunkSink {
 public:
  explicit Watched(ChunkSink& to) : to_(to) {}
  Status write(Chunk&& chunk) override { return to_.write(std::move(chunk)); }
  Status finish() override {
    finished_ = true;
    return to_.finish();
  }
  Status drain(ChunkSource& source) override {
    Status st = to_.drain(source);
    finished_ = finished_ || st.ok();
    return st;
  }
  ApplyTotals totals() const override { return to_.totals(); }
  bool finished() const { return finished_; }

 private:
  ChunkSink& to_;
  bool finished_ = false;
};

Result<std::unique_ptr<ChunkSink>> sinkFor(Site& site, const SessionOptions& options, const Hello& peer,
                                           const VersionVector& since) {
  if (options.sink) return options.sink(site, peer);
  return std::unique_ptr<ChunkSink>(std::make_unique<ApplyingStream>(
      site, options.progress, options.observer, transactionsLacking(peer.vector, since), options.keepConflicts));
}

Result<ApplyTotals> pull(Site& site, Link& link, const SessionOptions& options, const Hello& peer) {
  auto since = site.vector();
  if (!since) return since.status();
  auto sink = sinkFor(site, options, peer, *since);
  if (!sink) return sink.status();
  Watched in(**sink);
  auto source = link.source(*since);
  if (!source) return source.status();
  if (auto st = *source ? in.drain(**source) : link.pull(*since, in); !st) return st;
  if (!in.finished()) return Status::corruption("the peer ended its stream without finishing it");
  return in.totals();
}

// Tells `observer` what each chunk sent adds, against the total `theirs` lacks.
std::function<void(const Chunk&)> sendingObserver(Site& site, const VersionVector& theirs, const TransferObserver& observer) {
  if (!observer) return [](const Chunk&) {};
  TransferProgress sent{TransferProgress::Phase::kSending};
  if (auto mine = site.vector()) sent.totalTransactions = transactionsLacking(*mine, theirs);
  return [sent, observer](const Chunk& chunk) mutable {
    for (const auto& piece : chunk.pieces) sent.transactions += piece.last, sent.bytes += piece.body.size();
    observer(sent);
  };
}

Result<StreamTotals> push(Site& site, Link& link, const VersionVector& theirs, const SessionOptions& options) {
  auto sink = link.push();
  if (!sink) return sink.status();
  StreamTotals totals;
  auto observe = sendingObserver(site, theirs, options.observer);
  Status st = streamChanges(site, theirs, [&](Chunk&& chunk) {
    observe(chunk);
    return (*sink)->write(std::move(chunk));
  }, &totals, options.chunkBytes);
  if (!st) return st;
  if (auto finished = (*sink)->finish(); !finished) return finished;
  return totals;
}

Status acknowledge(Site& site, Link& link, const Hello& peer, bool synced) {
  auto mine = goodbyeOf(site);
  if (!mine) return mine.status();
  auto theirs = link.acknowledge(*mine);
  if (!theirs) return theirs.status();
  return takeGoodbye(site, peer, *theirs, synced);
}

}  // namespace

Result<Hello> greet(Site& site, Link& link) {
  auto peer = checkedHello(site, link, false);
  if (!peer) return peer;
  if (auto st = takeForgotten(site, peer->site, peer->forgotten); !st) return st;
  return peer;
}

Result<Goodbye> goodbyeOf(Site& site) {
  auto acks = site.replication().acknowledgements();
  if (!acks) return acks.status();
  auto state = endStateOf(site);
  if (!state) return state.status();
  return Goodbye{std::move(*acks), std::move(*state)};
}

Status takeGoodbye(Site& site, const Hello& peer, const Goodbye& theirs, bool synced) {
  // All at once, as one write: decisions settle on what the peer knew, not on a part of it.
  if (auto st = site.replication().acknowledge(theirs.acks); !st) return st;
  if (synced)
    if (auto st = site.replication().noteSync(peer.site, peer.name); !st) return st;
  Status compared = Status::ok();
  if (theirs.state)
    compared =
        site.replication().checkDigests(theirs.state->vector, theirs.state->digests, peer.name);
  if (auto st = site.replication().noteComparison(peer.site, peer.name, compared); !st) return st;
  return compared;
}

Result<SyncSummary> runSession(Site& site, Link& link, const SessionOptions& options) {
  auto peer = checkedHello(site, link, options.sameSite);
  if (!peer) return peer.status();
  SyncSummary summary;
  summary.peer = std::move(*peer);
  auto received = pull(site, link, options, summary.peer);
  if (!received) return received.status();
  summary.received = std::move(*received);
  // Only now: a stream refused (a file corrupt half way) leaves the site as it was.
  if (auto st = takeForgotten(site, summary.peer.site, summary.peer.forgotten); !st) return st;
  if (options.push) {
    auto sent = push(site, link, summary.peer.vector, options);
    if (!sent) return sent.status();
    summary.sent = *sent;
  }
  bool synced = options.noteEmpty || (summary.received.applied > 0 && summary.peer.site != site.id());
  if (auto st = acknowledge(site, link, summary.peer, synced); !st) return st;
  return summary;
}

}  // namespace parley::sync
