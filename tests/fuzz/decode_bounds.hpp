// How large a decoded transaction may fairly be, for tests and fuzzers of decodeTransaction().
//
// A packed Cap'n Proto message unpacks to a known number of words, which a reader holds in
// memory anyway. Every element decoding builds (row, key value, column write, dot, context
// entry) was a struct of at least a word in an honest message; only lists of zero-sized
// structs, which cost nothing to send, can claim more (Cap'n Proto charges each such element a
// word of the traversal limit). So a decoder whose traversal limit follows the message (twice
// the unpacked size, since decodeTransaction reads some lists twice, plus Cap'n Proto's usual
// 1024 words) builds at most 2 * unpackedWords() + 1024 elements.
#pragma once

#include <cstddef>
#include <string_view>

#include "parley/transaction.hpp"

namespace parley::test {

inline std::size_t unpackedWords(std::string_view packed) {
  std::size_t words = 0, at = 0;
  while (at < packed.size()) {
    auto tag = static_cast<unsigned char>(packed[at++]);
    ++words;
    if (tag == 0x00 || tag == 0xff) {
      if (tag == 0xff) at += 8;
      if (at >= packed.size()) break;
      auto run = static_cast<unsigned char>(packed[at++]);
      words += run;
      if (tag == 0xff) at += 8 * std::size_t{run};
    } else {
      at += static_cast<std::size_t>(__builtin_popcount(tag));
    }
  }
  return words;
}

inline std::size_t decodedElements(const Transaction& t) {
  std::size_t n = t.context.entries().size() + t.rows.size();
  for (const auto& r : t.rows) {
    n += r.pk.size() + r.columns.size() + r.rowBase.size();
    for (const auto& c : r.columns) n += c.base.size();
  }
  return n;
}

inline bool withinBounds(const Transaction& t, std::string_view packed) {
  return decodedElements(t) <= 2 * unpackedWords(packed) + 1024;
}

}  // namespace parley::test
