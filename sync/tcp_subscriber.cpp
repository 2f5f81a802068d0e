// Subscriber: a thread that keeps one live subscription (Session.subscribe) to a server,
// reconnecting with backoff. Each connection is a Client with an event loop of its own in
// this thread; stop() ends the current wait through a cross-thread fulfiller.
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "parley/sync/tcp.hpp"
#include "tcp_client.hpp"
#include "tcp_server_state.hpp"
#include "tcp_sink.hpp"
#include "tcp_sync.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

constexpr std::chrono::milliseconds kMinBackoff{100}, kMaxBackoff{5000};
constexpr int kMissedHeartbeats = 3;

void addTotals(ApplyTotals& sum, const ApplyTotals& more) {
  sum.applied += more.applied;
  sum.duplicates += more.duplicates;
  sum.refolded += more.refolded;
  sum.rejected += more.rejected;
  sum.conflicts += more.conflicts;
  sum.warnings.insert(sum.warnings.end(), more.warnings.begin(), more.warnings.end());
}

// Exchanges goodbyes (link.hpp) with the server in the background of a stream, at most once
// a period and only after something arrived: the server learns what this site holds (so its
// decisions become final without waiting for a full sync), and this site what the server
// knows every site holds. A failed exchange is dropped; the stream's own failure ends all.
class AckExchange final : public kj::TaskSet::ErrorHandler {
 public:
  // `note` logs a divergence found when both sides hold the same transactions.
  AckExchange(Site& site, wire::Session::Client session, Hello server, kj::Duration period,
              std::function<void(std::string)> note)
      : site_(site), session_(std::move(session)), server_(std::move(server)), period_(period),
        note_(std::move(note)), tasks_(*this) {}

  void progressed(kj::TimePoint now, std::uint64_t applied) {
    if (applied == acked_ || inFlight_ || (started_ && now - last_ < period_)) return;
    auto mine = goodbyeOf(site_);
    if (!mine) return;
    started_ = inFlight_ = true;
    last_ = now;
    tasks_.add(acknowledgeRequest(session_, *mine).send().then(
        [this, applied](capnp::Response<wire::Session::AcknowledgeResults>&& reply) {
          inFlight_ = false;
          acked_ = applied;
          Status compared = takeGoodbye(site_, server_, readGoodbye(reply));
          if (!compared && compared.code() != Status::Code::kDiverged) throwStatus(compared);
          if (!compared && !diverged_) note_(fmt::format("divergence with {}: {}", server_.name, compared.message()));
          diverged_ = !compared;
        }));
  }
  void taskFailed(kj::Exception&&) override { inFlight_ = false; }

 private:
  Site& site_;
  wire::Session::Client session_;
  Hello server_;
  kj::Duration period_;
  std::function<void(std::string)> note_;
  bool diverged_ = false;
  kj::TimePoint last_ = kj::origin<kj::TimePoint>();
  bool started_ = false, inFlight_ = false;
  std::uint64_t acked_ = 0;
  kj::TaskSet tasks_;
};

}  // namespace

struct Subscriber::Impl {
  Impl(Site& s, std::string a, TcpOptions o) : site(s), address(std::move(a)), options(std::move(o)) {}

  void run();
  // One connection, from connecting to its end. Returns why it ended.
  Status connectAndStream();
  std::uint64_t stream(Client& client);
  // Lets stop() end the client's waits; undone by disarm() before the client goes.
  void arm(Client& client);
  void disarm();
  // Sleeps `delay` unless stopped first; false if stopped.
  bool sleep(std::chrono::milliseconds delay);
  bool stopping() const;
  void note(std::string line);
  // Called on the thread for each chunk of the current connection.
  void progressed(const ApplyTotals& current);

  Site& site;
  const std::string address;
  const TcpOptions options;
  std::thread thread;
  std::mutex joinMutex;
  std::string peerName;  // the thread's; the address until a hello names the peer

  mutable std::mutex mutex;  // guards what follows
  std::condition_variable wake;
  bool stop = false;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> canceller;
  std::deque<std::string> log;
  ApplyTotals earlier, current;  // earlier connections', the current one's so far
  std::uint64_t connections = 0;
  Subscriber::State shown;  // what state() returns
};

