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

}  // namespace parley::ranges
