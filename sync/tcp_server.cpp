// Server: a thread running KJ's event loop, a listener, and one RPC system per connection
// whose bootstrap is a fresh Gate. stop() reaches the thread through a cross-thread fulfiller.
#include <fmt/format.h>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "parley/sync/tcp.hpp"
#include "tcp_gate.hpp"
#include "tcp_limits.hpp"
#include "tcp_server_state.hpp"
#include "tcp_status.hpp"
#include "tcp_watched_stream.hpp"
#include "tls.hpp"

namespace parley::sync {
namespace {

constexpr kj::Duration kAcceptRetry = 200 * kj::MILLISECONDS;

// Until its peer logs in, a connection holds a place (`ticket`) among its source's connections
// waiting for login and reads only small messages (tcp_admission.hpp).
struct Connection {
  Connection(kj::Own<kj::AsyncIoStream> s, kj::Timer& timer, ServerState& state,
             std::unique_ptr<Admissions::Ticket> t, std::string from, const auth::Digest& channel)
      : ticket(std::move(t)),
        source(std::move(from)),
        stream(kj::mv(s), timer),
        messages(stream, granted,
                 [&state, this] {
                   state.note(fmt::format("dropped a connection from {}: it sent a message over {} bytes before login",
                                          source, kPreLoginMessageBytes));
                 }),
        network(messages, capnp::rpc::twoparty::Side::SERVER),
        rpc(capnp::makeRpcServer(network,
                                 wire::Gate::Client(kj::heap<GateImpl>(state, source, channel, granted,
                                                                      [this] { ticket->release(); })))) {}

  // Resolves when the peer disconnects, when it has not logged in within the timeout, or when
  // a logged-in peer has sent nothing for kIdleTimeouts timeouts.
  kj::Promise<void> ended(kj::Timer& timer, ServerState& state) {
    auto timeout = state.options.timeout.count() * kj::MILLISECONDS;
    auto deadline = timer.afterDelay(timeout).then([this, &timer, &state, timeout]() -> kj::Promise<void> {
      if (!*granted) return kj::READY_NOW;
      return whenIdle(timer, stream, kIdleTimeouts * timeout).then([&state, timeout] {
        state.note(fmt::format("dropped a peer that sent nothing for {} ms", kIdleTimeouts * timeout / kj::MILLISECONDS));
      });
    });
    return network.onDisconnect().exclusiveJoin(kj::mv(deadline));
  }

  std::shared_ptr<bool> granted = std::make_shared<bool>(false);
  std::unique_ptr<Admissions::Ticket> ticket;
  std::string source;
  WatchedStream stream;
  PreLoginMessageStream messages;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

class NoteErrors final : public kj::TaskSet::ErrorHandler {
 public:
  explicit NoteErrors(ServerState& state) : state_(state) {}
  void taskFailed(kj::Exception&& e) override { state_.note("a connection failed: " + statusOf(e).message()); }

