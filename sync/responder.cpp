#include "responder.hpp"

#include <fmt/format.h>

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
  if (peer.fingerprint != server.schemaFingerprint())
    return Status::invalidArgument(
        fmt::format("{} has a different schema or resolver configuration (fingerprint {}; this site: {})", name,
                    server.schemaFingerprint(), peer.fingerprint));
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
  return site_.noteComparison(remote.site, remote.name, converged);
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

Result<std::shared_ptr<ApplyingStream>> Responder::push() {
  if (auto st = requireSync("push"); !st) return st;
  if (received_) return Status::invalidArgument("one push per session");
  received_ = std::make_shared<ApplyingStream>(site_);
  return received_;
}

Result<Goodbye> Responder::acknowledge(const Goodbye& theirs) {
  if (auto st = requireSync("acknowledge"); !st) return st;
  for (const auto& [site, vector] : theirs.acks)
    if (auto st = site_.acknowledge(site, vector); !st) return st;
  if (auto st = site_.noteSync(hello_->site, hello_->name); !st) return st;
  // The peer checks the state this replies with, and fails; this side logs and records it.
  Status compared = Status::ok();
  if (theirs.state) compared = site_.checkDigests(theirs.state->vector, theirs.state->digests, peerName());
  if (!compared) note(fmt::format("divergence with {}: {}", peerName(), compared.message()));
  if (auto st = site_.noteComparison(hello_->site, peerName(), compared); !st) return st;
  auto acks = site_.acknowledgements();
  if (!acks) return acks.status();
  auto state = endStateOf(site_);
  if (!state) return state.status();
  return Goodbye{std::move(*acks), std::move(*state)};
}

}  // namespace parley::sync
