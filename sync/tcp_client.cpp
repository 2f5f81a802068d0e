#include "tcp_client.hpp"

#include <fmt/format.h>

#include "auth.hpp"
#include "tls.hpp"
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
  if (!options_.insecure) return login(site);
  try {
    return login(site);
  } catch (const kj::Exception& e) {
    if (e.getType() != kj::Exception::Type::DISCONNECTED) throw;
    throw Error(Status::ioError(statusOf(e).message() +
                                " during login (a server that requires TLS closes plaintext connections: drop "
                                "--insecure, or run the server with --insecure too)"));
  }
}

void Client::connect() {
  try {
    auto where = wait(io_.provider->getNetwork().parseAddress(address_));
    stream_ = wait(where->connect());
  } catch (const kj::Exception& e) {
    throw Error(Status::ioError("cannot connect: " + statusOf(e).message()));
  }
  if (!options_.insecure) encrypt();
  rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_);
}

void Client::encrypt() {
  auto context = TlsContext::forClient();
  if (!context) throw Error(context.status());
  auto tls = kj::heap<TlsStream>(std::move(*context), kj::mv(stream_));
  try {
    wait(tls->handshake());
  } catch (const kj::Exception& e) {
    throw Error(Status::ioError(statusOf(e).message()));
  }
  channel_ = tls->exporter(kLoginExporterLabel);
  stream_ = kj::mv(tls);
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
  request.setProof(dataOf(auth::clientProof(options_.secret, channel_, serverNonce, clientNonce, site)));
  auto reply = wait(request.send());
  if (!auth::sameDigest(bytesOf(reply.getProof()), auth::serverProof(options_.secret, channel_, clientNonce, serverNonce)))
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
