// Insert ranges: the metadata of a run of rows one local transaction inserted, kept as one row.
//
// A bulk INSERT into a rowid-keyed table gives every new row the same metadata (the commit's
// dot and stamp on the row and each cell: LocalMeta::freshInsert). Instead of one parley_rows
// row per inserted row, a run of consecutive rowids that had no metadata at all becomes one
// row of parley_ranges: (table, lo, hi, the inserting transaction's dot, the blob).
//
// A row's metadata is its own parley_rows row if it has one, else the blob of the range that
// covers it, else none. Ranges never overlap, and when an INSERT makes one no row in its span
// has metadata of its own. A later write of a covered row (update, delete, re-insert, local or
// remote) writes the row's own metadata, which then takes precedence for good, with one
// exception (Rewrites): a local commit that gives long runs of covered rows the same new
// metadata (a bulk UPDATE) splits the range and rewrites the runs' pieces instead; its undo
// record keeps the range as it was, which undoing it puts back whole (restore). Every piece
// keeps the inserting transaction's dot: undoing that transaction (a re-fold) drops them all. Only local commits make or rewrite ranges; the
// change sets and every other site see per-row semantics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "touched_rows.hpp"
#include "catalog.hpp"
#include "parley/crdt/dot.hpp"
#include "handles.hpp"

namespace parley::ranges {

// Runs shorter than this are written row by row: a range row costs more to find than a few
// metadata rows.
inline constexpr std::int64_t kMinRows = 16;

struct Range {
  std::int64_t lo = 0, hi = 0;  // rowids, inclusive
  std::string meta;
};

// The ranges of `t` that overlap [lo, hi], in rowid order, into `out` (replacing it).
void overlapping(store::Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi, std::vector<Range>& out);
// The blob of the range of `t` that covers `rowid`, if one does.
std::optional<std::string> covering(store::Rows rows, const TableInfo& t, std::int64_t rowid);
// The greatest rowid a range of `t` covers; nullopt if `t` has none.
std::optional<std::int64_t> maxCovered(store::Rows rows, const TableInfo& t);
// Drops every range the transaction `dot` made (it is being undone).
void dropOf(store::Log log, const Dot& dot);
// Puts back range [lo, hi] of table `table` whole, with blob `meta` and the dot its pieces
// keep: undoes a commit's rewrite of it (Rewrites), whose pieces lie in [lo, hi].
void restore(store::Rows rows, std::int64_t table, std::int64_t lo, std::int64_t hi, std::string_view meta);

// Ranges looked up for keys in ascending order, through overlapping() over the keys' span.
class Cover {
 public:
  // Loads the ranges of `t` over [lo, hi]; find() then answers for keys within it.
  void load(store::Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi);
  // The range covering `rowid`, or nullptr. Keys asked in ascending order are found in
  // amortised constant time.
  const Range* find(std::int64_t rowid);

 private:
  std::vector<Range> ranges_;
  std::size_t next_ = 0;
};

// A local commit's fresh inserts (rows that had no metadata at all, given the table's
// LocalMeta::freshInsert blob), gathered into runs of consecutive rowids, one open run per
// table. A run of at least kMinRows becomes a range; a shorter one is handed back to be written
// row by row.
class Runs {
 public:
  struct Row {
    const TableInfo* table;
    std::int64_t rowid;
    std::string_view meta;  // the same for every row of a table; stable until finish()
  };
  // Adds a row. The rows of a run it ends, if that run is short, are appended to `perRow`.
  void add(const Row& row, std::vector<Row>& perRow);
  // Ends every run: writes the long ones as ranges of `dot`, appends the rows of the short
  // ones to `perRow`.
  void finish(SiteState& s, const Dot& dot, std::vector<Row>& perRow);

 private:
  struct Run {
    Row first;
    std::int64_t hi;
  };
  void end(const Run& run, std::vector<Row>& perRow);

  std::vector<Run> open_;  // at most one per table
  std::vector<Run> long_;  // ended runs to write as ranges
};

// A local commit's rewrites of ranges. The rows a range covers that one commit gives the same
// new metadata, byte for byte, need no metadata rows of their own when they lie in runs of
// at least kMinRows rowids the commit writes: the range is split at the runs' ends, and the
// runs' pieces get that metadata as their blob; the rest of the range keeps its own. Rows the
// commit gives metadata rows of their own (another blob, a delete, rows that had one) may lie
// in a run's piece: theirs takes precedence. The rows of shorter runs get metadata rows of
// their own. Every piece keeps the range's dot; replaced() lists the ranges as they were, which
// the commit's undo record keeps (restore() puts one back).
class Rewrites {
 public:
  // Finds the ranges that hold at least kMinRows of the rowids `rows` touch, filling at least a
  // quarter of the span from the first to the last of them.
  void plan(SiteState& s, const Chunked<TouchedRow>& rows);
  // `row` (rowid-keyed) gets `meta`: its new metadata if the commit updates it, else nullopt
  // (a delete, or a re-insert of a deleted row); `covered`: it has no metadata row of its own,
  // a range covers it. Returns true if its metadata is left to the range's rewrite; false:
  // write it as a row of its own.
  bool leave(const TouchedRow& row, bool covered, std::optional<std::string_view> meta);
  // Splits and rewrites the ranges; the rows left to them that lie in runs too short for a
  // piece of their own are appended to `perRow`, to be written one by one (their metadata
  // stays valid as long as this object).
  void finish(SiteState& s, std::vector<Runs::Row>& perRow);
  // The ranges finish() split, as they were before.
  const std::vector<std::pair<const TableInfo*, Range>>& replaced() const { return replaced_; }

 private:
  enum State : std::uint8_t { kKept, kLeft, kOwn };  // the range's blob; the new one; a row of its own
  struct Candidate {
    const TableInfo* table;
    Range range;
    std::int64_t first, last;         // the touched rowids it covers span first..last
    std::optional<std::string> meta;  // what the rows left to it get
    std::vector<State> rows;          // by rowid - first
  };
  Candidate* find(const TouchedRow& row);
  void split(SiteState& s, const Candidate& c, const std::vector<std::pair<std::int64_t, std::int64_t>>& runs);

  std::vector<Candidate> candidates_;  // by table id, then rowid
  std::size_t last_ = 0;               // the candidate found last
  std::vector<std::pair<const TableInfo*, Range>> replaced_;
};

}  // namespace parley::ranges
