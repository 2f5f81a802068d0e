// MetaBatch: many rows' new metadata for one rowid-keyed table, written with one statement
// instead of one per row (a batch of only a few rows is still written row by row).
//
// The blobs are collected (add()), then write() runs one INSERT ... SELECT over the batch
// through parley_meta_batch, an eponymous virtual table that yields a bound batch's
// (rowid, blob) pairs. Rows without metadata are inserted (failing, as a per-row INSERT
// would, if one exists); rows with metadata are overwritten (an UPSERT: one seek and one write,
// like the per-row UPDATE). One statement keeps one B-tree cursor: consecutive rowids append
// or overwrite in place without a descent from the root, and there is no per-row statement
// start, halt and reset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "catalog.hpp"
#include "state.hpp"

namespace parley {

// Registers parley_meta_batch on `db`. REQUIRES: once per connection, before any write().
void registerMetaBatch(sqlite3* db);

class MetaBatch {
 public:
  struct Entry {
    std::int64_t rowid;
    std::string_view blob;
  };
  // `blob` is copied unless `stable` (it then must outlive write()).
  void add(std::int64_t rowid, std::string_view blob, bool existed, bool stable);
  bool empty() const { return inserts_.empty() && updates_.empty(); }
  // Writes everything added to `t`'s metadata table and empties the batch.
  void write(SiteState& s, const TableInfo& t);

 private:
  struct Added {
    std::int64_t rowid;
    const char* stable;  // nullptr: the blob is in arena_ at `offset`
    std::size_t offset;
    std::size_t size;
  };
  std::vector<Entry> entries(const std::vector<Added>& added) const;

  std::vector<Added> inserts_, updates_;
  std::string arena_;  // copies of blobs
};

}  // namespace parley
