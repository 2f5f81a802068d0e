// TouchedMeta: the stored metadata blobs of every row a local commit touched, read with as few
// statements as it can.
//
// A few rows of a table are looked up one by one. Of many rows of a table keyed by its rowid,
// those whose key lies beyond the greatest rowid with metadata (the rows a bulk INSERT adds)
// have none: no lookup. When many touched rows lie densely in a key range (a bulk UPDATE), the
// range is read with one scan in key order; the rest are looked up one by one. Blobs are kept in one buffer, so no allocation per row.
// REQUIRES: inside the commit's write transaction; the blobs are a snapshot taken then.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capture.hpp"
#include "state.hpp"

namespace parley {

class TouchedMeta {
 public:
  TouchedMeta(SiteState& s, const Chunked<TouchedRow>& rows);
  // The blob of rows[i]; nullopt if the row has no metadata.
  std::optional<std::string_view> blob(std::size_t i) const;

 private:
  struct Span {
    std::size_t offset = 0;
    std::uint32_t size = 0;
    bool found = false;
  };
  struct Keyed {
    std::int64_t key;
    std::size_t row;
  };
  void keep(std::size_t row, std::string_view blob);
  void readRowidTable(SiteState& s, const TableInfo& t, std::vector<Keyed> keys);
  void readOneByOne(SiteState& s, const Chunked<TouchedRow>& rows, const std::vector<Keyed>& keys);

  const Chunked<TouchedRow>& rows_;
  std::string arena_;
  std::vector<Span> spans_;
};

}  // namespace parley
