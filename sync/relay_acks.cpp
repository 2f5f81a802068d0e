#include "relay_acks.hpp"

#include <sstream>

#include "parley/sync/session.hpp"

namespace parley::sync::relay {
namespace {

constexpr std::string_view kMagic = "PA2";
constexpr std::size_t kMacSize = 64;
constexpr std::size_t kIdSize = 16;

void putVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      auto byte = static_cast<std::uint8_t>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return true;
    }
    return false;
  }
  bool id(SiteId& out) {
    if (in_.size() - pos_ < kIdSize) return false;
    out = SiteId::fromBytes(in_.data() + pos_, kIdSize);
    pos_ += kIdSize;
    return true;
  }
  // A count of items of at least `itemSize` bytes each that the rest can hold.
  bool count(std::uint64_t& n, std::size_t itemSize) { return varint(n) && n <= (in_.size() - pos_) / itemSize; }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

bool decodePayload(std::string_view payload, Acknowledgement& out) {
  Reader in(payload);
  std::uint64_t n = 0;
  if (!in.count(n, kIdSize + 1)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    SiteId id;
    std::uint64_t seq = 0;
    if (!in.id(id) || !in.varint(seq)) return false;
    out.vector.set(id, seq);
  }
  if (!in.count(n, kIdSize)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    SiteId id;
    if (!in.id(id)) return false;
    out.forgotten.push_back(id);
  }
  return in.done();
}

// The first format: "MAC\nTOKEN\nFORGOTTEN" (FORGOTTEN: hex ids, comma-separated).
AckCheck decodeText(const Signer& signer, std::string_view key, std::string_view text, Acknowledgement& out) {
  auto first = text.find('\n');
  if (first == std::string_view::npos) return AckCheck::kMalformed;
  auto second = text.find('\n', first + 1);
  if (second == std::string_view::npos) return AckCheck::kMalformed;
  std::string_view mac = text.substr(0, first), token = text.substr(first + 1, second - first - 1),
                   gone = text.substr(second + 1);
  if (!signer.verify(mac, {key, token, gone})) return AckCheck::kForged;
  auto vector = parseCommitToken(token);
  if (!vector) return AckCheck::kMalformed;
  out.vector = std::move(*vector);
  std::stringstream in{std::string(gone)};
  for (std::string item; std::getline(in, item, ',');)
    if (auto id = SiteId::fromHex(item)) out.forgotten.push_back(*id);
  return AckCheck::kOk;
}

}  // namespace

std::string encodeAcknowledgement(const Signer& signer, std::string_view key, const Acknowledgement& ack) {
  std::string payload;
  payload.reserve(ack.vector.entries().size() * (kIdSize + 4) + ack.forgotten.size() * kIdSize + 8);
  putVarint(payload, ack.vector.entries().size());
  for (const auto& [id, seq] : ack.vector.entries()) {
    payload.append(reinterpret_cast<const char*>(id.bytes.data()), kIdSize);
    putVarint(payload, seq);
  }
  putVarint(payload, ack.forgotten.size());
  for (const auto& id : ack.forgotten) payload.append(reinterpret_cast<const char*>(id.bytes.data()), kIdSize);
  std::string value(kMagic);
  value += signer.sign({key, payload});
  value += payload;
  return value;
}

AckCheck decodeAcknowledgement(const Signer& signer, std::string_view key, std::string_view value,
                               Acknowledgement& out) {
  out = {};
  if (!value.starts_with(kMagic)) return decodeText(signer, key, value, out);
  if (value.size() < kMagic.size() + kMacSize) return AckCheck::kMalformed;
  std::string_view mac = value.substr(kMagic.size(), kMacSize), payload = value.substr(kMagic.size() + kMacSize);
  if (!signer.verify(mac, {key, payload})) return AckCheck::kForged;
  return decodePayload(payload, out) ? AckCheck::kOk : AckCheck::kMalformed;
}

}  // namespace parley::sync::relay
