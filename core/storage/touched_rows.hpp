// Touched rows: what a local transaction changed, as the capture (capture/capture.hpp) records
// it and the commit turns into a transaction. Storage's fast paths for a commit (touched
// metadata, insert-range rewrites) read the same rows, so the types live here, below both.
//
// A row's key and images are kept encoded in an arena (a few dozen bytes a row, no allocation
// per row) and decoded a row at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "catalog.hpp"
#include "chunked.hpp"
#include "parley/value.hpp"

namespace parley {

// A touched row's key or image, as bytes in the capture's ImageArena: one codec value
// (codec::Writer::value) per column, no count. A key is the primary key's values in key order,
// the bytes codec::encodeKey gives; an image is every column's value in table order.
struct Image {
  const char* data = nullptr;  // nullptr: absent
  std::uint32_t size = 0;

  bool present() const { return data != nullptr; }
  std::string_view bytes() const { return {data, size}; }
};

// Append-only storage of images in blocks that never move, so an Image stays valid until
// clear(). A bulk statement's images take a few dozen bytes a row, with no allocation per row.
class ImageArena {
 public:
  ImageArena() = default;
  ImageArena(ImageArena&& other) noexcept { *this = std::move(other); }
  ImageArena& operator=(ImageArena&& other) noexcept;

  Image add(std::string_view bytes);
  // `bytes` in place of `old`'s if they fit there (a row changed again), else added.
  Image replace(Image old, std::string_view bytes);
  // Forgets every image; keeps the current block for the next transaction.
  void clear();

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* at_ = nullptr;  // free room in the current block (blocks_.back(), unless oversized)
  std::size_t left_ = 0;
  std::size_t blockSize_ = 0;  // of the current block
};

struct TouchedRow {
  const TableInfo* table = nullptr;
  std::int64_t rowid = 0;  // the key, when `key` is absent (a table keyed by its rowid)
  Image key;               // absent when the key is the rowid
  Image before;            // absent: the row was absent when the transaction began
  Image after;             // after the last change the hook saw; absent: the row is absent
  bool afterKnown = true;  // false: `after` must be read (touched without a change, or inserted)

  bool rowidKey() const { return !key.present(); }
  Row keyRow() const;
  std::string encodedKey() const;  // codec::encodeKey(keyRow())
  // The image decoded into `out` (reusing its storage): one value per column of `table`.
  // REQUIRES: image.present().
  void decode(Image image, Row& out) const;
};

struct TouchedRows {
  Chunked<TouchedRow> rows;  // in first-touch order
  bool afterStale = false;   // some change may have been undone: re-read every row
  ImageArena images;         // the rows' keys and images
};

}  // namespace parley
