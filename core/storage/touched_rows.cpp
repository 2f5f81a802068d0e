#include "touched_rows.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "codec.hpp"

namespace parley {
namespace {

// Blocks start small (a one-row transaction needs a few bytes) and double up to this.
constexpr std::size_t kFirstBlock = 4096;
constexpr std::size_t kMaxBlock = std::size_t{1} << 20;

}  // namespace

Image ImageArena::add(std::string_view bytes) {
  // SQLite keeps a row's record under 2 GiB (SQLITE_MAX_LENGTH); an image adds at most 11 bytes
  // to each of at most 32,767 values.
  if (bytes.size() > UINT32_MAX) throw std::length_error("a row image over 4 GiB");
  if (bytes.size() > left_ || !at_) {
    std::size_t next = std::min(kMaxBlock, std::max(kFirstBlock, blockSize_ * 2));
    if (bytes.size() > next / 2) {  // a block of its own, before the current one
      auto own = std::make_unique_for_overwrite<char[]>(bytes.size());
      std::memcpy(own.get(), bytes.data(), bytes.size());
      Image image{own.get(), static_cast<std::uint32_t>(bytes.size())};
      blocks_.insert(blocks_.empty() ? blocks_.end() : blocks_.end() - 1, std::move(own));
      return image;
    }
    blockSize_ = next;
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(blockSize_));
    at_ = blocks_.back().get();
    left_ = blockSize_;
  }
  Image image{at_, static_cast<std::uint32_t>(bytes.size())};
  if (!bytes.empty()) std::memcpy(at_, bytes.data(), bytes.size());
  at_ += bytes.size();
  left_ -= bytes.size();
  return image;
}

Image ImageArena::replace(Image old, std::string_view bytes) {
  if (!old.present() || bytes.size() > old.size) return add(bytes);
  char* at = const_cast<char*>(old.data);  // in a block of ours
  if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
  return {at, static_cast<std::uint32_t>(bytes.size())};
}

ImageArena& ImageArena::operator=(ImageArena&& other) noexcept {
  blocks_ = std::move(other.blocks_);
  at_ = std::exchange(other.at_, nullptr);
  left_ = std::exchange(other.left_, 0);
  blockSize_ = std::exchange(other.blockSize_, 0);
  other.blocks_.clear();
  return *this;
}

void ImageArena::clear() {
  if (blockSize_ == 0) {  // only blocks of their own, if any
    blocks_.clear();
    return;
  }
  auto current = std::move(blocks_.back());  // the last block is the current one
  blocks_.clear();
  blocks_.push_back(std::move(current));
  at_ = blocks_.back().get();
  left_ = blockSize_;
}

Row TouchedRow::keyRow() const {
  if (rowidKey()) return Row{Value::integer(rowid)};
  Row pk;
  codec::Reader r(key.bytes(), "captured key");
  while (!r.done()) pk.push_back(r.value());
  return pk;
}

std::string TouchedRow::encodedKey() const {
  if (!rowidKey()) return std::string(key.bytes());
  std::string out;
  codec::Writer(out).value(Value::integer(rowid));
  return out;
}

void TouchedRow::decode(Image image, Row& out) const {
  out.resize(table->columns.size());
  codec::Reader r(image.bytes(), "captured row image");
  for (auto& v : out) v = r.value();
  r.expectDone();
}

}  // namespace parley
