#include "tcp_gate.hpp"

#include "tcp_session.hpp"
#include "tcp_status.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

auth::Bytes bytesOf(capnp::Data::Reader data) { return {data.begin(), data.size()}; }
kj::ArrayPtr<const kj::byte> dataOf(const auth::Digest& d) { return kj::arrayPtr(d.data(), d.size()); }

}  // namespace

kj::Promise<void> GateImpl::challenge(ChallengeContext context) {
  if (tried_) throwStatus(Status::invalidArgument("one login per connection"));
  try {
    nonce_ = auth::newNonce(server_.options.nonces);
  } catch (const Error& e) {
    throwStatus(e.status());
  }
  context.getResults().setNonce(kj::arrayPtr(nonce_->data(), nonce_->size()));
  return kj::READY_NOW;
}

kj::Promise<void> GateImpl::login(LoginContext context) {
  if (tried_ || !nonce_) throwStatus(Status::invalidArgument("login without a challenge"));
  tried_ = true;
  auth::Nonce serverNonce = *nonce_;
  nonce_.reset();
  auto params = context.getParams();
  auto site = params.getSite();
  auto clientNonce = bytesOf(params.getClientNonce());
  bool wellFormed = site.size() == 16 && clientNonce.size() == auth::kNonceBytes;
  SiteId peer = wellFormed ? SiteId::fromBytes(site.begin(), 16) : SiteId{};
  if (!wellFormed || !auth::sameDigest(bytesOf(params.getProof()),
                                       auth::clientProof(server_.options.secret, channel_, serverNonce, clientNonce, peer))) {
    server_.loginFailed(source_, "authentication failed (wrong cluster secret)");
    throwStatus(Status::invalidArgument("authentication failed: the server does not accept this cluster secret"));
  }
  auto results = context.getResults();
  results.setProof(dataOf(auth::serverProof(server_.options.secret, channel_, clientNonce, serverNonce)));
  server_.logins.succeeded(source_);
  results.setSession(kj::heap<SessionImpl>(server_, peer));
  *granted_ = true;
  if (onGranted_) onGranted_();
  return kj::READY_NOW;
}

}  // namespace parley::sync
