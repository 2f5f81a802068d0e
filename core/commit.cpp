#include "commit.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "fold.hpp"
#include "store.hpp"
#include "parley/txn_codec.hpp"

namespace parley {
namespace {

struct PendingRow {
  const TouchedRow* touched;
  std::optional<std::string> metaBlob;
  std::optional<RowMeta> meta;
  RowChange change;
};

Dots cellBase(const std::optional<RowMeta>& meta, std::size_t column) {
  if (!meta || !meta->cells[column]) return {};
  return meta->cells[column]->dots;
}

// What the transaction did to one row, or nullopt if nothing.
std::optional<RowChange> diffRow(const TableInfo& t, const TouchedRow& row, const std::optional<Row>& after,
                                 const std::optional<RowMeta>& meta) {
  const auto& before = row.before;
  if (!before && !after) return std::nullopt;
  RowChange c;
  c.table = t.name;
  c.pk = row.pk;
  c.op = !before ? RowOp::kInsert : !after ? RowOp::kDelete : RowOp::kUpdate;
  if (meta) c.rowBase = meta->existence.dots;
  for (std::uint32_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i]) continue;
    Value oldValue = before ? (*before)[i] : Value::null();
    Value newValue = after ? (*after)[i] : Value::null();
    if (c.op == RowOp::kUpdate && oldValue == newValue) continue;
    c.columns.push_back({i, std::move(oldValue), std::move(newValue), cellBase(meta, i)});
  }
  if (c.op == RowOp::kUpdate && c.columns.empty()) return std::nullopt;
  return c;
}

// PARLEY_CHECK_CAPTURE=1 (a debugging aid for the capture's after-images): re-read every
// row anyway and fail the commit if the hook's image differs from the stored row.
bool checkingCapture() {
  const char* v = std::getenv("PARLEY_CHECK_CAPTURE");
  return v && *v && *v != '0';
}

// The row as the transaction leaves it: the hook's after-image when it can be trusted.
std::optional<Row> afterImage(SiteState& s, TouchedRow& row, bool stale, bool check) {
  if (stale || !row.afterKnown) return store::readRow(s, *row.table, row.pk);
  if (check && store::readRow(s, *row.table, row.pk) != row.after)
    throw Error(Status::corruption(fmt::format("capture: after-image of a row of \"{}\" differs from the stored row",
                                               row.table->name)));
  return std::move(row.after);
}

}  // namespace

std::optional<Transaction> commitLocal(SiteState& s, TouchedRows touched, bool recordUndo) {
  std::vector<PendingRow> pending;
  pending.reserve(touched.rows.size());
  bool check = checkingCapture();
  for (auto& row : touched.rows) {
    auto after = afterImage(s, row, touched.afterStale, check);
    auto blob = store::readMetaBlob(s, *row.table, row.key);
    std::optional<RowMeta> meta;
    if (blob) meta = decodeRowMeta(*blob, s.sites, row.table->columns.size());
    auto change = diffRow(*row.table, row, after, meta);
    if (change) pending.push_back({&row, std::move(blob), std::move(meta), std::move(*change)});
  }
  if (pending.empty()) return std::nullopt;

  Transaction txn;
  txn.dot = {s.id, s.vector.get(s.id) + 1};
  txn.context = s.vector;
  txn.hlc = s.hlc.now();
  std::vector<store::UndoEntry> undo;
  for (auto& p : pending) {
    const TableInfo& t = *p.touched->table;
    // Every local write supersedes what it read, so the fold only produces the new metadata.
    FoldStep step = foldRow(t, {p.meta, p.touched->before}, p.change, txn);
    store::writeMeta(s, t, p.touched->key, step.meta, p.metaBlob.has_value());
    if (recordUndo) undo.push_back({t.id, p.touched->key, std::move(p.metaBlob), p.touched->before});
    txn.rows.push_back(std::move(p.change));
  }
  store::appendLog(s, txn, encodeTransaction(txn), false);
  if (recordUndo) store::saveUndo(s, txn.dot, undo);
  s.frontier = txn.stamp();
  return txn;
}

}  // namespace parley
