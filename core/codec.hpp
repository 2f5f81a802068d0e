// Compact binary encoding for parley's per-row metadata and undo records.
//
// Writer appends varints, values and raw bytes to a string; Reader consumes them with bounds
// checks and throws Error(Corruption) on malformed input, naming what it was reading.
// Value encoding: a type byte, then zigzag varint (integer), 8 bytes (real) or
// varint length + bytes (text, blob). Encoded primary keys are exact: equal keys, equal bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "parley/value.hpp"

namespace parley::codec {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void varint(std::uint64_t v);
  void signedVarint(std::int64_t v);
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void bytes(std::string_view b);  // length-prefixed
  void value(const Value& v);
  void row(const Row& r);  // count, then values

 private:
  std::string& out_;
};

class Reader {
 public:
  Reader(std::string_view in, const char* what) : in_(in), what_(what) {}
  std::uint64_t varint();
  std::int64_t signedVarint();
  std::uint8_t byte();
  std::string_view bytes();
  Value value();
  Row row();
  bool done() const { return pos_ == in_.size(); }
  // REQUIRES nothing; throws if bytes remain.
  void expectDone();

 private:
  [[noreturn]] void fail(const char* problem) const;
  std::string_view in_;
  std::size_t pos_ = 0;
  const char* what_;
};

// The exact key of a row: its primary-key values, encoded.
std::string encodeKey(const Row& pk);

}  // namespace parley::codec
