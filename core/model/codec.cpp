#include "codec.hpp"

#include <cstring>

#include "parley/status.hpp"

namespace parley::codec {
namespace {

constexpr std::uint64_t kMaxRowValues = 32768;
constexpr std::uint64_t kSmall = 31;  // compact values: operands 1..31 of the tag byte

// Writer and RawWriter write values and rows alike: tag byte, then the payload.
template <class W>
void writeValue(W& w, const Value& v) {
  w.byte(static_cast<std::uint8_t>(v.type()));
  switch (v.type()) {
    case Value::Type::kNull:
      break;
    case Value::Type::kInteger:
      w.signedVarint(v.asInteger());
      break;
    case Value::Type::kReal: {
      double d = v.asReal();
      char raw[8];
      std::memcpy(raw, &d, 8);
      w.raw({raw, 8});
      break;
    }
    case Value::Type::kText:
      w.bytes(v.asText());
      break;
    case Value::Type::kBlob:
      w.bytes(v.asBlob());
      break;
  }
}

template <class W>
void writeRow(W& w, const Row& r) {
  w.varint(r.size());
  for (const auto& v : r) w.value(v);
}

}  // namespace

void Writer::longVarint(std::uint64_t v) {
  char buf[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out_.append(buf, n);
}

void Writer::bytes(std::string_view b) {
  varint(b.size());
  out_.append(b);
}

void Writer::value(const Value& v) { writeValue(*this, v); }

void Writer::fixed64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Writer::compactValue(const Value& v) {
  auto type = static_cast<std::uint8_t>(v.type());
  auto sized = [&](const std::string& b) {
    if (b.size() < kSmall) {
      byte(static_cast<std::uint8_t>(type | (b.size() + 1) << 3));
      out_.append(b);
    } else {
      byte(type);
      bytes(b);
    }
  };
  switch (v.type()) {
    case Value::Type::kNull: byte(type); break;
    case Value::Type::kInteger: {
      std::uint64_t zz = zigzag(v.asInteger());
      if (zz < kSmall) {
        byte(static_cast<std::uint8_t>(type | (zz + 1) << 3));
      } else {
        byte(type);
        varint(zz);
      }
      break;
    }
    case Value::Type::kReal: {
      byte(type);
      std::uint64_t bits;
      double d = v.asReal();
      std::memcpy(&bits, &d, 8);
      fixed64(bits);
      break;
    }
    case Value::Type::kText: sized(v.asText()); break;
    case Value::Type::kBlob: sized(v.asBlob()); break;
  }
}

void Writer::row(const Row& r) { writeRow(*this, r); }

void RawWriter::bytes(std::string_view b) {
  varint(b.size());
  raw(b);
}

void RawWriter::value(const Value& v) { writeValue(*this, v); }

void RawWriter::row(const Row& r) { writeRow(*this, r); }

std::size_t RawWriter::valueBound(const Value& v) {
  switch (v.type()) {
    case Value::Type::kText: return 1 + bytesBound(v.asText());
    case Value::Type::kBlob: return 1 + bytesBound(v.asBlob());
    default: return 1 + kMaxVarint;  // integer varint, or 8 bytes of a real
  }
}

std::size_t RawWriter::rowBound(const Row& r) {
  std::size_t n = kMaxVarint;
  for (const auto& v : r) n += valueBound(v);
  return n;
}

std::uint64_t Reader::longVarint() {
  const auto* p = reinterpret_cast<const std::uint8_t*>(in_.data()) + pos_;
  std::size_t left = in_.size() - pos_;
  if (left >= 10) {  // the longest varint fits: no bounds check per byte
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 10; ++i) {
      v |= static_cast<std::uint64_t>(p[i] & 0x7f) << (7 * i);
      if (!(p[i] & 0x80)) {
        pos_ += i + 1;
        return v;
      }
    }
    fail("overlong varint");
  }
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) fail("truncated varint");
    auto b = static_cast<std::uint8_t>(in_[pos_++]);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  fail("overlong varint");
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

std::string_view Reader::raw(std::size_t n) {
  if (n > remaining()) fail("truncated");
  auto out = in_.substr(pos_, n);
  pos_ += n;
  return out;
}

std::uint64_t Reader::fixed64() {
  if (remaining() < 8) fail("truncated fixed64");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in_[pos_++])) << (8 * i);
  return v;
}

std::uint64_t Reader::count() {
  std::uint64_t n = varint();
  if (n > remaining()) fail("count " + std::to_string(n) + " beyond the " + std::to_string(remaining()) + " bytes left");
  return n;
}

Value Reader::compactValue() {
  std::uint8_t tag = byte();
  std::uint64_t small = tag >> 3;
  auto sized = [&]() -> std::string {
    std::uint64_t n = small ? small - 1 : varint();
    if (n > remaining()) fail("length beyond end");
    std::string out(in_.substr(pos_, n));
    pos_ += n;
    return out;
  };
  switch (tag & 7) {
    case 0:
      if (small) fail("NULL with an operand");
      return Value::null();
    case 1:
      return Value::integer(unzigzag(small ? small - 1 : varint()));
    case 2: {
      if (small) fail("REAL with an operand");
      std::uint64_t bits = fixed64();
      double d;
      std::memcpy(&d, &bits, 8);
      return Value::real(d);
    }
    case 3:
      return Value::text(sized());
    case 4:
      return Value::blob(sized());
    default:
      fail("unknown value type " + std::to_string(tag & 7));
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

void Reader::fail(const std::string& problem) const {
  throw Error(Status::corruption(std::string(what_) + ": " + problem + " at byte " + std::to_string(pos_)));
}

std::string encodeKey(const Row& pk) {
  std::string out;
  appendKey(out, pk);
  return out;
}

void appendKey(std::string& out, const Row& pk) {
  Writer w(out);
  for (const auto& v : pk) w.value(v);
}

}  // namespace parley::codec
