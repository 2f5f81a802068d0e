#include "insert_ranges.hpp"

#include <algorithm>

namespace parley::ranges {
namespace {

std::int64_t siteIndex(SiteState& s, const SiteId& id) { return static_cast<std::int64_t>(s.sites.indexOf(s.db, id)); }

void insert(SiteState& s, const TableInfo& t, std::int64_t lo, std::int64_t hi, const Dot& dot, std::string_view meta) {
  auto& st = s.db.cached("INSERT INTO parley_ranges(tbl, lo, hi, site, seq, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, t.id).bind(2, lo).bind(3, hi).bind(4, siteIndex(s, dot.site)).bind(5, static_cast<std::int64_t>(dot.seq));
  st.bindBlob(6, meta);
  st.run();
}

}  // namespace

void overlapping(SiteState& s, const TableInfo& t, std::int64_t lo, std::int64_t hi, std::vector<Range>& out) {
  out.clear();
  // The range starting at or before `lo` (it may cover it), then every one starting up to `hi`.
  auto& st = s.db.cached(
      "SELECT lo, hi, meta FROM parley_ranges WHERE tbl = ?1 AND lo <= ?3 AND lo >= "
      "coalesce((SELECT max(lo) FROM parley_ranges WHERE tbl = ?1 AND lo <= ?2), ?2) ORDER BY lo");
  st.bind(1, t.id).bind(2, lo).bind(3, hi);
  while (st.step()) {
    if (st.int64(1) < lo) continue;
    out.push_back({st.int64(0), st.int64(1), std::string(st.blob(2))});
  }
  st.reset();
}

std::optional<std::string> covering(SiteState& s, const TableInfo& t, std::int64_t rowid) {
  auto& st = s.db.cached("SELECT hi, meta FROM parley_ranges WHERE tbl = ?1 AND lo <= ?2 ORDER BY lo DESC LIMIT 1");
  st.bind(1, t.id).bind(2, rowid);
  std::optional<std::string> out;
  if (st.step() && st.int64(0) >= rowid) out.emplace(st.blob(1));
  st.reset();
  return out;
}

std::optional<std::int64_t> maxCovered(SiteState& s, const TableInfo& t) {
  auto& st = s.db.cached("SELECT hi FROM parley_ranges WHERE tbl = ?1 ORDER BY lo DESC LIMIT 1");
  st.bind(1, t.id);
  std::optional<std::int64_t> out;
  if (st.step()) out = st.int64(0);
  st.reset();
  return out;
}

void dropOf(SiteState& s, const Dot& dot) {
  auto& st = s.db.cached("DELETE FROM parley_ranges WHERE site = ?1 AND seq = ?2");
  st.bind(1, siteIndex(s, dot.site)).bind(2, static_cast<std::int64_t>(dot.seq));
  st.run();
}

void Cover::load(SiteState& s, const TableInfo& t, std::int64_t lo, std::int64_t hi) {
  overlapping(s, t, lo, hi, ranges_);
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
    for (const Range& r : overlap) {
      // The rowids are distinct: the range's are all touched iff lo and hi are, hi - lo places apart.
      auto at = std::lower_bound(ids.begin(), ids.end(), r.lo);
      auto span = static_cast<std::uint64_t>(r.hi) - static_cast<std::uint64_t>(r.lo);
      if (at == ids.end() || *at != r.lo || static_cast<std::uint64_t>(ids.end() - at) <= span ||
          at[static_cast<std::ptrdiff_t>(span)] != r.hi)
        continue;
      candidates_.push_back({k.table, r.lo, r.hi, std::nullopt, std::vector<bool>(span + 1), false});
    }
  }
}

Rewrites::Candidate* Rewrites::find(const TouchedRow& row) {
  auto holds = [&](const Candidate& c) { return c.table == row.table && c.lo <= row.rowid && row.rowid <= c.hi; };
  if (candidates_.empty()) return nullptr;
  if (holds(candidates_[last_])) return &candidates_[last_];
  // The first candidate after the row, in (table id, lo) order; the one before it may hold it.
  auto after = std::upper_bound(candidates_.begin(), candidates_.end(), row, [](const TouchedRow& r, const Candidate& c) {
    return r.table->id != c.table->id ? r.table->id < c.table->id : r.rowid < c.lo;
  });
  if (after == candidates_.begin() || !holds(*(after - 1))) return nullptr;
  last_ = static_cast<std::size_t>(after - 1 - candidates_.begin());
  return &candidates_[last_];
}

bool Rewrites::leave(const TouchedRow& row, std::optional<std::string_view> meta, std::vector<Runs::Row>& perRow) {
  Candidate* c = find(row);
  if (!c || c->failed) return false;
  if (meta && (!c->meta || *c->meta == *meta)) {
    if (!c->meta) c->meta.emplace(*meta);
    c->left[static_cast<std::size_t>(row.rowid - c->lo)] = true;
    return true;
  }
  c->failed = true;
  if (c->meta)
    for (std::size_t i = 0; i < c->left.size(); ++i)
      if (c->left[i]) perRow.push_back({c->table, c->lo + static_cast<std::int64_t>(i), *c->meta});
  c->left = {};
  return false;
}

void Rewrites::finish(SiteState& s) {
  for (const Candidate& c : candidates_) {
    if (c.failed || !c.meta) continue;
    auto& st = s.db.cached("UPDATE parley_ranges SET meta = ?3 WHERE tbl = ?1 AND lo = ?2");
    st.bind(1, c.table->id).bind(2, c.lo);
    st.bindBlob(3, *c.meta);
    st.run();
  }
  candidates_.clear();
}

}  // namespace parley::ranges
