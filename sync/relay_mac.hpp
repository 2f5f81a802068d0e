// Signatures of what the relay carries: HMAC-SHA256 under a key derived from the cluster secret
// and the cluster id, so that only holders of the secret can put transactions or
// acknowledgements on the relay. Internal to sync/.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "parley/crdt/site_id.hpp"

namespace parley::sync::relay {

class Signer {
 public:
  // The key is HMAC-SHA256(secret, "parley relay v1" || cluster id).
  Signer(std::string_view secret, const SiteId& cluster);
  // 64 hex digits: the HMAC of the parts, each preceded by its length (no two lists of parts
  // sign alike).
  std::string sign(std::initializer_list<std::string_view> parts) const;
  // Whether `mac` is sign(parts), compared in constant time.
  bool verify(std::string_view mac, std::initializer_list<std::string_view> parts) const;

 private:
  std::string key_;
};

}  // namespace parley::sync::relay
