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
#include <cstring>
#include <string>
#include <string_view>

#include "parley/value.hpp"

namespace parley::codec {

// Signed integers as varints: small magnitudes, either sign, take few bytes.
inline std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t u) { return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1)); }

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  // The one-byte case inline: most varints of a body or a row image are tags and small counts.
  void varint(std::uint64_t v) {
    if (v < 0x80) return out_.push_back(static_cast<char>(v));
    longVarint(v);
  }
  void signedVarint(std::int64_t v) { varint(zigzag(v)); }
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void raw(std::string_view b) { out_.append(b); }  // no length prefix
  void bytes(std::string_view b);  // length-prefixed
  void value(const Value& v);
  void row(const Row& r);  // count, then values
  void compactValue(const Value& v);
  void fixed64(std::uint64_t v);  // little-endian

 private:
  void longVarint(std::uint64_t v);
  std::string& out_;
};

// Writes what Writer writes, to the same bytes, into room reserved beforehand: no capacity
// check per byte. appendBounded() reserves the room from an upper bound of the bytes written
// (the *Bound functions below) and trims what was not used.
class RawWriter {
 public:
  static constexpr std::size_t kMaxVarint = 10;
  explicit RawWriter(char* at) : p_(at) {}
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void signedVarint(std::int64_t v) { varint(zigzag(v)); }
  void byte(std::uint8_t b) { *p_++ = static_cast<char>(b); }
  void raw(std::string_view b) {  // no length prefix
    if (b.empty()) return;
    std::memcpy(p_, b.data(), b.size());
    p_ += b.size();
  }
  void bytes(std::string_view b);  // length-prefixed
  void value(const Value& v);
  void row(const Row& r);  // count, then values
  char* end() const { return p_; }

  static std::size_t bytesBound(std::string_view b) { return kMaxVarint + b.size(); }
  static std::size_t valueBound(const Value& v);
  static std::size_t rowBound(const Row& r);

 private:
  char* p_;
};

// Appends to `out` what write(RawWriter&) writes, which must be at most `bound` bytes.
template <class F>
void appendBounded(std::string& out, std::size_t bound, F&& write) {
  std::size_t at = out.size();
  out.resize(at + bound);
  RawWriter w(out.data() + at);
  write(w);
  out.resize(static_cast<std::size_t>(w.end() - out.data()));
}

class Reader {
 public:
  Reader(std::string_view in, const char* what) : in_(in), what_(what) {}
  std::uint64_t varint() {
    if (pos_ < in_.size() && static_cast<std::uint8_t>(in_[pos_]) < 0x80) return static_cast<std::uint8_t>(in_[pos_++]);
    return longVarint();
  }
  std::int64_t signedVarint() { return unzigzag(varint()); }
  std::uint8_t byte() {
    if (pos_ >= in_.size()) fail("truncated");
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
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
  std::uint64_t longVarint();  // a varint of two bytes or more, or a truncated one
  std::string_view in_;
  std::size_t pos_ = 0;
  const char* what_;
};

// The exact key of a row: its primary-key values, encoded.
std::string encodeKey(const Row& pk);
// Appends encodeKey(pk) to `out`.
void appendKey(std::string& out, const Row& pk);

}  // namespace parley::codec
