#include "responder.hpp"
#include "parley/replication.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace parley::sync {
namespace {

// Why `server` refuses `peer`, as the peer should read it ("this site" is the peer).
Status refusal(const Site& server, const Hello& peer, const Status& why) {
  const std::string& name = server.name();
  if (peer.protocolVersion != kProtocolVersion)
    return Status::unsupported(fmt::format("{} speaks sync protocol {}, this site {}", name, kProtocolVersion,
                                           peer.protocolVersion));
  if (peer.cluster != server.clusterId())
    return Status::invalidArgument(fmt::format("{} belongs to another cluster ({}; this site: {})", name,
                                               server.clusterId().shortHex(), peer.cluster.shortHex()));
  if (peer.site == server.id()) return why;  // the same id: the remedy (rejoin) is the peer's to take
  if (peer.fingerprint != server.replication().schemaFingerprint())
    return Status::invalidArgument(fmt::format(
        "{} has a different schema or resolver configuration (fingerprint {}; this site: {})", name,
        server.replication().schemaFingerprint(), peer.fingerprint));
  return why;
}

}  // namespace

std::string Responder::peerName() const { return hello_ ? hello_->name : std::string("a peer"); }

Status Responder::check(const Hello& remote) {
  if (hello_) return Status::invalidArgument("hello was already said");
  Status st = remote.site.isNil() ? Status::ok() : checkCompatible(site_, remote);
  if (st && remote.protocolVersion != kProtocolVersion) st = Status::unsupported("another sync protocol");
  if (st && !remote.site.isNil()) st = takeForgotten(site_, remote.site, remote.forgotten);
  if (!st) {
    note(fmt::format("refused {}: {}", remote.name, st.message()));
    return refusal(site_, remote, st);
  }
  // Same transactions, other rows: logged and recorded here; the peer refuses to sync on
  // (and may still compare rows with parley verify).
  if (remote.site.isNil()) return Status::ok();
  Status converged = checkConverged(site_, remote);
  if (converged) return Status::ok();
  note(fmt::format("divergence with {}: {}", remote.name, converged.message()));
  return site_.replication().noteComparison(remote.site, remote.name, converged);
}

Result<Hello> Responder::hello(const Hello& remote) {
  if (auto st = check(remote); !st) return st;
  auto mine = helloOf(site_);
  if (!mine) return mine.status();
  hello_ = remote;
  return mine;
}

Status Responder::requireSync(const char* what) const {
  if (!hello_) return Status::invalidArgument(fmt::format("{} before hello", what));
  if (hello_->site.isNil()) return Status::invalidArgument("a site being cloned may only take a snapshot");
  return Status::ok();
}

Status Responder::pull(const VersionVector& since, ChunkSink& sink, std::size_t chunkBytes) {
  if (auto st = requireSync("pull"); !st) return st;
  Status st = streamChanges(site_, since, [&](Chunk&& chunk) { return sink.write(std::move(chunk)); }, &sent_,
                            chunkBytes);
  if (!st) return st;
  return sink.finish();
}

Result<bool> Outgoing::next(std::deque<Chunk>& out) {
  if (subscriber_) {
    auto held = site_.vector();  // re-read only when the database changed
    if (!held) return held.status();
    // The subscriber holds every transaction of its own this site holds.
    if (auto own = held->get(*subscriber_); own > 0) cursor_.assumeHeld(Dot{*subscriber_, own});
    if (held->leq(cursor_.since())) return false;
  }
  StreamTotals before = cursor_.totals();
  auto more = cursor_.next(out);
  sent_.transactions += cursor_.totals().transactions - before.transactions;
  sent_.bytes += cursor_.totals().bytes - before.bytes;
  return more;
}

Result<std::unique_ptr<Outgoing>> Responder::outgoing(const VersionVector& since, std::size_t chunkBytes) {
  if (auto st = requireSync("pull"); !st) return st;
  std::size_t batch = std::max(kBatchChunks * chunkBytes, kMinBatchBytes);
  return std::make_unique<Outgoing>(site_, since, chunkBytes, batch, sent_);
}

Result<std::unique_ptr<Outgoing>> Responder::subscribe(const VersionVector& since, std::size_t chunkBytes) {
  if (auto st = requireSync("subscribe"); !st) return st;
  if (subscribed_) return Status::invalidArgument("one subscription per session");
  subscribed_ = true;
  return std::make_unique<Outgoing>(site_, since, chunkBytes, kLiveBatchBytes, sent_, hello_->site);
}

Result<std::shared_ptr<ApplyingStream>> Responder::push() {
  if (auto st = requireSync("push"); !st) return st;
  if (received_) return Status::invalidArgument("one push per session");
  received_ = std::make_shared<ApplyingStream>(site_);
  return received_;
}

Result<Goodbye> Responder::acknowledge(const Goodbye& theirs) {
  if (auto st = requireSync("acknowledge"); !st) return st;
  // The peer checks the state this replies with, and fails; this side logs and records it.
  Status compared = takeGoodbye(site_, *hello_, theirs);
  if (!compared && compared.code() != Status::Code::kDiverged) return compared;
  if (!compared) note(fmt::format("divergence with {}: {}", peerName(), compared.message()));
  return goodbyeOf(site_);
}

}  // namespace parley::sync
