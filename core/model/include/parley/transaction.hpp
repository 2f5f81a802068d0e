// Transaction: the unit of replication. One local write transaction that changed tracked
// rows becomes one Transaction with one dot, one HLC timestamp and one causal context.
//
// Columns are identified by their index in the tracked table's column list (declaration
// order, primary-key columns included); sites that sync share the same schema fingerprint.
// Each write carries its before-image (`oldValue`), after-image (`newValue`) and its base:
// the dots of the cell version it read and overwrote.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "parley/crdt/dot.hpp"
#include "parley/crdt/version_vector.hpp"
#include "parley/hlc.hpp"
#include "parley/value.hpp"

namespace parley {

enum class RowOp : std::uint8_t { kInsert = 0, kUpdate = 1, kDelete = 2 };

struct ColumnWrite {
  std::uint32_t column = 0;  // index into the table's columns
  Value oldValue;            // NULL for an insert
  Value newValue;            // NULL for a delete
  Dots base;                 // dots of the version read; empty for a fresh insert
};

struct RowChange {
  std::string table;
  Row pk;  // primary-key values in primary-key order
  RowOp op = RowOp::kUpdate;
  // Insert: every non-key column. Update: the columns whose value changed.
  // Delete: every non-key column with its last value as oldValue.
  std::vector<ColumnWrite> columns;
  Dots rowBase;  // dots of the row's existence version read (its insert, or a tombstone)
};

// The canonical order of transactions: (HLC, global site id). Causal order is embedded in it
// because an HLC is greater than every timestamp its writer had seen.
struct Stamp {
  Hlc hlc;
  SiteId site;
  friend auto operator<=>(const Stamp&, const Stamp&) = default;
};

// A link of an origin's hash chain: 16 bytes of a hash. All zeros: none (the origin's first
// transaction has no predecessor; transactions of parley before the chain carry none).
struct ChainHash {
  std::array<std::uint8_t, 16> bytes{};
  bool empty() const;
  std::string hex() const;  // 32 hex digits
  std::string shortHex() const;  // the first 8
  friend bool operator==(const ChainHash&, const ChainHash&) = default;
};

struct Transaction {
  Dot dot;
  Hlc hlc;
  // The origin's vector at commit, not counting this transaction. As decodeTransaction gives
  // it (from a log body, a change set or the wire), only the entries that grew since the
  // origin's previous transaction: an origin's contexts only grow, and a site applies its
  // transactions in seq order, so Site::apply completes it from what the site holds (a whole
  // vector is as valid). Site::changesSince gives it whole.
  VersionVector context;
  std::vector<RowChange> rows;
  // One history per origin: `prev` is the hash of the origin's previous transaction (seq - 1),
  // `hash` this one's, computed by its origin over its encoded body when it committed
  // (parley/txn_codec.hpp). Two transactions with one dot and different hashes, or a `prev`
  // that is not the held predecessor's hash, are a fork: a copied or restored site wrote under
  // an id that had already written. The chain detects forks; it is not a signature.
  ChainHash prev;
  ChainHash hash;

  Stamp stamp() const { return {hlc, dot.site}; }
};

}  // namespace parley
