#include "tcp_session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "tcp_live.hpp"
#include "tcp_outgoing.hpp"
#include "tcp_status.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

template <class F>
auto decoded(F&& read) {
  try {
    return read();
  } catch (const Error& e) {
    throwStatus(e.status());
  }
}

// Why `server` refuses `peer`, as the peer should read it ("this site" is the peer).
Status refusal(const Site& server, const Hello& peer, const Status& why) {
  const std::string& name = server.name();
  if (peer.protocolVersion != kProtocolVersion)
    return Status::unsupported(fmt::format("{} speaks sync protocol {}, this site {}", name, kProtocolVersion,
                                           peer.protocolVersion));
  if (peer.cluster != server.clusterId())
    return Status::invalidArgument(fmt::format("{} belongs to another cluster ({}; this site: {})", name,
                                               server.clusterId().shortHex(), peer.cluster.shortHex()));
  if (peer.site == server.id()) return Status::invalidArgument(fmt::format("{} is this site itself", name));
  if (peer.fingerprint != server.schemaFingerprint())
    return Status::invalidArgument(
        fmt::format("{} has a different schema or resolver configuration (fingerprint {}; this site: {})", name,
                    server.schemaFingerprint(), peer.fingerprint));
  return why;
}

}  // namespace

SessionImpl::~SessionImpl() {
  if (subscribed_)
    server_.note(fmt::format("stream to {} ended: sent {} transactions", peerName(), sent_.transactions));
  if (logged_ || !hello_) return;
  if (snapshotBytes_)
    server_.note(fmt::format("sent a snapshot ({} bytes) to new site {}", *snapshotBytes_, hello_->name));
  else
    server_.note(fmt::format("sync with {} ended early: {}", peerName(), summary()));
}

std::string SessionImpl::peerName() const { return hello_ ? hello_->name : peer_.shortHex(); }

std::string SessionImpl::summary() const {
  std::uint64_t conflicts = received_ ? received_->applier.totals().conflicts : 0;
  return fmt::format("sent {}, received {}, {} conflict{}", sent_.transactions,
                     received_ ? received_->applier.totals().applied : 0, conflicts, conflicts == 1 ? "" : "s");
}

void SessionImpl::checkHello(const Hello& remote) {
  if (hello_) throwStatus(Status::invalidArgument("hello was already said"));
  if (remote.site != peer_) throwStatus(Status::invalidArgument("the hello names another site than the login"));
  Status st = remote.site.isNil() ? Status::ok() : checkCompatible(server_.site, remote);
  if (st && remote.protocolVersion != kProtocolVersion) st = Status::unsupported("another sync protocol");
  if (st && !remote.site.isNil()) st = takeForgotten(server_.site, remote.site, remote.forgotten);
  if (!st) {
    server_.note(fmt::format("refused {}: {}", remote.name, st.message()));
    throwStatus(refusal(server_.site, remote, st));
  }
  // Same transactions, other rows: logged and recorded here; the client refuses to sync on
  // (and may still compare rows with parley verify).
  if (remote.site.isNil()) return;
  Status converged = checkConverged(server_.site, remote);
  if (!converged) server_.note(fmt::format("divergence with {}: {}", remote.name, converged.message()));
  if (!converged) check(server_.site.noteComparison(remote.site, remote.name, converged));
}

void SessionImpl::requireSync(const char* what) const {
  if (!hello_) throwStatus(Status::invalidArgument(fmt::format("{} before hello", what)));
  if (hello_->site.isNil()) throwStatus(Status::invalidArgument("a site being cloned may only take a snapshot"));
}

kj::Promise<void> SessionImpl::hello(HelloContext context) {
  Hello remote = decoded([&] { return readHello(context.getParams().getHello()); });
  checkHello(remote);
  auto mine = helloOf(server_.site);
  check(mine.status());
  writeHello(context.getResults().initHello(), *mine);
  hello_ = std::move(remote);
  return kj::READY_NOW;
}

