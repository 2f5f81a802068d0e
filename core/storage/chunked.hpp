// Chunked<T>: an append-only sequence stored in fixed-size chunks, indexed like a vector.
//
// Growing never moves elements (a vector of a bulk statement's touched rows moved every row
// at each doubling and faulted in twice the memory); moving the whole sequence moves only the
// chunk list. Not thread-safe.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace parley {

template <class T>
class Chunked {
 public:
  static constexpr std::size_t kChunk = 1024;

  Chunked() = default;
  Chunked(Chunked&& other) noexcept : chunks_(std::move(other.chunks_)), size_(std::exchange(other.size_, 0)) {
    other.chunks_.clear();
  }
  Chunked& operator=(Chunked&& other) noexcept {
    chunks_ = std::move(other.chunks_);
    size_ = std::exchange(other.size_, 0);
    other.chunks_.clear();
    return *this;
  }

  T& operator[](std::size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  const T& operator[](std::size_t i) const { return chunks_[i / kChunk][i % kChunk]; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void push_back(T value) {
    if (size_ % kChunk == 0) {
      chunks_.emplace_back();
      // The first chunk grows as a vector does (a small transaction stays small).
      if (chunks_.size() > 1) chunks_.back().reserve(kChunk);
    }
    chunks_.back().push_back(std::move(value));
    ++size_;
  }

  void clear() {
    chunks_.clear();
    size_ = 0;
  }

 private:
  std::vector<std::vector<T>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace parley
