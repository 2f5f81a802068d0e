// What a site puts in the relay's key-value bucket under its own key: what it holds (its
// version vector) and the sites it knows were forgotten, signed with the cluster's key
// (relay_mac.hpp). Internal to sync/.
//
// Every site reads every site's value, so a value is compact and decodes without parsing
// text: "PA2", the 64-hex-digit MAC of (key, payload), then the payload: a varint count and
// that many (16-byte site id, varint seq), a varint count and that many 16-byte forgotten
// ids (varints are LEB128). About 18 bytes per site instead of 34 as text. Values of the
// first relay format ("MAC\nTOKEN\nFORGOTTEN", as text) are still read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/crdt/version_vector.hpp"
#include "relay_mac.hpp"

namespace parley::sync::relay {

struct Acknowledgement {
  VersionVector vector;
  std::vector<SiteId> forgotten;
};

std::string encodeAcknowledgement(const Signer& signer, std::string_view key, const Acknowledgement& ack);

enum class AckCheck { kOk, kMalformed, kForged };
// kForged if the value is well formed but its MAC is not the cluster key's for `key`.
AckCheck decodeAcknowledgement(const Signer& signer, std::string_view key, std::string_view value,
                               Acknowledgement& out);

}  // namespace parley::sync::relay
