// syncTcp(): one sync with a server, as the client. The order is hello, pull, push,
// acknowledge: each side applies what arrives as it arrives, so an interrupted sync keeps what
// it got and the next one resumes from there.
#include <fmt/format.h>

#include "parley/sync/tcp.hpp"
#include "tcp_client.hpp"
#include "tcp_sink.hpp"
#include "tcp_sync.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

ApplyTotals pull(Client& client, wire::Session::Client& session, Site& site, const Progress& progress) {
  auto received = std::make_shared<Received>(site);
  auto onChunk = [&client, &progress, reported = std::uint64_t{0}](std::uint64_t transactions) mutable {
    client.alive();
    if (progress && transactions > reported) progress(reported = transactions);
  };
  auto request = session.pullRequest();
  VersionVector since = take(site.vector());
  writeVector(request.initSince(static_cast<unsigned>(since.entries().size())), since);
  request.setSink(kj::heap<ApplyingSink>(site, received, onChunk));
  try {
    client.wait(request.send());
  } catch (const kj::Exception&) {
    if (!received->interrupted.empty()) throw Error(Status::ioError("interrupted: " + received->interrupted));
    throw;
  }
  if (!received->finished) throw Error(Status::corruption("the server ended its stream without finishing it"));
  return received->applier.totals();
}

StreamTotals push(Client& client, wire::Session::Client& session, Site& site, const VersionVector& theirs,
                  std::size_t chunkBytes) {
  auto sink = client.wait(session.pushRequest().send()).getSink();
  StreamTotals totals;
  kj::Maybe<kj::Exception> failure;
  Status st = streamChanges(site, theirs, [&](Chunk&& chunk) -> Status {
    try {
      auto request = sink.writeRequest();
      writeChunk(request.initChunk(), chunk);
      client.wait(request.send());
      return Status::ok();
    } catch (kj::Exception& e) {
      failure = kj::mv(e);
      return Status::ioError("the stream failed");
    }
  }, &totals, chunkBytes);
  KJ_IF_MAYBE(e, failure) { kj::throwFatalException(kj::mv(*e)); }
  check(st);
  client.wait(sink.finishRequest().send());
  return totals;
}

void acknowledge(Client& client, wire::Session::Client& session, Site& site, const Hello& server) {
  auto mine = site.acknowledgements();
  if (!mine) throw Error(mine.status());
  auto request = session.acknowledgeRequest();
  writeAcks(request.initAcks(static_cast<unsigned>(mine->size())), *mine);
  writeState(request.initState(), site);
  auto reply = client.wait(request.send());
  for (const auto& [id, vector] : readAcks(reply.getAcks()))
    if (auto st = site.acknowledge(id, vector); !st) throw Error(st);
  if (auto st = site.noteSync(server.site); !st) throw Error(st);
  Status compared = checkState(site, reply.getState(), server.name);
  if (auto st = site.noteComparison(server.site, server.name, compared); !st) throw Error(st);
  if (!compared) throw Error(compared);
}

SyncSummary syncWith(Site& site, const std::string& address, const TcpOptions& options) {
  Client client(address, options);
  auto session = client.open(site.id());
  auto mine = helloOf(site);
  if (!mine) throw Error(mine.status());
  SyncSummary summary;
  summary.peer = sayHello(client, session, *mine);
  Status st = checkCompatible(site, summary.peer);
  if (st) st = checkConverged(site, summary.peer);
  if (!st) {
    if (st.code() == Status::Code::kDiverged) site.noteComparison(summary.peer.site, summary.peer.name, st);
    throw Error(st);
  }
  if (auto st = takeForgotten(site, summary.peer.site, summary.peer.forgotten); !st) throw Error(st);
  summary.received = pull(client, session, site, options.progress);
  summary.sent = push(client, session, site, summary.peer.vector, options.chunkBytes);
  acknowledge(client, session, site, summary.peer);
  return summary;
}

}  // namespace

Hello sayHello(Client& client, wire::Session::Client& session, const Hello& mine) {
  auto request = session.helloRequest();
  writeHello(request.initHello(), mine);
  auto reply = client.wait(request.send());
  return readHello(reply.getHello());
}

Result<SyncSummary> syncTcp(Site& site, const std::string& address, const TcpOptions& options) {
  return guardedTcp("sync with", address, [&]() -> Result<SyncSummary> {
    if (auto st = checkOptions(options); !st) return st;
    return syncWith(site, address, options);
  });
}

Status withRemoteSummaries(Site& site, const std::string& address, const TcpOptions& options,
                           const std::function<Status(const Summarizer& peer, const Hello& hello)>& fn) {
  return guardedTcp("verify with", address, [&]() -> Result<int> {
    if (auto st = checkOptions(options); !st) return st;
    Client client(address, options);
    auto session = client.open(site.id());
    auto mine = helloOf(site);
    if (!mine) return mine.status();
    Hello peer = sayHello(client, session, *mine);
    if (auto st = checkCompatible(site, peer); !st) return st;
    Summarizer summarize = [&](std::string_view table, const KeyRange& range,
                               std::size_t listUpTo) -> Result<RangeSummary> {
      auto request = session.summarizeRequest();
      request.setTable(std::string(table));
      writeRow(request.initLo(static_cast<unsigned>(range.lo.size())), range.lo);
      writeRow(request.initHi(static_cast<unsigned>(range.hi.size())), range.hi);
      request.setListUpTo(static_cast<std::uint32_t>(std::min<std::size_t>(listUpTo, kMaxListedKeys)));
      auto reply = client.wait(request.send());
      return readSummary(reply.getSummary());
    };
    if (auto st = fn(summarize, peer); !st) return st;
    return 0;
  }).status();
}

}  // namespace parley::sync
