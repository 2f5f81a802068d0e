// SiteId: the global 128-bit identity of a site (a random UUID).
//
// Sites compare and break ties by this id, never by a local integer alias, so every
// site orders the same transactions the same way. Value type; thread-compatible.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

struct SiteId {
  std::array<std::uint8_t, 16> bytes{};

  friend auto operator<=>(const SiteId&, const SiteId&) = default;

  bool isNil() const;
  // 32 lowercase hex digits.
  std::string hex() const;
  // The first 8 hex digits, for human-facing output.
  std::string shortHex() const;
  // Accepts exactly 32 hex digits, optionally with the four UUID dashes.
  static std::optional<SiteId> fromHex(std::string_view text);
  static SiteId fromBytes(const void* data, std::size_t size);
};

struct SiteIdHash {
  std::size_t operator()(const SiteId& id) const noexcept;
};

}  // namespace parley
