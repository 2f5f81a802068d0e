#include "parley/sync/session.hpp"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

#include "change_cursor.hpp"
#include "parley/replication.hpp"
#include "parley/txn_codec.hpp"

namespace parley::sync {

Result<Hello> helloOf(Site& site) {
  auto acks = site.replication().acknowledgements();
  if (!acks) return acks.status();
  auto heads = site.replication().chainHeads();
  if (!heads) return heads.status();
  auto digests = site.replication().digests();
  if (!digests) return digests.status();
  auto forgotten = site.replication().forgotten();
  if (!forgotten) return forgotten.status();
  auto held = site.vector();
  if (!held) return held.status();
  return Hello{kProtocolVersion,
               site.clusterId(),
               site.id(),
               site.name(),
               site.replication().schemaFingerprint(),
               std::move(*held),
               std::move(*acks),
               std::move(*heads),
               std::move(*digests),
               std::move(*forgotten)};
}

Status checkConverged(const Site& local, const Hello& remote) {
  return local.replication().checkDigests(remote.vector, remote.digests, remote.name);
}

Status checkForgotten(Site& local, const SiteId& peer, const std::vector<SiteId>& peerForgot) {
  if (auto st = local.replication().checkNotForgotten(peer); !st) return st;
  for (const auto& id : peerForgot)
    if (id == local.id()) return Status::invalidArgument(forgottenRefusal(id));
  return Status::ok();
}

Status takeForgotten(Site& local, const SiteId& peer, const std::vector<SiteId>& peerForgot) {
  if (auto st = checkForgotten(local, peer, peerForgot); !st) return st;
  for (const auto& id : peerForgot)
    if (auto st = local.replication().forget(id); !st) return st;
  return Status::ok();
}

Status checkCompatible(const Site& local, const Hello& remote, bool sameSite) {
  if (remote.protocolVersion != kProtocolVersion)
    return Status::unsupported(fmt::format("peer {} speaks sync protocol {}, this site {}", remote.name,
                                           remote.protocolVersion, kProtocolVersion));
  if (remote.cluster != local.clusterId())
    return Status::invalidArgument(fmt::format("peer {} ({}) belongs to another cluster ({}, this site: {})",
                                               remote.name, remote.site.shortHex(), remote.cluster.shortHex(),
                                               local.clusterId().shortHex()));
  if (remote.site == local.id() && !sameSite)
    return Status::diverged(fmt::format(
        "{} and {} have the same site id ({}): one is this site itself, or a copy of its file (cp, or a restored "
        "backup); at the copy, run `parley rejoin` (see \"When sites disagree\" in the README)",
        local.name(), remote.name, local.id().shortHex()));
  if (remote.fingerprint != local.replication().schemaFingerprint())
    return Status::invalidArgument(fmt::format(
        "peer {} has a different schema or resolver configuration (fingerprint {}, this site {})",
        remote.name, remote.fingerprint, local.replication().schemaFingerprint()));
  return local.replication().checkHistories(remote.heads, remote.name);
}

Status streamChanges(const Site& site, const VersionVector& since, const std::function<Status(Chunk&&)>& emit,
                     StreamTotals* totals, std::size_t chunkBytes) {
  std::deque<Chunk> chunks;
  auto emitAll = [&](std::deque<Chunk>& full) -> Status {
    for (; !full.empty(); full.pop_front())
      if (auto st = emit(std::move(full.front())); !st) return st;
    return Status::ok();
  };
  Status st = site.replication().forEachChangeSince(
      since, [&](const Dot&, Hlc, std::string_view body) -> Status {
        if (totals) ++totals->transactions, totals->bytes += body.size();
        return appendToChunks(chunks, body, std::max<std::size_t>(chunkBytes, 1), emitAll);
      });
  if (!st) return st;
  return emitAll(chunks);
}

Status ChunkApplier::apply(const Chunk& chunk) {
  // A transaction in one piece is decoded from the chunk's bytes and its log body is those
  // bytes; one split across pieces (and chunks) is joined first.
  std::vector<Transaction> batch;
  std::deque<std::string> joined;  // a deque: the views into it stay valid as it grows
  std::vector<std::string_view> bodies;
  try {
    for (const auto& piece : chunk.pieces) {
      std::string_view body = piece.body;
      if (!partial_.empty() || !piece.last) {
        partial_ += piece.body;
        if (!piece.last) continue;
        joined.push_back(std::move(partial_));
        partial_.clear();
        body = joined.back();
      }
      batch.push_back(valueOrThrow(decodeTransaction(body)));
      bodies.push_back(body);
    }
  } catch (const Error& e) {
    return e.status();
  }
  if (batch.empty()) return Status::ok();
  auto r = site_.replication().applyEncoded(batch, bodies);
  if (!r) return r.status();
  totals_.add(*r);
  if (keepConflicts_) {
    auto& kept = totals_.conflictReports;
    kept.insert(kept.end(), r->conflicts.begin(), r->conflicts.end());
  }
  for (const auto& t : batch) totals_.rows += t.rows.size();
  return Status::ok();
}

std::uint64_t transactionsLacking(const VersionVector& from, const VersionVector& to) {
  std::uint64_t n = 0;
  for (const auto& [origin, seq] : from.entries()) n += seq > to.get(origin) ? seq - to.get(origin) : 0;
  return n;
}

void ApplyTotals::add(const ApplyResult& r) {
  applied += r.applied;
  duplicates += r.duplicates;
  refolded += r.refolded;
  rejected += r.rejected;
  conflicts += r.conflicts.size();
  warnings.insert(warnings.end(), r.warnings.begin(), r.warnings.end());
}

ApplyResult ApplyTotals::result() const {
  ApplyResult r;
  r.applied = applied;
  r.duplicates = duplicates;
  r.refolded = refolded;
  r.rejected = rejected;
  r.conflicts = conflictReports;
  r.warnings = warnings;
  return r;
}

Status ChunkApplier::finish() {
  if (!partial_.empty()) return Status::corruption("the stream ended inside a transaction");
  return Status::ok();
}

}  // namespace parley::sync
