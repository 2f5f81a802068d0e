#include "touched_meta.hpp"

#include <algorithm>

#include "codec.hpp"
#include "insert_ranges.hpp"
#include "store.hpp"

namespace parley {
namespace {

// A range scan reads every row with metadata in the range; worth it when the touched keys
// fill at least a quarter of it and there are enough of them to amortise the statement.
constexpr std::size_t kScanMinRows = 32;
constexpr std::uint64_t kScanMaxSpread = 4;

bool worthScanning(std::int64_t lo, std::int64_t hi, std::size_t count) {
  if (count < kScanMinRows) return false;
  auto width = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);  // hi >= lo
  return width / kScanMaxSpread < count;
}

}  // namespace

std::optional<std::int64_t> MetaBounds::maxRowid(SiteState& s, const TableInfo& t) {
  auto k = std::find_if(known_.begin(), known_.end(), [&](const auto& x) { return x.first == &t; });
  if (k == known_.end()) k = known_.insert(known_.end(), {&t, store::maxMetaRowid(s, t)});
  return k->second;
}

TouchedMeta::TouchedMeta(SiteState& s, const Chunked<TouchedRow>& rows, std::size_t begin, std::size_t end,
                         MetaBounds& bounds)
    : rows_(rows), begin_(begin), spans_(end - begin) {
  // Group the rows of rowid-keyed tables by table (a commit touches few tables).
  std::vector<std::pair<const TableInfo*, std::vector<Keyed>>> groups;
  std::vector<Keyed> others;
  for (std::size_t i = begin; i < end; ++i) {
    const TouchedRow& r = rows[i];
    if (!r.rowidKey()) {
      others.push_back({0, i});
      continue;
    }
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.first == r.table; });
    if (g == groups.end()) g = groups.insert(groups.end(), {r.table, {}});
    g->second.push_back({r.rowid, i});
  }
  for (auto& [table, keys] : groups) readRowidTable(s, *table, std::move(keys), bounds);
  readOneByOne(s, rows, others);
}

std::optional<std::string_view> TouchedMeta::blob(std::size_t i) const {
  const Span& sp = spans_[i - begin_];
  if (!sp.found) return std::nullopt;
  return std::string_view(arena_).substr(sp.offset, sp.size);
}

bool TouchedMeta::inRange(std::size_t i) const { return spans_[i - begin_].inRange; }

void TouchedMeta::keep(std::size_t row, std::string_view blob, bool inRange) {
  spans_[row - begin_] = {arena_.size(), static_cast<std::uint32_t>(blob.size()), true, inRange};
  arena_.append(blob);
}

void TouchedMeta::readRowidTable(SiteState& s, const TableInfo& t, std::vector<Keyed> keys, MetaBounds& bounds) {
  // A few keys are looked up at once: asking for the greatest rowid first would cost as much.
  if (keys.size() < kScanMinRows) return readOneByOne(s, rows_, keys);
  auto max = bounds.maxRowid(s, t);
  if (!max) return;
  std::erase_if(keys, [&](const Keyed& k) { return k.key > *max; });
  if (keys.empty()) return;
  auto byKey = [](const Keyed& a, const Keyed& b) { return a.key < b.key; };
  if (!std::is_sorted(keys.begin(), keys.end(), byKey)) std::sort(keys.begin(), keys.end(), byKey);
  if (!worthScanning(keys.front().key, keys.back().key, keys.size())) return readOneByOne(s, rows_, keys);
  arena_.reserve(arena_.size() + keys.size() * 48);  // about one small blob per key
  auto next = keys.begin();
  store::scanMetaBlobs(s, t, keys.front().key, keys.back().key, [&](std::int64_t rowid, std::string_view blob) {
    while (next != keys.end() && next->key < rowid) ++next;
    if (next != keys.end() && next->key == rowid) keep(next->row, blob, false);
  });
  readCovered(s, t, keys);
}

void TouchedMeta::readCovered(SiteState& s, const TableInfo& t, const std::vector<Keyed>& keys) {
  auto missing = [&](const Keyed& k) { return !spans_[k.row - begin_].found; };
  auto first = std::find_if(keys.begin(), keys.end(), missing);
  if (first == keys.end()) return;
  auto last = std::find_if(keys.rbegin(), keys.rend(), missing);
  ranges::Cover cover;
  cover.load(s, t, first->key, last->key);
  const ranges::Range* kept = nullptr;  // the rows of one range share one copy of its blob
  Span keptSpan;
  for (auto k = first; k != last.base(); ++k) {
    if (!missing(*k)) continue;
    const ranges::Range* range = cover.find(k->key);
    if (!range) continue;
    if (range != kept) {
      keep(k->row, range->meta, true);
      kept = range;
      keptSpan = spans_[k->row - begin_];
    }
    spans_[k->row - begin_] = keptSpan;
  }
}

void TouchedMeta::readOneByOne(SiteState& s, const Chunked<TouchedRow>& rows, const std::vector<Keyed>& keys) {
  for (const Keyed& k : keys) {
    const TouchedRow& r = rows[k.row];
    bool inRange = false;
    if (auto blob = store::readMetaBlob(s, *r.table, r.encodedKey(), &inRange)) keep(k.row, *blob, inRange);
  }
}

}  // namespace parley
