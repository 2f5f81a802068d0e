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
// single-row commit or apply call a fifth more). A commit's log row, and the last log row of an
// apply call, keep what it changed in the digests (a delta: sums do not depend on order, and
// a base covers all of a call's rows or none), and parley_digests keeps a
// base with, per origin, the seq up to which it counts that origin's transactions
// (parley_digest_base). The state is the base plus the deltas of the transactions after it;
// the base is rewritten every kFlushEvery transactions, and whenever a delta stops being true
// (a re-fold), so a load reads few rows. A rollback must be followed by load(). Not
// thread-safe.
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
  // The base is rewritten after this many transactions with deltas.
  static constexpr std::size_t kFlushEvery = 256;
  // Reads the base and adds the deltas of the transactions after it.
  void load(sql::Db& db);
  // A row of `t` changed from `before` to `after` (nullptr: absent); both hold every column.
  void change(const TableInfo& t, const Row* before, const Row* after);
  // What the transaction being applied or committed changed since the last takeDelta(), as its
  // log row keeps it (parley_log.digests; empty: nothing), counted towards the next flush.
  std::string takeDelta();
  // Whether the base is due: many transactions since it, or a delta that is no longer true.
  bool flushDue() const { return sinceBase_ >= kFlushEvery || stale_; }
  // Marks the deltas written so far as untrue (a re-fold undid and redid transactions).
  void invalidateDeltas() { stale_ = true; }
  // Writes the whole state as the base, as of `held` (per local site index, the greatest seq
  // held of it). REQUIRES: inside a write transaction.
  void flush(sql::Db& db, const std::vector<std::pair<std::int64_t, std::uint64_t>>& held);
  // A table's digest (empty table: zero).
  Digest128 of(std::int64_t table) const;
  // Overwrites a table's digest (after recomputing it from the rows).
  void set(std::int64_t table, const Digest128& d);

  // The pending state, to restore when a savepoint is rolled back.
  struct Mark {
    std::unordered_map<std::int64_t, Digest128> values, delta;
  };
  Mark mark() const { return {values_, delta_}; }
  void restore(Mark m) {
    values_ = std::move(m.values);
    delta_ = std::move(m.delta);
  }

 private:
  std::unordered_map<std::int64_t, Digest128> values_;
  std::unordered_map<std::int64_t, Digest128> delta_;  // of the transaction in progress
  std::size_t sinceBase_ = 0;                           // transactions with deltas after the base
  bool stale_ = false;
};

}  // namespace parley
