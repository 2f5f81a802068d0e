// A connection to a sync server, driven in a synchronous style from the calling thread.
//
// The client runs an event loop of its own in the calling thread (which must not have one
// already) and waits on each reply at the top level of that thread. A wait times out after
// the options' timeout without a sign of life: a long stream that keeps moving (each chunk
// calls alive()) never times out, a stalled one does. Errors are thrown: kj::Exception from
// the network, parley::Error from this side; the API functions turn them into a Status.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <string>

#include "parley/sync/tcp.hpp"
#include "auth.hpp"
#include "sync.capnp.h"
#include "tcp_status.hpp"

namespace parley::sync {

class Client {
 public:
  Client(std::string address, const TcpOptions& options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects and logs in as `site` (nil for a site yet to be cloned), checking that the
  // server knows the cluster secret too.
  wire::Session::Client open(const SiteId& site);

  // Waits for `promise`, running the event loop; throws on error or timeout.
  template <class T>
  T wait(kj::Promise<T>&& promise) {
    alive();
    auto guarded = promise.exclusiveJoin(watchdog().then([]() -> T { throwStatus(Status::ioError("unreachable")); }));
    KJ_IF_MAYBE(cancel, cancel_) {
      guarded = guarded.exclusiveJoin(cancel->addBranch().then([]() -> T { throwStatus(Status::ioError("stopped")); }));
    }
    return guarded.wait(io_.waitScope);
  }
  // From now on every wait ends, with "stopped", once `cancel` resolves (e.g. through a
  // cross-thread fulfiller made on this client's event loop).
  void cancelOn(kj::Promise<void> cancel) { cancel_ = cancel.fork(); }
  kj::Timer& timer() { return io_.provider->getTimer(); }
  // Changes the timeout of the waits from now on.
  void setTimeout(std::chrono::milliseconds timeout) { options_.timeout = timeout; }
  // Restarts the timeout.
  void alive() { last_ = io_.provider->getTimer().now(); }

 private:
  void connect();
  void encrypt();
  wire::Session::Client login(const SiteId& site);
  kj::Promise<void> watchdog();

  std::string address_;
  TcpOptions options_;
  kj::AsyncIoContext io_;
  kj::TimePoint last_;
  kj::Own<kj::AsyncIoStream> stream_;
  auth::Digest channel_ = auth::kPlaintextChannel;  // what binds the login to this connection
  kj::Own<capnp::TwoPartyClient> rpc_;
  kj::Maybe<kj::ForkedPromise<void>> cancel_;
};

}  // namespace parley::sync
