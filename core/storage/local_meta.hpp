// LocalMeta: a local commit's new row metadata built straight from bytes, for the two common
// cases where the general path (decodeRowMeta, foldRow, encodeRowMeta) spends its time
// decoding a copy only to write most of it back unchanged:
//   - a fresh insert (the row has no metadata): the same blob for every such row of a table,
//     built once per commit;
//   - an update of a live row whose changed cells keep no contributions (counters) and whose
//     versions the commit's context covers: the stored blob with those cells replaced by the
//     commit's and the row's stamp raised to the commit's (a local write's cell is the write's
//     alone, the contract of ColumnResolver::meet).
// Both give exactly the bytes and bases the general path gives (the fold of a local write
// that supersedes what it read, fold.cpp); commit.cpp compares them under
// SiteOptions::checkCapture. Any other case is declined and goes the general way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "catalog.hpp"
#include "parley/transaction.hpp"
#include "state.hpp"

namespace parley {

class LocalMeta {
 public:
  // REQUIRES: inside the commit's write transaction (registers the site's own index).
  LocalMeta(SiteState& s, const Transaction& txn);

  // The metadata of a fresh insert of a row of `t`.
  const std::string& freshInsert(const TableInfo& t);
  // For an update (`change.op == kUpdate`, columns in ascending order) of a row whose stored
  // metadata is `blob`: fills `change`'s bases, writes the new metadata to `out` and returns
  // true; false if the case is not one of the above (`change` and `out` are then unspecified).
  bool update(const TableInfo& t, std::string_view blob, RowChange& change, std::string& out);

 private:
  struct CellSpan {
    std::uint32_t column = 0;
    std::string_view dots;   // count, then (site index, seq) pairs
    std::string_view stamp;  // hlc, site index
    std::string_view all;    // the whole cell
    bool counter = false;
  };
  static CellSpan readCell(std::string_view blob, std::size_t& pos);
  bool covered(std::string_view dots);
  // Into `out`, reusing its storage.
  void decodeDots(std::string_view dots, Dots& out) const;
  // The stamp bytes the row gets: the commit's, or the stored one if greater.
  std::string_view maxStamp(std::string_view stored) const;

  SiteState& s_;
  Stamp stamp_;
  std::string freshCell_, freshCounterCell_, ownStamp_;
  std::unordered_map<std::int64_t, std::string> freshInserts_;  // by table id
  std::vector<std::uint64_t> contextSeq_;  // by site index, + 1; 0: not looked up yet
  std::vector<CellSpan> cells_;
};

}  // namespace parley
