#include "row_batch.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace parley::store {
namespace {

// SQLite allows 32766 parameters per statement (3.32+); keep well under it.
constexpr int kMaxParams = 30000;

std::string params(int first, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += fmt::format("{}?{}", i ? ", " : "", first + i);
  return out;
}

// "(?1, ?2), (?3, ?4), ..." : `rows` tuples of `width` parameters.
std::string tuples(int rows, int width) {
  std::string out;
  for (int r = 0; r < rows; ++r) out += fmt::format("{}({})", r ? ", " : "", params(r * width + 1, width));
  return out;
}

template <class T>
std::vector<const T*> byKey(std::span<const T> rows) {
  std::vector<const T*> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(&r);
  std::sort(out.begin(), out.end(), [](const T* a, const T* b) { return a->key < b->key; });
  return out;
}

}  // namespace

void prepareBatchSql(TableInfo& t) {
  std::string meta = fmt::format("\"parley_rows_{}\"", t.id);
  std::string name = sql::quoteIdent(t.name);
  std::string key = sql::quoteIdent(t.columns[t.pk[0]]);
  int nonKey = static_cast<int>(t.columns.size()) - 1;
  t.batchRows = std::max(1, std::min(kBatchRows, kMaxParams / (nonKey + 1)));
  std::string cols;
  for (const auto& c : t.columns) cols += ", parley_r." + sql::quoteIdent(c);
  t.stateSelectMany = fmt::format(
      "SELECT parley_m.pk, parley_m.meta, parley_r.{} IS NOT NULL{} FROM {} AS parley_m LEFT JOIN {} AS parley_r "
      "ON parley_r.{} = parley_m.pk WHERE parley_m.pk IN ({})",
      key, cols, meta, name, key, params(1, t.batchRows));
  t.metaWriteMany = fmt::format(
      "INSERT OR REPLACE INTO {}(pk, meta) SELECT column1, column2 FROM (VALUES {}) WHERE column1 IS NOT NULL", meta,
      tuples(t.batchRows, 2));
  // An upsert whose insert branch never runs (the rows exist): unlike UPDATE ... FROM VALUES,
  // which SQLite materializes, it streams the tuples and seeks each key once.
  std::string names = key, picks = "column1", sets;
  int n = 0;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i]) continue;
    std::string column = sql::quoteIdent(t.columns[i]);
    names += ", " + column;
    picks += fmt::format(", column{}", n + 2);
    sets += fmt::format("{}{} = excluded.{}", n ? ", " : "", column, column);
    ++n;
  }
  t.updateMany = n ? fmt::format("INSERT INTO {}({}) SELECT {} FROM (VALUES {}) WHERE column1 IS NOT NULL "
                                 "ON CONFLICT({}) DO UPDATE SET {}",
                                 name, names, picks, tuples(t.batchRows, n + 1), key, sets)
                   : "";
}

std::vector<StoredRow> readStoredMany(SiteState& s, const TableInfo& t, std::span<const std::int64_t> keys) {
  std::vector<StoredRow> out(keys.size());
  for (std::size_t first = 0; first < keys.size(); first += static_cast<std::size_t>(t.batchRows)) {
    std::size_t n = std::min(keys.size() - first, static_cast<std::size_t>(t.batchRows));
    auto& st = s.db.cached(t.stateSelectMany);
    for (std::size_t i = 0; i < n; ++i) st.bind(static_cast<int>(i) + 1, keys[first + i]);
    while (st.step()) {
      std::int64_t key = st.int64(0);
      for (std::size_t i = first; i < first + n; ++i) {
        if (keys[i] != key) continue;
        StoredRow& row = out[i];
        row.meta = std::string(st.blob(1));
        if (st.int64(2) == 0) break;
        row.values.emplace();
        row.values->reserve(t.columns.size());
        for (std::size_t c = 0; c < t.columns.size(); ++c) row.values->push_back(st.value(static_cast<int>(c) + 3));
        break;
      }
    }
  }
  return out;
}

void updateMany(SiteState& s, const TableInfo& t, std::span<const RowUpdate> rows) {
  if (t.updateMany.empty() || rows.empty()) return;
  auto sorted = byKey(rows);
  int width = static_cast<int>(t.columns.size());  // the key, then every non-key column
  for (std::size_t first = 0; first < sorted.size(); first += static_cast<std::size_t>(t.batchRows)) {
    std::size_t n = std::min(sorted.size() - first, static_cast<std::size_t>(t.batchRows));
    auto& st = s.db.cached(t.updateMany);
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

void writeMetaMany(SiteState& s, const TableInfo& t, std::span<const MetaWrite> rows) {
  auto sorted = byKey(rows);
  for (std::size_t first = 0; first < sorted.size(); first += static_cast<std::size_t>(t.batchRows)) {
    std::size_t n = std::min(sorted.size() - first, static_cast<std::size_t>(t.batchRows));
    auto& st = s.db.cached(t.metaWriteMany);
    for (std::size_t i = 0; i < n; ++i) {
      st.bind(static_cast<int>(i) * 2 + 1, sorted[first + i]->key);
      st.bindBlob(static_cast<int>(i) * 2 + 2, sorted[first + i]->blob);
    }
    st.run();
  }
}

}  // namespace parley::store
