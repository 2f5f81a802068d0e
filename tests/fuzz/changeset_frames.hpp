// The frame layout of a change-set file (sync/changeset.cpp), for tests and fuzzers that forge
// files: refreshChecksums() rewrites every CRC-32 and the trailer checksum to match the bytes,
// so a change made on purpose gets past the checksums and reaches the parsers behind them.
//
// Layout: "PARLEYCS", u32 version, u32 header length, header, u32 CRC; then chunks
// (u32 length, chunk, u32 CRC); then u32 0, u64 transaction count, u32 checksum, where the
// checksum is the CRC-32 of the chunks' CRCs (not the header's), concatenated in file order.
// Little-endian, as the files are.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace parley::test {

// CRC-32 (IEEE 802.3, reflected), the same as boost::crc_32_type.
inline std::uint32_t crc32Of(std::string_view bytes) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

inline std::uint32_t loadU32(const std::string& file, std::size_t at) {
  std::uint32_t v;
  std::memcpy(&v, file.data() + at, 4);
  return v;
}

inline void storeU32(std::string& file, std::size_t at, std::uint32_t v) { std::memcpy(file.data() + at, &v, 4); }

// Rewrites the checksums of `file` in place, as far as its frames are complete and their
// lengths fit. Returns whether the walk reached a complete trailer.
inline bool refreshChecksums(std::string& file) {
  std::size_t at = 12;  // magic, version
  std::string chunkCrcs;
  auto frame = [&](bool chunk) -> bool {  // at: a frame's length; false if it does not fit
    if (file.size() - at < 4) return false;
    std::uint64_t length = loadU32(file, at);
    if (file.size() - at - 4 < length + 4) return false;
    std::uint32_t crc = crc32Of(std::string_view(file).substr(at + 4, length));
    storeU32(file, at + 4 + length, crc);
    if (chunk) chunkCrcs.append(file, at + 4 + length, 4);
    at += 4 + length + 4;
    return true;
  };
  if (file.size() < at || !frame(false)) return false;
  while (file.size() - at >= 4 && loadU32(file, at) != 0)
    if (!frame(true)) return false;
  if (file.size() - at < 16) return false;
  storeU32(file, at + 12, crc32Of(chunkCrcs));
  return true;
}

}  // namespace parley::test
