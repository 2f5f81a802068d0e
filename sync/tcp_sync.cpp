// TcpLink, and syncTcp(): one sync with a server, as the client: runSession (link.hpp) over a
// TcpLink, each request one RPC of sync.capnp's Session. KJ's exceptions become Statuses here, so they
// never cross the site's code (the push stream runs inside Site::forEachChangeSince).
#include <fmt/format.h>

#include "parley/sync/link.hpp"
#include "parley/sync/tcp.hpp"
#include "tcp_client.hpp"
#include "tcp_sink.hpp"
#include "tcp_sync.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

// What a pulled stream's RPC sink forwards to, while the pull lasts (a late chunk finds none).
struct PullTarget {
  ChunkSink* sink = nullptr;
  Status failure = Status::ok();  // why the sink stopped the stream, if it did
};

Chunk decodedChunk(wire::Chunk::Reader reader) {
  try {
    return readChunk(reader);
  } catch (const Error& e) {
    throwStatus(e.status());
  }
}

// The RPC end of a pull: hands each chunk to the session's sink.
class ForwardingSink final : public wire::ChangeSink::Server {
 public:
  ForwardingSink(Site& site, Client& client, std::shared_ptr<PullTarget> target)
      : site_(site), client_(client), target_(std::move(target)) {}

 protected:
  kj::Promise<void> write(WriteContext context) override {
    client_.alive();
    Chunk chunk = decodedChunk(context.getParams().getChunk());
    forward(sink().write(std::move(chunk)));
    return kj::READY_NOW;
  }
  kj::Promise<void> finish(FinishContext context) override {
    forward(sink().finish());
    answerFinish(context.getResults(), site_, sink().totals());
    return kj::READY_NOW;
  }

 private:
  ChunkSink& sink() {
    if (!target_->sink) throwStatus(Status::invalidArgument("a chunk arrived after the end of the stream"));
    return *target_->sink;
  }
  void forward(const Status& st) {
    if (st) return;
    target_->failure = st;
    throwStatus(st);
  }

  Site& site_;
  Client& client_;
  std::shared_ptr<PullTarget> target_;
};

// The RPC end of a push: each chunk one streaming write, waited for (flow control).
class PushSink final : public ChunkSink {
 public:
  PushSink(Client& client, wire::ChangeSink::Client sink) : client_(client), sink_(kj::mv(sink)) {}
  ~PushSink() noexcept override {}
  Status write(Chunk&& chunk) override {
    return waited([&] {
      auto request = sink_.writeRequest();
      writeChunk(request.initChunk(), chunk);
      client_.wait(request.send());
    });
  }
  Status finish() override {
    return waited([&] { client_.wait(sink_.finishRequest().send()); });
  }

 private:
  template <class F>
  static Status waited(F&& call) {
    try {
      call();
      return Status::ok();
    } catch (const kj::Exception& e) {
      return statusOf(e);
    }
  }

  Client& client_;
  wire::ChangeSink::Client sink_;
};

}  // namespace

TcpLink::TcpLink(Site& site, Client& client, wire::Session::Client session)
    : site_(site), client_(client), session_(kj::mv(session)) {}

TcpLink::~TcpLink() noexcept {}

Result<Hello> TcpLink::hello(const Hello& mine) {
  try {
    return sayHello(client_, session_, mine);
  } catch (const kj::Exception& e) {
    return statusOf(e);
  }
}

Status TcpLink::pull(const VersionVector& since, ChunkSink& sink) {
  auto target = std::make_shared<PullTarget>(PullTarget{&sink});
  KJ_DEFER(target->sink = nullptr);
  auto request = session_.pullRequest();
  writeVector(request.initSince(static_cast<unsigned>(since.entries().size())), since);
  request.setSink(kj::heap<ForwardingSink>(site_, client_, target));
  try {
    client_.wait(request.send());
    return Status::ok();
  } catch (const kj::Exception& e) {
    if (!target->failure) return target->failure;  // the session's sink stopped it
    return statusOf(e);
  }
}

Result<std::unique_ptr<ChunkSink>> TcpLink::push() {
  try {
    auto sink = client_.wait(session_.pushRequest().send()).getSink();
    return std::unique_ptr<ChunkSink>(std::make_unique<PushSink>(client_, kj::mv(sink)));
  } catch (const kj::Exception& e) {
    return statusOf(e);
  }
}

Result<Goodbye> TcpLink::acknowledge(const Goodbye& mine) {
  try {
    auto reply = client_.wait(acknowledgeRequest(session_, mine).send());
    return readGoodbye(reply);
  } catch (const kj::Exception& e) {
    return statusOf(e);
  }
}

namespace {

Result<SyncSummary> syncWith(Site& site, const std::string& address, const TcpOptions& options) {
  Client client(address, options);
  TcpLink link(site, client, client.open(site.id()));
  return runSession(site, link, SessionOptions{options.chunkBytes, options.progress, options.observer});
}

}  // namespace

capnp::Request<wire::Session::AcknowledgeParams, wire::Session::AcknowledgeResults> acknowledgeRequest(
    wire::Session::Client& session, const Goodbye& mine) {
  auto request = session.acknowledgeRequest();
  writeAcks(request.initAcks(static_cast<unsigned>(mine.acks.size())), mine.acks);
  if (mine.state) writeEndState(request.initState(), *mine.state);
  return request;
}

Goodbye readGoodbye(wire::Session::AcknowledgeResults::Reader reply) {
  return Goodbye{readAcks(reply.getAcks()), readEndState(reply.getState())};
}

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
