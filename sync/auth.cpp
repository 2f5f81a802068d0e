#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <string>

#include "parley/status.hpp"

namespace parley::sync::auth {
namespace {

Digest hmac(std::string_view secret, std::string_view label, std::initializer_list<Bytes> parts) {
  std::string message(label);
  for (Bytes p : parts) message.append(reinterpret_cast<const char*>(p.data()), p.size());
  Digest out{};
  unsigned length = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(), &length) ||
      length != out.size())
    throw Error(Status::ioError("authentication: HMAC-SHA256 failed"));
  return out;
}

}  // namespace

Nonce newNonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1)
    throw Error(Status::ioError("authentication: no random bytes available for a nonce"));
  return n;
}

Digest clientProof(std::string_view secret, Bytes channel, Bytes serverNonce, Bytes clientNonce, const SiteId& site) {
  return hmac(secret, "parley-client", {channel, serverNonce, clientNonce, Bytes(site.bytes)});
}

Digest serverProof(std::string_view secret, Bytes channel, Bytes clientNonce, Bytes serverNonce) {
  return hmac(secret, "parley-server", {channel, clientNonce, serverNonce});
}

bool sameDigest(Bytes a, Bytes b) { return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

}  // namespace parley::sync::auth
