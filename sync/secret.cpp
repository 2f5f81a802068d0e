#include "parley/sync/secret.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <cmath>

namespace parley::sync {
namespace {

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isLetter(char c) { return isLower(c) || isUpper(c); }

// Whether the run of letters [begin, end) reads like a word: all lower case, capitalized, or
// (four letters or more) all upper case.
bool wordLike(std::string_view run) {
  if (run.size() < 3) return false;
  bool restLower = true, allUpper = true;
  for (std::size_t i = 0; i < run.size(); ++i) {
    if (i > 0 && !isLower(run[i])) restLower = false;
    if (!isUpper(run[i])) allUpper = false;
  }
  return restLower || (allUpper && run.size() >= 4);
}

}  // namespace

double secretBits(std::string_view secret) {
  bool lower = false, upper = false;
  for (char c : secret) {
    lower |= isLower(c);
    upper |= isUpper(c);
  }
  const double letterBits = std::log2(lower && upper ? 52.0 : 26.0);
  double bits = 0;
  std::size_t i = 0;
  while (i < secret.size()) {
    std::size_t end = i;
    while (end < secret.size() && isLetter(secret[end])) ++end;
    bool word = end > i && wordLike(secret.substr(i, end - i));
    std::size_t stop = end > i ? end : i + 1;
    for (; i < stop; ++i) {
      char c = secret[i];
      char before = i > 0 ? secret[i - 1] : '\0';
      if (i > 0 && std::abs(c - before) <= 1) bits += 1;  // repeated, or one step along
      else if (word) bits += 2;
      else if (isLetter(c)) bits += letterBits;
      else if (std::isdigit(static_cast<unsigned char>(c))) bits += std::log2(10.0);
      else bits += 5;
    }
  }
  return bits;
}

Status checkSecret(std::string_view secret) {
  constexpr const char* kHow = "make one with `parley secret` (or `openssl rand -hex 32`)";
  if (secret.empty()) return Status::invalidArgument(fmt::format("a cluster secret is required: {}", kHow));
  double bits = secretBits(secret);
  if (bits < kMinSecretBits)
    return Status::invalidArgument(fmt::format(
        "the cluster secret is too weak (about {:.0f} bits; at least {:.0f} are needed, and words count little): {}",
        bits, kMinSecretBits, kHow));
  return Status::ok();
}

Result<std::string> newSecret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    return Status::ioError("no random bytes available for a secret");
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace parley::sync
