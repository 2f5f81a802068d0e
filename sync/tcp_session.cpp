#include "tcp_session.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "parley/replication.hpp"
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

template <class T>
T checked(Result<T>&& r) {
  check(r.status());
  return std::move(*r);
}

}  // namespace

SessionImpl::SessionImpl(ServerState& server, SiteId peer)
    : server_(server), peer_(peer), responder_(server.site, [&server](const std::string& line) { server.note(line); }) {}

SessionImpl::~SessionImpl() {
  const auto& hello = responder_.peer();
  if (subscribed_)
    server_.note(fmt::format("stream to {} ended: sent {} transactions", peerName(), responder_.sent().transactions));
  if (logged_ || !hello) return;
  if (snapshotBytes_)
    server_.note(fmt::format("sent a snapshot ({} bytes) to new site {}", *snapshotBytes_, hello->name));
  else
    server_.note(fmt::format("sync with {} ended early: {}", peerName(), summary()));
}

std::string SessionImpl::peerName() const { return responder_.peer() ? responder_.peer()->name : peer_.shortHex(); }

std::string SessionImpl::summary() const {
  ApplyTotals received = responder_.received();
  return fmt::format("sent {}, received {}, {} conflict{}", responder_.sent().transactions, received.applied,
                     received.conflicts, received.conflicts == 1 ? "" : "s");
}

kj::Promise<void> SessionImpl::hello(HelloContext context) {
  Hello remote = decoded([&] { return readHello(context.getParams().getHello()); });
  if (!responder_.peer() && remote.site != peer_)
    throwStatus(Status::invalidArgument("the hello names another site than the login"));
  Hello mine = checked(responder_.hello(remote));
  writeHello(context.getResults().initHello(), mine);
  return kj::READY_NOW;
}

kj::Promise<void> SessionImpl::pull(PullContext context) {
  auto params = context.getParams();
  VersionVector since = decoded([&] { return readVector(params.getSince()); });
  auto changes = checked(responder_.outgoing(since, server_.options.chunkBytes));
  return sendChanges(std::move(changes), params.getSink())
      .then([context](StreamTotals totals) mutable { context.getResults().setSent(totals.transactions); })
      .attach(thisCap());
}

kj::Promise<void> SessionImpl::push(PushContext context) {
  auto stream = checked(responder_.push());
  context.getResults().setSink(kj::heap<StreamSink>(server_.site, std::move(stream)));
  return kj::READY_NOW;
}

kj::Promise<void> SessionImpl::acknowledge(AcknowledgeContext context) {
  auto params = context.getParams();
  Goodbye theirs = decoded([&] { return Goodbye{readAcks(params.getAcks()), readEndState(params.getState())}; });
  Goodbye mine = checked(responder_.acknowledge(theirs));
  writeAcks(context.getResults().initAcks(static_cast<unsigned>(mine.acks.size())), mine.acks);
  if (mine.state) writeEndState(context.getResults().initState(), *mine.state);
  // A stream logs its end; an idle round (nothing either way) is not worth a line.
  ApplyTotals received = responder_.received();
  if (!subscribed_ && (responder_.sent().transactions || received.applied || received.conflicts))
    server_.note(fmt::format("synced with {}: {}", peerName(), summary()));
  logged_ = true;
  return kj::READY_NOW;
}

kj::Promise<void> SessionImpl::snapshot(SnapshotContext context) {
  if (!responder_.peer()) throwStatus(Status::invalidArgument("snapshot before hello"));
  return sendSnapshot(server_.site, context.getParams().getSink())
      .then([this, context](std::uint64_t bytes) mutable {
        snapshotBytes_ = bytes;
        context.getResults().setBytes(bytes);
      })
      .attach(thisCap());
}

kj::Promise<void> SessionImpl::subscribe(SubscribeContext context) {
  auto params = context.getParams();
  VersionVector since = decoded([&] { return readVector(params.getSince()); });
  const auto& options = server_.options;
  auto changes = checked(responder_.subscribe(since, options.chunkBytes));
  std::uint32_t heartbeatMs = std::max<std::uint32_t>(params.getHeartbeatMs(), 10);
  LiveOptions live{options.poll, std::chrono::milliseconds(heartbeatMs), options.timeout};
  subscribed_ = logged_ = true;
  server_.note(fmt::format("streaming to {}", peerName()));
  return streamLive(std::move(changes), *server_.timer, live, params.getSink()).attach(thisCap());
}

kj::Promise<void> SessionImpl::summarize(SummarizeContext context) {
  check(responder_.requireSync("summarize"));
  auto params = context.getParams();
  KeyRange range = decoded([&] { return KeyRange{readRow(params.getLo()), readRow(params.getHi())}; });
  std::size_t listUpTo = std::min<std::size_t>(params.getListUpTo(), kMaxListedKeys);
  auto summary =
      server_.site.replication().summarize(std::string(params.getTable().cStr()), range, listUpTo);
  check(summary.status());
  writeSummary(context.getResults().initSummary(), *summary);
  return kj::READY_NOW;
}

}  // namespace parley::sync