 private:
  ServerState& state_;
};

// Serves one accepted connection until it ends: waits out its source's penalty for failed
// logins, runs the TLS handshake (unless the server is --insecure), then the RPC system.
kj::Promise<void> serveConnection(kj::Own<kj::AsyncIoStream> raw, kj::Timer& timer, ServerState& state,
                                  std::unique_ptr<Admissions::Ticket> ticket, std::string source) {
  auto penalty = state.logins.penalty(source, std::chrono::steady_clock::now());
  return timer.afterDelay(penalty.count() * kj::MILLISECONDS)
      .then([&timer, &state, raw = kj::mv(raw)]() mutable -> kj::Promise<std::pair<kj::Own<kj::AsyncIoStream>, auth::Digest>> {
        if (!state.tls) return std::make_pair(kj::mv(raw), auth::kPlaintextChannel);
        auto tls = kj::heap<TlsStream>(state.tls, kj::mv(raw));
        auto timeout = state.options.timeout.count() * kj::MILLISECONDS;
        auto handshake = tls->handshake().exclusiveJoin(timer.afterDelay(timeout).then([]() -> kj::Promise<void> {
          return toException(Status::ioError("TLS handshake failed: no answer in time"));
        }));
        return handshake.then([tls = kj::mv(tls)]() mutable {
          auto channel = tls->exporter(kLoginExporterLabel);
          return std::make_pair(kj::Own<kj::AsyncIoStream>(kj::mv(tls)), channel);
        });
      })
      .then(
          [&timer, &state, ticket = std::move(ticket), source](auto secured) mutable -> kj::Promise<void> {
            auto connection = kj::heap<Connection>(kj::mv(secured.first), timer, state, std::move(ticket), source,
                                                   secured.second);
            auto ended = connection->ended(timer, state);
            return ended.attach(kj::mv(connection));
          },
          [&state, source](kj::Exception&& e) {
            // Not a guess at the secret (that needs a finished handshake): logged, not throttled.
            state.note(fmt::format("refused a connection from {}: {}", source, statusOf(e).message()));
          });
}

// Serves each connection until it ends; dropping it closes the socket. A failed accept (out of
// file descriptors, say) is logged and retried after a pause: the server keeps serving.
kj::Promise<void> acceptLoop(kj::ConnectionReceiver& listener, kj::Timer& timer, kj::TaskSet& connections,
                             ServerState& state) {
  // evalNow: accept() may also throw at once, when the socket was ready before it was called.
  return kj::evalNow([&] { return listener.accept(); }).then(
      [&](kj::Own<kj::AsyncIoStream> stream) {
        std::string source = sourceOf(*stream);
        auto ticket = state.admissions.admit(source);
        if (!ticket) {  // dropping the stream closes it
          state.note(fmt::format("refused a connection from {}: it has {} connections waiting for login already",
                                 source, state.admissions.perSource()));
          return acceptLoop(listener, timer, connections, state);
        }
        connections.add(serveConnection(kj::mv(stream), timer, state, std::move(ticket), std::move(source)));
        return acceptLoop(listener, timer, connections, state);
      },
      [&](kj::Exception&& e) {
        state.note(fmt::format("accepting a connection failed: {}; retrying in {} ms", statusOf(e).message(),
                               kAcceptRetry / kj::MILLISECONDS));
        return timer.afterDelay(kAcceptRetry).then([&] { return acceptLoop(listener, timer, connections, state); });
      });
}

}  // namespace

struct Server::Impl {
  Impl(Site& site, std::string addr, TcpOptions options) : state(site, std::move(options)), address(std::move(addr)) {}

  // The server thread: binds, reports through `ready`, serves until stopped.
  void run(std::promise<Status>& ready);
  void serve(kj::AsyncIoContext& io, std::promise<Status>& ready);

  ServerState state;
  std::string address;
  std::atomic<int> port{0};
  std::thread thread;
  std::mutex stopperMutex, joinMutex;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stopper;  // guarded by stopperMutex
};

void Server::Impl::run(std::promise<Status>& ready) {
  try {
    auto io = kj::setupAsyncIo();
    serve(io, ready);
  } catch (const kj::Exception& e) {
    std::lock_guard lock(stopperMutex);
    if (stopper) state.note("the server stopped: " + statusOf(e).message());
    else ready.set_value(aboutPeer("listen on", address, statusOf(e)));  // `ready` is only used until set
  }
  std::lock_guard lock(stopperMutex);
  stopper = nullptr;
}

void Server::Impl::serve(kj::AsyncIoContext& io, std::promise<Status>& ready) {
  auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
  auto where = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
  auto listener = where->listen();
  port = static_cast<int>(listener->getPort());
  {
    std::lock_guard lock(stopperMutex);
    stopper = kj::mv(stop.fulfiller);
  }
  ready.set_value(Status::ok());
  if (!state.options.insecure) state.tls = take(TlsContext::forServer());
  NoteErrors errors(state);
  kj::TaskSet connections(errors);
  auto& timer = io.provider->getTimer();
  state.timer = &timer;
  stop.promise.exclusiveJoin(acceptLoop(*listener, timer, connections, state)).wait(io.waitScope);
}

Result<std::unique_ptr<Server>> Server::start(Site& site, const std::string& address, TcpOptions options) {
  if (auto st = checkOptions(options); !st) return aboutPeer("listen on", address, st);
  auto impl = std::make_unique<Impl>(site, address, std::move(options));
  std::promise<Status> ready;
  auto started = ready.get_future();
  impl->thread = std::thread([&impl = *impl, &ready] { impl.run(ready); });
  Status st = started.get();
  if (!st) {
    impl->thread.join();
    return st;
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }

void Server::stop() {
  {
    std::lock_guard lock(impl_->stopperMutex);
    if (impl_->stopper) impl_->stopper->fulfill();
  }
  std::lock_guard lock(impl_->joinMutex);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<std::string> Server::takeLog() { return impl_->state.take(); }

}  // namespace parley::sync
