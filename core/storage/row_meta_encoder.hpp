// RowMetaEncoder: encodes many rows' row metadata (row_meta.hpp) as encodeRowMeta does, to
// the same bytes, remembering the sites it looked up last: a batch's dots and stamps name few
// sites, so most lookups are a compare instead of a hash lookup in the SiteTable.
#pragma once

#include <cstdint>
#include <string>

#include "row_meta.hpp"

namespace parley {

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
