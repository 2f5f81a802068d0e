#include "tcp_client.hpp"

#include <fmt/format.h>

#include "auth.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

auth::Bytes bytesOf(capnp::Data::Reader data) { return {data.begin(), data.size()}; }
template <class Array>
kj::ArrayPtr<const kj::byte> dataOf(const Array& a) {
  return kj::arrayPtr(a.data(), a.size());
}

}  // namespace

Client::Client(std::string address, const TcpOptions& options)
    : address_(std::move(address)), options_(options), io_(kj::setupAsyncIo()), last_(io_.provider->getTimer().now()) {}

wire::Session::Client Client::open(const SiteId& site) {
  connect();
  return login(site);
}

void Client::connect() {
  try {
    auto where = wait(io_.provider->getNetwork().parseAddress(address_));
    stream_ = wait(where->connect());
  } catch (const kj::Exception& e) {
    throw Error(Status::ioError("cannot connect: " + statusOf(e).message()));
  }
  rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_);
}

wire::Session::Client Client::login(const SiteId& site) {
  auto gate = rpc_->bootstrap().castAs<wire::Gate>();
  auto challenge = wait(gate.challengeRequest().send());
  if (challenge.getNonce().size() != auth::kNonceBytes)
    throw Error(Status::corruption("the server sent a malformed challenge"));
  auth::Nonce serverNonce;
  std::copy_n(challenge.getNonce().begin(), serverNonce.size(), serverNonce.begin());
  auth::Nonce clientNonce = auth::newNonce(options_.nonces);

  auto request = gate.loginRequest();
  request.setSite(idBytes(site));
  request.setClientNonce(dataOf(clientNonce));
  request.setProof(dataOf(auth::clientProof(options_.secret, serverNonce, clientNonce, site)));
  auto reply = wait(request.send());
  if (!auth::sameDigest(bytesOf(reply.getProof()), auth::serverProof(options_.secret, clientNonce, serverNonce)))
    throw Error(Status::invalidArgument("the server does not know the cluster secret"));
  return reply.getSession();
}

kj::Promise<void> Client::watchdog() {
  auto& timer = io_.provider->getTimer();
  kj::TimePoint deadline = last_ + options_.timeout.count() * kj::MILLISECONDS;
  if (timer.now() >= deadline)
    return toException(Status::ioError(fmt::format("no reply within {} ms", options_.timeout.count())));
  return timer.atTime(deadline).then([this] { return watchdog(); });
}

}  // namespace parley::sync
