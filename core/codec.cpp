#include "codec.hpp"

#include <cstring>

#include "parley/status.hpp"

namespace parley::codec {
namespace {

constexpr std::uint64_t kMaxRowValues = 32768;

}  // namespace

void Writer::varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void Writer::signedVarint(std::int64_t v) {
  varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}

void Writer::bytes(std::string_view b) {
  varint(b.size());
  out_.append(b);
}

void Writer::value(const Value& v) {
  byte(static_cast<std::uint8_t>(v.type()));
  switch (v.type()) {
    case Value::Type::kNull:
      break;
    case Value::Type::kInteger:
      signedVarint(v.asInteger());
      break;
    case Value::Type::kReal: {
      double d = v.asReal();
      char raw[8];
      std::memcpy(raw, &d, 8);
      out_.append(raw, 8);
      break;
    }
    case Value::Type::kText:
      bytes(v.asText());
      break;
    case Value::Type::kBlob:
      bytes(v.asBlob());
      break;
  }
}

void Writer::row(const Row& r) {
  varint(r.size());
  for (const auto& v : r) value(v);
}

std::uint64_t Reader::varint() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) fail("truncated varint");
    auto b = static_cast<std::uint8_t>(in_[pos_++]);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  fail("overlong varint");
}

std::int64_t Reader::signedVarint() {
  std::uint64_t u = varint();
  return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

std::uint8_t Reader::byte() {
  if (pos_ >= in_.size()) fail("truncated");
  return static_cast<std::uint8_t>(in_[pos_++]);
}

std::string_view Reader::bytes() {
  std::uint64_t n = varint();
  if (n > in_.size() - pos_) fail("length beyond end");
  auto out = in_.substr(pos_, n);
  pos_ += n;
  return out;
}

Value Reader::value() {
  switch (byte()) {
    case 0:
      return Value::null();
    case 1:
      return Value::integer(signedVarint());
    case 2: {
      if (in_.size() - pos_ < 8) fail("truncated real");
      double d;
      std::memcpy(&d, in_.data() + pos_, 8);
      pos_ += 8;
      return Value::real(d);
    }
    case 3:
      return Value::text(std::string(bytes()));
    case 4:
      return Value::blob(std::string(bytes()));
    default:
      fail("unknown value type");
  }
}

Row Reader::row() {
  std::uint64_t n = varint();
  if (n > kMaxRowValues) fail("too many values");
  Row r;
  r.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) r.push_back(value());
  return r;
}

void Reader::expectDone() {
  if (!done()) fail("trailing bytes");
}

void Reader::fail(const char* problem) const {
  throw Error(Status::corruption(std::string(what_) + ": " + problem + " at byte " + std::to_string(pos_)));
}

std::string encodeKey(const Row& pk) {
  std::string out;
  Writer w(out);
  for (const auto& v : pk) w.value(v);
  return out;
}

}  // namespace parley::codec