void Subscriber::Impl::run() {
  peerName = address;
  auto backoff = kMinBackoff;
  std::string lastFailure;
  while (!stopping()) {
    std::uint64_t before = connections;
    Status why = connectAndStream();
    if (stopping()) break;
    bool connected;
    {
      std::lock_guard lock(mutex);
      connected = connections > before;
      shown.streaming = false;
      shown.lastError = why.message();
    }
    if (connected) backoff = kMinBackoff;
    if (connected || why.message() != lastFailure)
      note(fmt::format("{}; retrying in {} ms", why.message(), backoff.count()));
    lastFailure = why.message();
    if (!sleep(backoff)) break;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

Status Subscriber::Impl::connectAndStream() {
  auto r = guardedTcp("stream from", peerName, [&]() -> Result<std::uint64_t> {
    Client client(address, options);
    arm(client);
    struct Disarm {
      Impl& impl;
      ~Disarm() { impl.disarm(); }
    } disarmLater{*this};
    return stream(client);
  });
  {
    std::lock_guard lock(mutex);
    addTotals(earlier, current);
    current = ApplyTotals{};
  }
  return r ? Status::ioError(fmt::format("stream from {} ended", peerName)) : r.status();
}

// Logs in, greets (the session's hello and checks, link.hpp), subscribes from the site's
// vector and applies until the stream fails.
std::uint64_t Subscriber::Impl::stream(Client& client) {
  TcpLink link(site, client, client.open(site.id()));
  auto greeted = greet(site, link);
  check(greeted.status());
  Hello peer = std::move(*greeted);
  peerName = peer.name;
  auto request = link.session().subscribeRequest();
  VersionVector since = take(site.vector());
  writeVector(request.initSince(static_cast<unsigned>(since.entries().size())), since);
  request.setHeartbeatMs(static_cast<std::uint32_t>(options.heartbeat.count()));
  AckExchange acks(site, link.session(), peer, options.heartbeat.count() * kj::MILLISECONDS,
                   [this](std::string line) { note(std::move(line)); });
  // Every chunk, an empty heartbeat too, is a sign of life.
  std::shared_ptr<ApplyingStream> received;
  received = std::make_shared<ApplyingStream>(site, Progress{}, [&](const TransferProgress&) {
    client.alive();
    progressed(received->totals());
    acks.progressed(client.timer().now(), received->totals().applied);
  }, 0);
  request.setSink(kj::heap<StreamSink>(site, received));
  client.setTimeout(options.heartbeat * kMissedHeartbeats);
  auto reply = request.send();
  {
    std::lock_guard lock(mutex);
    ++connections;
    shown.streaming = true;
    shown.peer = peer.site;
    shown.peerName = peer.name;
  }
  note(fmt::format("streaming from {} ({}) from {}", peerName, address, since.toString()));
  client.wait(kj::mv(reply));
  return received->transactions();
}

void Subscriber::Impl::arm(Client& client) {
  auto cancel = kj::newPromiseAndCrossThreadFulfiller<void>();
  client.cancelOn(kj::mv(cancel.promise));
  std::lock_guard lock(mutex);
  canceller = kj::mv(cancel.fulfiller);
  if (stop) canceller->fulfill();
}

void Subscriber::Impl::disarm() {
  std::lock_guard lock(mutex);
  canceller = nullptr;
}

bool Subscriber::Impl::sleep(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex);
  return !wake.wait_for(lock, delay, [this] { return stop; });
}

bool Subscriber::Impl::stopping() const {
  std::lock_guard lock(mutex);
  return stop;
}

void Subscriber::Impl::note(std::string line) {
  std::lock_guard lock(mutex);
  log.push_back(std::move(line));
  while (log.size() > kMaxLogLines) log.pop_front();
}

void Subscriber::Impl::progressed(const ApplyTotals& totals) {
  std::lock_guard lock(mutex);
  current.applied = totals.applied;
  current.duplicates = totals.duplicates;
  current.refolded = totals.refolded;
  current.rejected = totals.rejected;
  current.conflicts = totals.conflicts;
  if (totals.warnings.size() > current.warnings.size()) current.warnings = totals.warnings;
}

Result<std::unique_ptr<Subscriber>> Subscriber::start(Site& site, const std::string& address, TcpOptions options) {
  if (auto st = checkOptions(options); !st) return aboutPeer("stream from", address, st);
  auto impl = std::make_unique<Impl>(site, address, std::move(options));
  impl->thread = std::thread([&impl = *impl] { impl.run(); });
  return std::unique_ptr<Subscriber>(new Subscriber(std::move(impl)));
}

Subscriber::Subscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Subscriber::~Subscriber() { stop(); }

void Subscriber::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
    if (impl_->canceller) impl_->canceller->fulfill();
  }
  impl_->wake.notify_all();
  std::lock_guard lock(impl_->joinMutex);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<std::string> Subscriber::takeLog() {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> out(std::make_move_iterator(impl_->log.begin()), std::make_move_iterator(impl_->log.end()));
  impl_->log.clear();
  return out;
}

ApplyTotals Subscriber::totals() const {
  std::lock_guard lock(impl_->mutex);
  ApplyTotals sum = impl_->earlier;
  addTotals(sum, impl_->current);
  return sum;
}

Subscriber::State Subscriber::state() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->shown;
}

std::uint64_t Subscriber::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections;
}

}  // namespace parley::sync
