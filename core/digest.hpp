// State digests: per tracked table, an order-independent digest of its rows, kept up to date
// by every local commit and every apply, so that two sites holding the same transactions can
// show in 32 bytes that they hold the same data (Riak's active anti-entropy, Cassandra's
// repair trees).
//
// The digest is a multiset hash: the sum, modulo 2^128, of one 128-bit hash per cell (table,
// key, column, value) over every non-key column of every row, plus one per row for its
// existence. A sum does not depend on the order rows were written in, and an update changes
// it by the hashes of the cells it changed alone: new minus old. Cells are hashed with XXH3
// (seeded by the table and the key), which tells states apart; it is not a signature.
//
// Digests holds the digests of one site, changed in memory as rows change and stored in the
// same SQLite transaction, where a write costs least: a local commit stores the whole state in
// its own parley_log row (whose page the commit writes anyway; a page of its own would cost a
// single-row commit a fifth more), and an apply, a compaction or verify --accept in
// parley_digests with this site's own seq at that moment. The newer of the two is the state:
// a local commit after the flush has a greater seq. A rollback must be followed by load().
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "parley/value.hpp"
#include "sqlite.hpp"

namespace parley {

struct TableInfo;

struct Digest128 {
  std::uint64_t high = 0, low = 0;

  void add(const Digest128& d);
  void subtract(const Digest128& d);
  std::string hex() const;  // 32 hex digits
  friend bool operator==(const Digest128&, const Digest128&) = default;
};

namespace digest {

// The hash seed of a row: its table's name and its key values.
std::uint64_t rowSeed(const std::string& table, const Row& pk);
// The row's whole contribution: its existence and every non-key cell of `values` (every
// column, key included, in column order).
Digest128 ofRow(const TableInfo& t, const Row& values);
// What a row contributes, from its stored values (as ofRow), given its key's seed.
Digest128 ofRow(const TableInfo& t, std::uint64_t seed, const Row& values);

}  // namespace digest

class Digests {
 public:
  // Reads the digests: parley_digests, or the state stored with this site's newest local
  // commit (its log rows are keys [logFrom, logTo]) if that commit is newer.
  void load(sql::Db& db, std::int64_t logFrom, std::int64_t logTo);
  // A row of `t` changed from `before` to `after` (nullptr: absent); both hold every column.
  void change(const TableInfo& t, const Row* before, const Row* after);
  // Whether anything changed since the last load(), flush() or stored().
  bool changed() const { return !touched_.empty(); }
  // The whole state as a local commit's log row keeps it (parley_log.digests).
  std::string stored();
  // Writes the whole state to parley_digests, as of `ownSeq` (this site's newest own seq).
  // REQUIRES: inside a write transaction.
  void flush(sql::Db& db, std::uint64_t ownSeq);
  // A table's digest (empty table: zero).
  Digest128 of(std::int64_t table) const;
  // Overwrites a table's digest (after recomputing it from the rows).
  void set(std::int64_t table, const Digest128& d);

  // The pending state, to restore when a savepoint is rolled back.
  struct Mark {
    std::unordered_map<std::int64_t, Digest128> values;
    std::vector<std::int64_t> touched;
  };
  Mark mark() const { return {values_, touched_}; }
  void restore(Mark m) {
    values_ = std::move(m.values);
    touched_ = std::move(m.touched);
  }

 private:
  Digest128& entry(std::int64_t table);
  std::unordered_map<std::int64_t, Digest128> values_;
  std::vector<std::int64_t> touched_;  // changed since the last load or flush
};

}  // namespace parley
