#include "insert_ranges.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "parley/status.hpp"

namespace parley::ranges {
namespace {

std::int64_t siteIndex(store::Log log, const SiteId& id) {
  return static_cast<std::int64_t>(log.sites.indexOf(log.db, id));
}

void insert(SiteState& s, const TableInfo& t, std::int64_t lo, std::int64_t hi, const Dot& dot, std::string_view meta) {
  auto& st = s.db.cached("INSERT INTO parley_ranges(tbl, lo, hi, site, seq, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, t.id).bind(2, lo).bind(3, hi).bind(4, siteIndex(s, dot.site)).bind(5, static_cast<std::int64_t>(dot.seq));
  st.bindBlob(6, meta);
  st.run();
}

}  // namespace

void overlapping(store::Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi, std::vector<Range>& out) {
  out.clear();
  // The range starting at or before `lo` (it may cover it), then every one starting up to `hi`.
  auto& st = rows.db.cached(
      "SELECT lo, hi, meta FROM parley_ranges WHERE tbl = ?1 AND lo <= ?3 AND lo >= "
      "coalesce((SELECT max(lo) FROM parley_ranges WHERE tbl = ?1 AND lo <= ?2), ?2) ORDER BY lo");
  st.bind(1, t.id).bind(2, lo).bind(3, hi);
  while (st.step()) {
    if (st.int64(1) < lo) continue;
    out.push_back({st.int64(0), st.int64(1), std::string(st.blob(2))});
  }
  st.reset();
}

std::optional<std::string> covering(store::Rows rows, const TableInfo& t, std::int64_t rowid) {
  auto& st = rows.db.cached("SELECT hi, meta FROM parley_ranges WHERE tbl = ?1 AND lo <= ?2 ORDER BY lo DESC LIMIT 1");
  st.bind(1, t.id).bind(2, rowid);
  std::optional<std::string> out;
  if (st.step() && st.int64(0) >= rowid) out.emplace(st.blob(1));
  st.reset();
  return out;
}

std::optional<std::int64_t> maxCovered(store::Rows rows, const TableInfo& t) {
  auto& st = rows.db.cached("SELECT hi FROM parley_ranges WHERE tbl = ?1 ORDER BY lo DESC LIMIT 1");
  st.bind(1, t.id);
  std::optional<std::int64_t> out;
  if (st.step()) out = st.int64(0);
  st.reset();
  return out;
}

void dropOf(store::Log log, const Dot& dot) {
  auto& st = log.db.cached("DELETE FROM parley_ranges WHERE site = ?1 AND seq = ?2");
  st.bind(1, siteIndex(log, dot.site)).bind(2, static_cast<std::int64_t>(dot.seq));
  st.run();
}

void restore(store::Rows rows, std::int64_t table, std::int64_t lo, std::int64_t hi, std::string_view meta) {
  auto& dot = rows.db.cached("SELECT site, seq FROM parley_ranges WHERE tbl = ?1 AND lo = ?2");
  dot.bind(1, table).bind(2, lo);
  if (!dot.step()) throw Error(Status::corruption(fmt::format("undo record names a range of table {} at {} that is gone", table, lo)));
  std::int64_t site = dot.int64(0), seq = dot.int64(1);
  dot.reset();
  auto& pieces = rows.db.cached("DELETE FROM parley_ranges WHERE tbl = ?1 AND lo BETWEEN ?2 AND ?3");
  pieces.bind(1, table).bind(2, lo).bind(3, hi);
  pieces.run();
  auto& whole = rows.db.cached("INSERT INTO parley_ranges(tbl, lo, hi, site, seq, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  whole.bind(1, table).bind(2, lo).bind(3, hi).bind(4, site).bind(5, seq).bindBlob(6, meta);
  whole.run();
}

void Cover::load(store::Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi) {
  overlapping(rows, t, lo, hi, ranges_);
  next_ = 0;
}

const Range* Cover::find(std::int64_t rowid) {
  if (next_ < ranges_.size() && ranges_[next_].lo > rowid) next_ = 0;  // asked out of order
  while (next_ < ranges_.size() && ranges_[next_].hi < rowid) ++next_;
  if (next_ < ranges_.size() && ranges_[next_].lo <= rowid) return &ranges_[next_];
  return nullptr;
}

void Runs::add(const Row& row, std::vector<Row>& perRow) {
  auto run = std::find_if(open_.begin(), open_.end(), [&](const Run& r) { return r.first.table == row.table; });
  bool next = run != open_.end() && run->hi < row.rowid &&
              static_cast<std::uint64_t>(row.rowid) - static_cast<std::uint64_t>(run->hi) == 1;
  if (next) {
    run->hi = row.rowid;
    return;
  }
  if (run == open_.end()) run = open_.insert(open_.end(), {row, row.rowid});
  else {
    end(*run, perRow);
    *run = {row, row.rowid};
  }
}

void Runs::end(const Run& run, std::vector<Row>& perRow) {
  std::int64_t rows = run.hi - run.first.rowid + 1;  // no overflow: each rowid is a row of the commit
  if (rows >= kMinRows) return long_.push_back(run);
  for (std::int64_t i = 0; i < rows; ++i) perRow.push_back({run.first.table, run.first.rowid + i, run.first.meta});
}

void Runs::finish(SiteState& s, const Dot& dot, std::vector<Row>& perRow) {
  for (const Run& run : open_) end(run, perRow);
  open_.clear();
  for (const Run& run : long_) insert(s, *run.first.table, run.first.rowid, run.hi, dot, run.first.meta);
  long_.clear();
}

void Rewrites::plan(SiteState& s, const Chunked<TouchedRow>& rows) {
  candidates_.clear();
  last_ = 0;
  if (static_cast<std::int64_t>(rows.size()) < kMinRows) return;  // a small commit asks nothing
  // The touched rowids of each table that has ranges (a commit touches few tables).
  struct Keys {
    const TableInfo* table;
    bool hasRanges;
    std::vector<std::int64_t> rowids;
  };
  std::vector<Keys> tables;
  Keys* current = nullptr;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TouchedRow& r = rows[i];
    if (!r.rowidKey()) continue;
    if (!current || current->table != r.table) {
      auto k = std::find_if(tables.begin(), tables.end(), [&](const Keys& x) { return x.table == r.table; });
      if (k == tables.end()) k = tables.insert(tables.end(), {r.table, maxCovered(s, *r.table).has_value(), {}});
      current = &*k;
    }
    if (current->hasRanges) current->rowids.push_back(r.rowid);
  }
  std::sort(tables.begin(), tables.end(), [](const Keys& a, const Keys& b) { return a.table->id < b.table->id; });
  std::vector<Range> overlap;
  for (Keys& k : tables) {
    auto& ids = k.rowids;
    if (static_cast<std::int64_t>(ids.size()) < kMinRows) continue;
    if (!std::is_sorted(ids.begin(), ids.end())) std::sort(ids.begin(), ids.end());
    overlapping(s, *k.table, ids.front(), ids.back(), overlap);
    for (Range& r : overlap) {
      auto from = std::lower_bound(ids.begin(), ids.end(), r.lo);
      auto to = std::upper_bound(from, ids.end(), r.hi);
      auto count = static_cast<std::uint64_t>(to - from);  // the rowids are distinct
      if (count < static_cast<std::uint64_t>(kMinRows)) continue;
      std::int64_t first = *from, last = *(to - 1);
      auto width = static_cast<std::uint64_t>(last) - static_cast<std::uint64_t>(first) + 1;
      if (width / 4 > count) continue;  // too sparse to be worth a state per rowid
      candidates_.push_back({k.table, std::move(r), first, last, std::nullopt, std::vector<State>(width, kKept)});
    }
  }
}

Rewrites::Candidate* Rewrites::find(const TouchedRow& row) {
  auto holds = [&](const Candidate& c) { return c.table == row.table && c.first <= row.rowid && row.rowid <= c.last; };
  if (candidates_.empty() || !row.rowidKey()) return nullptr;
  if (holds(candidates_[last_])) return &candidates_[last_];
  // The first candidate after the row, in (table id, rowid) order; the one before it may hold it.
  auto after = std::upper_bound(candidates_.begin(), candidates_.end(), row, [](const TouchedRow& r, const Candidate& c) {
    return r.table->id != c.table->id ? r.table->id < c.table->id : r.rowid < c.first;
  });
  if (after == candidates_.begin() || !holds(*(after - 1))) return nullptr;
  last_ = static_cast<std::size_t>(after - 1 - candidates_.begin());
  return &candidates_[last_];
}

bool Rewrites::leave(const TouchedRow& row, bool covered, std::optional<std::string_view> meta) {
  Candidate* c = find(row);
  if (!c) return false;
  State& state = c->rows[static_cast<std::size_t>(row.rowid - c->first)];
  if (covered && meta && (!c->meta || *c->meta == *meta)) {
    if (!c->meta) c->meta.emplace(*meta);
    state = kLeft;
    return true;
  }
  state = kOwn;
  return false;
}

void Rewrites::finish(SiteState& s, std::vector<Runs::Row>& perRow) {
  std::vector<std::pair<std::int64_t, std::int64_t>> runs;  // of rows left or own, long enough
  for (const Candidate& c : candidates_) {
    if (!c.meta) continue;
    runs.clear();
    for (std::size_t i = 0; i < c.rows.size();) {
      if (c.rows[i] == kKept) {
        ++i;
        continue;
      }
      std::size_t end = i;
      bool left = false;
      for (; end < c.rows.size() && c.rows[end] != kKept; ++end) left = left || c.rows[end] == kLeft;
      if (left && static_cast<std::int64_t>(end - i) >= kMinRows)
        runs.push_back({c.first + static_cast<std::int64_t>(i), c.first + static_cast<std::int64_t>(end) - 1});
      else
        for (std::size_t j = i; j < end; ++j)
          if (c.rows[j] == kLeft) perRow.push_back({c.table, c.first + static_cast<std::int64_t>(j), *c.meta});
      i = end;
    }
    if (runs.empty()) continue;
    replaced_.push_back({c.table, c.range});
    split(s, c, runs);
  }
}

void Rewrites::split(SiteState& s, const Candidate& c, const std::vector<std::pair<std::int64_t, std::int64_t>>& runs) {
  // The pieces of the range, in rowid order: the runs with the new blob, the gaps with the old.
  struct Piece {
    std::int64_t lo, hi;
    std::string_view meta;
  };
  std::vector<Piece> pieces;
  std::int64_t next = c.range.lo;
  for (const auto& [lo, hi] : runs) {
    if (lo > next) pieces.push_back({next, lo - 1, c.range.meta});
    pieces.push_back({lo, hi, *c.meta});
    next = hi + 1;
  }
  if (runs.back().second < c.range.hi) pieces.push_back({next, c.range.hi, c.range.meta});
  // Every piece but the first is a new row with the range's dot; the first is the range's row.
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    auto& add = s.db.cached(
        "INSERT INTO parley_ranges(tbl, lo, hi, site, seq, meta) "
        "SELECT tbl, ?3, ?4, site, seq, ?5 FROM parley_ranges WHERE tbl = ?1 AND lo = ?2");
    add.bind(1, c.table->id).bind(2, c.range.lo).bind(3, pieces[i].lo).bind(4, pieces[i].hi);
    add.bindBlob(5, pieces[i].meta);
    add.run();
  }
  auto& first = s.db.cached("UPDATE parley_ranges SET hi = ?3, meta = ?4 WHERE tbl = ?1 AND lo = ?2");
  first.bind(1, c.table->id).bind(2, c.range.lo).bind(3, pieces[0].hi);
  first.bindBlob(4, pieces[0].meta);
  first.run();
}

}  // namespace parley::ranges
