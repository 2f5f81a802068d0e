// Compact binary encoding for parley's per-row metadata and undo records.
//
// Writer appends varints, values and raw bytes to a string; Reader consumes them with bounds
// checks and throws Error(Corruption) on malformed input, naming what it was reading.
// Value encoding: a type byte, then zigzag varint (integer), 8 bytes (real) or
// varint length + bytes (text, blob). Encoded primary keys are exact: equal keys, equal bytes.
// Compact value encoding (transaction bodies): one tag byte, type in its low 3 bits and a
// small operand in its high 5: an integer whose zigzag form is < 31 is the tag alone
// (operand = zigzag + 1), a text or blob shorter than 31 bytes has its length there
// (operand = length + 1); otherwise operand 0 and a varint (zigzag integer, length) follows.
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
  void compactValue(const Value& v);
  void fixed64(std::uint64_t v);  // little-endian

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
  std::string_view raw(std::size_t n);  // exactly n bytes, no length prefix
  Value value();
  Row row();
  Value compactValue();
  std::uint64_t fixed64();
  // A count of items each taking at least one more byte: refused if more than remain.
  std::uint64_t count();
  std::size_t remaining() const { return in_.size() - pos_; }
  bool done() const { return pos_ == in_.size(); }
  // REQUIRES nothing; throws if bytes remain.
  void expectDone();
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  const char* what_;
};

// The exact key of a row: its primary-key values, encoded.
std::string encodeKey(const Row& pk);
// Appends encodeKey(pk) to `out`.
void appendKey(std::string& out, const Row& pk);

}  // namespace parley::codec
