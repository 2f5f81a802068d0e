// Batched row and metadata I/O for the apply engine: many rows of one table per statement.
//
// Applying a transaction reads every row it changes before writing any (rows are distinct
// within a transaction), then writes the rows, then their metadata. For a table whose key is
// its rowid these functions do each of those steps for up to 64 rows per statement
// (the key list padded with NULLs, which match nothing), so SQLite pays its per-statement
// costs (cursor open/close, halt, reset) once per batch and seeks keys in order. Other tables
// go through the per-row functions of store.hpp. Results equal the per-row functions'.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store.hpp"

namespace parley::store {

// Fewer rows of a table than this go through the per-row functions: a batch statement for
// one or two rows costs more than the per-row ones.
inline constexpr std::size_t kMinBatchRows = 4;

// Dense runs of at least this many keys are read with one range scan instead of IN lists.
inline constexpr std::size_t kMinRange = 16;
// How many sorted keys from `first` on lie in a range at most twice as wide as their count.
std::size_t denseRun(std::span<const std::int64_t> keys, std::size_t first);

// Fills *out[i] as readStored() would for keys[i] (reusing each StoredRow's buffers).
// REQUIRES: t.integerKey, keys distinct, out.size() == keys.size(). Keys that are dense (a
// run spanning at most twice its count) are read with one range scan.
void readStoredMany(Rows rows, const TableInfo& t, std::span<const std::int64_t> keys,
                    std::span<StoredRow* const> out);

// A row's new values (every column) for updateMany().
struct RowUpdate {
  std::int64_t key;
  const Row* values;
};
// Updates the rows as updateRow() does one by one. REQUIRES: t.integerKey, and every row
// exists (an absent one would be inserted). Throws Error like updateRow(); a failed statement
// leaves none of its batch's rows written (earlier batches stay written).
void updateMany(Rows to, const TableInfo& t, std::span<const RowUpdate> rows);

// A row's encoded metadata for writeMetaMany().
struct MetaWrite {
  std::int64_t key;
  std::string_view blob;
};
// Stores each row's metadata, replacing what it had. REQUIRES: t.integerKey, and the blobs
// outlive the call (they are bound without a copy).
void writeMetaMany(Rows to, const TableInfo& t, std::span<const MetaWrite> rows);

}  // namespace parley::store
