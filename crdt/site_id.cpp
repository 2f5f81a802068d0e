#include "parley/crdt/site_id.hpp"

#include <cstring>

namespace parley {
namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool SiteId::isNil() const {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

std::string SiteId::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::string SiteId::shortHex() const { return hex().substr(0, 8); }

std::optional<SiteId> SiteId::fromHex(std::string_view text) {
  SiteId id;
  std::size_t nibble = 0;
  for (char c : text) {
    if (c == '-') continue;
    int d = hexDigit(c);
    if (d < 0 || nibble >= 32) return std::nullopt;
    id.bytes[nibble / 2] = static_cast<std::uint8_t>(id.bytes[nibble / 2] | (d << (nibble % 2 ? 0 : 4)));
    ++nibble;
  }
  if (nibble != 32) return std::nullopt;
  return id;
}

SiteId SiteId::fromBytes(const void* data, std::size_t size) {
  SiteId id;
  std::memcpy(id.bytes.data(), data, size < 16 ? size : 16);
  return id;
}

std::size_t SiteIdHash::operator()(const SiteId& id) const noexcept {
  std::uint64_t a, b;
  std::memcpy(&a, id.bytes.data(), 8);
  std::memcpy(&b, id.bytes.data() + 8, 8);
  return static_cast<std::size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
}

}  // namespace parley
