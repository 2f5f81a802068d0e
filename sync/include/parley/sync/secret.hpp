// The cluster secret: making a strong one, and refusing a weak one.
//
// The secret is what lets a site into the cluster (sync/tls.hpp, sync/auth.hpp). An attacker
// who connects may try guesses online (the server slows down repeated failures), but a weak
// secret would still fall to patience, so it must hold at least 128 bits of entropy by a
// conservative estimate that counts what attackers try first:
// - a run of letters that reads like a word (all lower case, or capitalized) counts about 2
//   bits per letter (English text), whatever its length; so do common substitutions of
//   such words ("p4ssw0rd");
// - other letters count as picked at random from the letters the secret uses (26 or 52),
//   digits 3.3 bits each, other printable characters 5 bits each;
// - a character repeated from the one before, or one step along ("abc", "123"), counts 1 bit.
// newSecret() gives 256 random bits as 64 hex digits, well above the floor.
#pragma once

#include <string>
#include <string_view>

#include "parley/status.hpp"

namespace parley::sync {

inline constexpr double kMinSecretBits = 128;

// The estimate described above, in bits.
double secretBits(std::string_view secret);

// OK for a strong secret; else one line saying why and how to make a good one.
Status checkSecret(std::string_view secret);

// 32 bytes from OpenSSL's CSPRNG as 64 lower-case hex digits.
Result<std::string> newSecret();

}  // namespace parley::sync
