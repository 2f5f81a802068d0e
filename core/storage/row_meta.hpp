// Per-row replication metadata, stored as one blob per row in parley_rows.
//
// For each cell (non-key column) the dots of the write(s) its value reflects and the stamp of
// its latest write; for the row, whether it exists, the dots of its last insert or delete, and
// the stamp of the latest write of any kind. A deleted row keeps its metadata (a tombstone) and
// its last values, so a concurrent update can still be detected and, if it wins, resurrect the
// row with every column. Counter cells also keep their PN-counter state, bounded counter cells
// their rights moves too. Sites are stored as
// local integers (SiteTable).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog.hpp"
#include "parley/crdt/bounded_counter.hpp"
#include "parley/crdt/counter.hpp"
#include "parley/crdt/dot.hpp"
#include "parley/transaction.hpp"
#include "parley/value.hpp"

namespace parley {

struct CellMeta {
  Dots dots;
  Stamp stamp;
  std::optional<PNCounter> counter;  // counter columns: each origin's contribution
  std::optional<RightsMoves> moves;  // bounded counters: rights moved between sites (with counter)
  friend bool operator==(const CellMeta&, const CellMeta&) = default;
};

struct RowMeta {
  bool alive = false;
  CellMeta existence;                        // dots: last insert/delete; stamp: latest write
  std::vector<std::optional<CellMeta>> cells;  // per column; nullopt for key columns
  Row tombstone;                             // every column's last value, when !alive

  // Every dot the row's current state reflects.
  Dots allDots() const;
};

std::string encodeRowMeta(const RowMeta& m, sql::Db& db, SiteTable& sites);
RowMeta decodeRowMeta(std::string_view bytes, const SiteTable& sites, std::size_t columnCount);
// decodeRowMeta into `out`, reusing the storage of its cells and dots (the apply engine
// decodes many rows into recycled RowMetas). The result equals decodeRowMeta's.
void decodeRowMetaInto(std::string_view bytes, const SiteTable& sites, std::size_t columnCount, RowMeta& out);

// RowMetaEncoder: encodes many rows' row metadata as encodeRowMeta does, to the same bytes,
// remembering the sites it looked up last: a batch's dots and stamps name few sites, so most
// lookups are a compare instead of a hash lookup in the SiteTable.
// REQUIRES: inside a write transaction (a new site is registered); `db` and `sites` outlive it.
class RowMetaEncoder {
 public:
  RowMetaEncoder(sql::Db& db, SiteTable& sites) : db_(db), sites_(sites) {}
  std::string encode(const RowMeta& m);
  // Appends the encoding of `m` to `out` (many rows' metadata in one buffer).
  void encodeTo(const RowMeta& m, std::string& out);
  std::uint32_t indexOf(const SiteId& id);

 private:
  struct Known {
    SiteId id;
    std::uint32_t idx = 0;  // 0: empty slot
  };
  sql::Db& db_;
  SiteTable& sites_;
  Known recent_[4];
  std::size_t next_ = 0;  // the slot to overwrite next
};

}  // namespace parley