kj::Promise<void> SessionImpl::pull(PullContext context) {
  requireSync("pull");
  auto params = context.getParams();
  VersionVector since = decoded([&] { return readVector(params.getSince()); });
  return sendChanges(server_.site, std::move(since), server_.options.chunkBytes, params.getSink())
      .then([this, context](StreamTotals totals) mutable {
        sent_.transactions += totals.transactions;
        sent_.bytes += totals.bytes;
        context.getResults().setSent(totals.transactions);
      })
      .attach(thisCap());
}

kj::Promise<void> SessionImpl::push(PushContext context) {
  requireSync("push");
  if (received_) throwStatus(Status::invalidArgument("one push per session"));
  received_ = std::make_shared<Received>(server_.site);
  context.getResults().setSink(kj::heap<ApplyingSink>(server_.site, received_));
  return kj::READY_NOW;
}

kj::Promise<void> SessionImpl::acknowledge(AcknowledgeContext context) {
  requireSync("acknowledge");
  Acks theirs = decoded([&] { return readAcks(context.getParams().getAcks()); });
  for (const auto& [site, vector] : theirs) check(server_.site.acknowledge(site, vector));
  check(server_.site.noteSync(peer_));
  // The client checks the state this replies with, and fails; this side logs and records it.
  Status compared = decoded([&] { return checkState(server_.site, context.getParams().getState(), peerName()); });
  if (!compared) server_.note(fmt::format("divergence with {}: {}", peerName(), compared.message()));
  check(server_.site.noteComparison(peer_, peerName(), compared));
  auto mine = server_.site.acknowledgements();
  check(mine.status());
  writeAcks(context.getResults().initAcks(static_cast<unsigned>(mine->size())), *mine);
  writeState(context.getResults().initState(), server_.site);
  if (!subscribed_) server_.note(fmt::format("synced with {}: {}", peerName(), summary()));  // a stream logs its end
  logged_ = true;
  return kj::READY_NOW;
}

kj::Promise<void> SessionImpl::snapshot(SnapshotContext context) {
  if (!hello_) throwStatus(Status::invalidArgument("snapshot before hello"));
  return sendSnapshot(server_.site, context.getParams().getSink())
      .then([this, context](std::uint64_t bytes) mutable {
        snapshotBytes_ = bytes;
        context.getResults().setBytes(bytes);
      })
      .attach(thisCap());
}

kj::Promise<void> SessionImpl::subscribe(SubscribeContext context) {
  requireSync("subscribe");
  if (subscribed_) throwStatus(Status::invalidArgument("one subscription per session"));
  auto params = context.getParams();
  VersionVector since = decoded([&] { return readVector(params.getSince()); });
  const auto& options = server_.options;
  std::uint32_t heartbeatMs = std::max<std::uint32_t>(params.getHeartbeatMs(), 10);
  LiveOptions live{options.poll, std::chrono::milliseconds(heartbeatMs), options.chunkBytes, options.timeout};
  subscribed_ = logged_ = true;
  server_.note(fmt::format("streaming to {}", peerName()));
  return streamLive(server_.site, peer_, std::move(since), *server_.timer, live, params.getSink(), sent_)
      .attach(thisCap());
}

kj::Promise<void> SessionImpl::summarize(SummarizeContext context) {
  requireSync("summarize");
  auto params = context.getParams();
  KeyRange range = decoded([&] { return KeyRange{readRow(params.getLo()), readRow(params.getHi())}; });
  std::size_t listUpTo = std::min<std::size_t>(params.getListUpTo(), kMaxListedKeys);
  auto summary = server_.site.summarize(std::string(params.getTable().cStr()), range, listUpTo);
  check(summary.status());
  writeSummary(context.getResults().initSummary(), *summary);
  return kj::READY_NOW;
}

}  // namespace parley::sync
