#include "row_batch.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "insert_ranges.hpp"

namespace parley::store {
namespace {

template <class T>
std::vector<const T*> byKey(std::span<const T> rows) {
  std::vector<const T*> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(&r);
  std::sort(out.begin(), out.end(), [](const T* a, const T* b) { return a->key < b->key; });
  return out;
}

}  // namespace

namespace {

// The statements for the next chunk of `left` rows: the largest that `left` fills, else the
// smallest (padded).
const TableInfo::BatchSql& batchFor(const TableInfo& t, std::size_t left) {
  for (const auto& b : t.batches)
    if (static_cast<std::size_t>(b.rows) <= left) return b;
  return t.batches.back();
}

// Keys sorted, and where each came from.
struct SortedKeys {
  std::vector<std::int64_t> keys;
  std::vector<std::size_t> from;
};

SortedKeys sortKeys(std::span<const std::int64_t> keys) {
  std::vector<std::size_t> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  SortedKeys out{{}, std::move(order)};
  out.keys.reserve(keys.size());
  for (auto i : out.from) out.keys.push_back(keys[i]);
  return out;
}

}  // namespace

std::size_t denseRun(std::span<const std::int64_t> keys, std::size_t first) {
  std::size_t last = first;
  while (last + 1 < keys.size()) {
    auto span = static_cast<std::uint64_t>(keys[last + 1]) - static_cast<std::uint64_t>(keys[first]);
    if (span >= 2 * (last + 2 - first)) break;
    ++last;
  }
  return last + 1 - first;
}

namespace {

// Steps `st` (rows in key order, the key in column 0) and calls visit(row) with the StoredRow
// of each of the sorted keys [first, first + n) it returns.
template <class Visit>
void merge(sql::Stmt& st, const SortedKeys& sorted, std::size_t first, std::size_t n,
           std::span<StoredRow* const> out, Visit&& visit) {
  std::size_t i = first, end = first + n;
  while (st.step()) {
    std::int64_t key = st.int64(0);
    while (i < end && sorted.keys[i] < key) ++i;
    if (i == end) break;
    if (sorted.keys[i] == key) visit(*out[sorted.from[i]]);
  }
  st.reset();
}

// Fills out[] for sorted keys [first, first + n) from a stateSelect or stateRange statement.
void collect(sql::Stmt& st, const TableInfo& t, const SortedKeys& sorted, std::size_t first, std::size_t n,
             std::span<StoredRow* const> out) {
  merge(st, sorted, first, n, out, [&](StoredRow& row) {
    row.hasMeta = true;
    row.meta.assign(st.blob(1));
    if (st.int64(2) == 0) return;
    row.hasValues = true;
    readValues(st, 3, t.columns.size(), row.values);
  });
}

// Rows without a metadata row of their own: from the insert ranges covering them, if any, and
// their stored values, a dense run of them with one range scan.
void readCoveredMany(Rows rows, const TableInfo& t, const SortedKeys& sorted, std::span<StoredRow* const> out) {
  SortedKeys covered;  // of those without metadata, the ones a range covers
  ranges::Cover cover;
  bool loaded = false;
  for (std::size_t i = 0; i < sorted.keys.size(); ++i) {
    StoredRow& row = *out[sorted.from[i]];
    if (row.hasMeta) continue;
    if (!loaded) {
      cover.load(rows, t, sorted.keys[i], sorted.keys.back());
      loaded = true;
    }
    const ranges::Range* range = cover.find(sorted.keys[i]);
    if (!range) continue;
    row.hasMeta = row.inRange = true;
    row.meta.assign(range->meta);
    covered.keys.push_back(sorted.keys[i]);
    covered.from.push_back(sorted.from[i]);
  }
  Row pk(1);
  for (std::size_t first = 0; first < covered.keys.size();) {
    std::size_t n = denseRun(covered.keys, first);
    if (n < kMinRange) {
      pk[0] = Value::integer(covered.keys[first]);
      readRowInto(rows, t, pk, *out[covered.from[first]]);
      ++first;
      continue;
    }
    auto& st = rows.db.cached(t.valuesRange);
    st.bind(1, covered.keys[first]).bind(2, covered.keys[first + n - 1]);
    merge(st, covered, first, n, out, [&](StoredRow& row) {
      row.hasValues = true;
      readValues(st, 1, t.columns.size(), row.values);
    });
    first += n;
  }
}

}  // namespace

void readStoredMany(Rows rows, const TableInfo& t, std::span<const std::int64_t> keys,
                    std::span<StoredRow* const> out) {
  for (StoredRow* row : out) row->hasMeta = row->hasValues = row->inRange = false;
  SortedKeys sorted = sortKeys(keys);
  for (std::size_t first = 0; first < sorted.keys.size();) {
    std::size_t n = denseRun(sorted.keys, first);
    if (n >= kMinRange) {
      auto& st = rows.db.cached(t.stateRange);
      st.bind(1, sorted.keys[first]).bind(2, sorted.keys[first + n - 1]);
      collect(st, t, sorted, first, n, out);
    } else {
      const auto& batch = batchFor(t, sorted.keys.size() - first);
      n = std::min(sorted.keys.size() - first, static_cast<std::size_t>(batch.rows));
      auto& st = rows.db.cached(batch.stateSelect);
      for (std::size_t i = 0; i < n; ++i) st.bind(static_cast<int>(i) + 1, sorted.keys[first + i]);
      collect(st, t, sorted, first, n, out);
    }
    first += n;
  }
  readCoveredMany(rows, t, sorted, out);
}

void updateMany(Rows to, const TableInfo& t, std::span<const RowUpdate> rows) {
  if (t.batches.front().update.empty()) return;  // every column is a key column
  auto sorted = byKey(rows);
  int width = static_cast<int>(t.columns.size());  // the key, then every non-key column
  for (std::size_t first = 0, n = 0; first < sorted.size(); first += n) {
    const auto& batch = batchFor(t, sorted.size() - first);
    n = std::min(sorted.size() - first, static_cast<std::size_t>(batch.rows));
    auto& st = to.db.cached(batch.update);
    for (std::size_t i = 0; i < n; ++i) {
      const RowUpdate& r = *sorted[first + i];
      int p = static_cast<int>(i) * width + 1;
      st.bind(p, r.key);
      for (std::size_t c = 0; c < t.columns.size(); ++c)
        if (!t.isKey[c]) st.bind(++p, (*r.values)[c]);
    }
    st.run();
  }
}

void writeMetaMany(Rows to, const TableInfo& t, std::span<const MetaWrite> rows) {
  auto sorted = byKey(rows);
  for (std::size_t first = 0, n = 0; first < sorted.size(); first += n) {
    const auto& batch = batchFor(t, sorted.size() - first);
    n = std::min(sorted.size() - first, static_cast<std::size_t>(batch.rows));
    auto& st = to.db.cached(batch.metaWrite);
    for (std::size_t i = 0; i < n; ++i) {
      st.bind(static_cast<int>(i) * 2 + 1, sorted[first + i]->key);
      st.bindBlobUncopied(static_cast<int>(i) * 2 + 2, sorted[first + i]->blob);
    }
    st.run();
  }
}

}  // namespace parley::store
