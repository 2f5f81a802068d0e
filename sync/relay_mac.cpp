#include "relay_mac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>

#include "parley/assert.hpp"

namespace parley::sync::relay {
namespace {

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  PARLEY_ASSERT(r != nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bytes) {
    s += kDigits[c >> 4];
    s += kDigits[c & 15];
  }
  return s;
}

}  // namespace

Signer::Signer(std::string_view secret, const SiteId& cluster)
    : key_(hmac(secret, "parley relay v1" + cluster.hex())) {}

std::string Signer::sign(std::initializer_list<std::string_view> parts) const {
  std::string data;
  for (auto part : parts) {
    std::uint64_t n = part.size();
    data.append(reinterpret_cast<const char*>(&n), sizeof n);
    data.append(part);
  }
  return hex(hmac(key_, data));
}

bool Signer::verify(std::string_view mac, std::initializer_list<std::string_view> parts) const {
  std::string expected = sign(parts);
  return mac.size() == expected.size() && CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) == 0;
}

}  // namespace parley::sync::relay
