// How large a decoded transaction may fairly be, for tests and fuzzers of decodeTransaction().
//
// In the compact encoding (parley/txn_codec.hpp) every element decoding builds (row, key
// value, column write, dot, context entry) takes at least one byte of the input, and every
// count is checked against the bytes left; so an honest decoder builds at most as many
// elements as the input has bytes. A few bytes claiming millions of values must be refused.
#pragma once

#include <cstddef>
#include <string_view>

#include "parley/transaction.hpp"

namespace parley::test {

inline std::size_t decodedElements(const Transaction& t) {
  std::size_t n = t.context.entries().size() + t.rows.size();
  for (const auto& r : t.rows) {
    n += r.pk.size() + r.columns.size() + r.rowBase.size();
    for (const auto& c : r.columns) n += c.base.size();
  }
  return n;
}

inline bool withinBounds(const Transaction& t, std::string_view encoded) {
  return decodedElements(t) <= encoded.size();
}

}  // namespace parley::test
