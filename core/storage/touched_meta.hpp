// TouchedMeta: the stored metadata blobs of a range of the rows a local commit touched, read
// with as few statements as it can. A commit reads and writes its rows' metadata one range at a
// time, so that what it holds of them stays bounded whatever the transaction's size.
//
// A few rows of a table are looked up one by one. Of many rows of a table keyed by its rowid,
// those whose key lies beyond the greatest rowid with metadata (the rows a bulk INSERT adds)
// have none: no lookup (the greatest rowid as it was when the commit began: MetaBounds). When
// many touched rows lie densely in a key range (a bulk UPDATE), the range is read with one scan
// in key order, then the insert ranges over the rows it did not find; the rest are looked up
// one by one. Blobs are kept in one buffer, so no allocation per row.
// REQUIRES: inside the commit's write transaction; the blobs are a snapshot taken then.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "touched_rows.hpp"
#include "state.hpp"

namespace parley {

// The greatest rowid with metadata of each rowid-keyed table, as it was at the first question:
// a commit that has written some of its rows' metadata still knows which rows had none.
class MetaBounds {
 public:
  std::optional<std::int64_t> maxRowid(SiteState& s, const TableInfo& t);

 private:
  std::vector<std::pair<const TableInfo*, std::optional<std::int64_t>>> known_;
};

class TouchedMeta {
 public:
  // Reads the metadata of rows[begin, end). REQUIRES: no row in the range has had its metadata
  // written by this commit.
  TouchedMeta(SiteState& s, const Chunked<TouchedRow>& rows, std::size_t begin, std::size_t end, MetaBounds& bounds);
  // The blob of rows[i], begin <= i < end; nullopt if the row has no metadata.
  std::optional<std::string_view> blob(std::size_t i) const;
  // Whether that blob is an insert range's (insert_ranges.hpp): the row has no metadata row
  // of its own.
  bool inRange(std::size_t i) const;

 private:
  struct Span {
    std::size_t offset = 0;
    std::uint32_t size = 0;
    bool found = false;
    bool inRange = false;
  };
  struct Keyed {
    std::int64_t key;
    std::size_t row;
  };
  void keep(std::size_t row, std::string_view blob, bool inRange);
  void readRowidTable(SiteState& s, const TableInfo& t, std::vector<Keyed> keys, MetaBounds& bounds);
  // Rows of `keys` (sorted) without a metadata row of their own: their insert ranges' blobs.
  void readCovered(SiteState& s, const TableInfo& t, const std::vector<Keyed>& keys);
  void readOneByOne(SiteState& s, const Chunked<TouchedRow>& rows, const std::vector<Keyed>& keys);

  const Chunked<TouchedRow>& rows_;
  std::size_t begin_;
  std::string arena_;
  std::vector<Span> spans_;
};

}  // namespace parley
