// Challenge-response authentication with the cluster secret (HMAC-SHA256, OpenSSL).
//
// The server challenges with a fresh nonce; the client answers with
//   clientProof = HMAC(secret, "parley-client" || channel || serverNonce || clientNonce || site)
// and the server, once satisfied, proves it knows the secret too with
//   serverProof = HMAC(secret, "parley-server" || channel || clientNonce || serverNonce).
// `channel` binds both proofs to one TLS connection: its exporter value (tls.hpp), which only
// the two ends of that connection know, or kPlaintextChannel on a connection both sides chose
// to run with --insecure. Every field has a fixed length, so the concatenations are
// unambiguous. Neither side ever sends the secret; a proof is worthless on any other
// connection, and under TLS a recording shows no proof at all. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "parley/crdt/site_id.hpp"

namespace parley::sync::auth {

inline constexpr std::size_t kNonceBytes = 32;
using Nonce = std::array<std::uint8_t, kNonceBytes>;
using Digest = std::array<std::uint8_t, 32>;
using Bytes = std::span<const std::uint8_t>;

// A nonce from OpenSSL's CSPRNG. Throws parley::Error if it has no entropy.
Nonce newNonce();
// A nonce from `source`, or newNonce() if it is empty.
inline Nonce newNonce(const std::function<Nonce()>& source) { return source ? source() : newNonce(); }

// The channel value of a plaintext (--insecure) connection.
inline constexpr std::array<std::uint8_t, 32> kPlaintextChannel{};

Digest clientProof(std::string_view secret, Bytes channel, Bytes serverNonce, Bytes clientNonce, const SiteId& site);
Digest serverProof(std::string_view secret, Bytes channel, Bytes clientNonce, Bytes serverNonce);

// Constant-time comparison; false when the lengths differ.
bool sameDigest(Bytes a, Bytes b);

}  // namespace parley::sync::auth
