#include "commit.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "causal_context.hpp"
#include "column_ids.hpp"
#include "codec.hpp"
#include "fold.hpp"
#include "insert_ranges.hpp"
#include "local_checks.hpp"
#include "local_meta.hpp"
#include "meta_batch.hpp"
#include "row_batch.hpp"
#include "store.hpp"
#include "undo.hpp"
#include "touched_meta.hpp"
#include "txn_encoder.hpp"
#include "parley/assert.hpp"
#include "parley/txn_codec.hpp"

namespace parley {
namespace {

// A touched row the transaction changed, with its images and its stored metadata.
struct PendingRow {
  const TouchedRow* touched;
  const Row* before;  // nullptr: absent when the transaction began
  std::optional<std::string_view> metaBlob;
  bool inRange = false;  // metaBlob is an insert range's: the row has no metadata row of its own

  std::optional<Row> beforeCopy() const { return before ? std::optional<Row>(*before) : std::nullopt; }
};

// What the transaction did to one row, into `c` (reused from row to row: its vectors keep
// their storage); false if nothing. Bases not yet filled. Moves the after-image's values out
// of `after`.
bool diffRow(const TableInfo& t, const TouchedRow& row, const Row* before, Row* after, RowChange& c) {
  if (!before && !after) return false;
  RowOp op = !before ? RowOp::kInsert : !after ? RowOp::kDelete : RowOp::kUpdate;
  std::size_t changed = 0;
  for (std::uint32_t i = 0; i < t.columns.size(); ++i)
    changed += !t.isKey[i] && (op != RowOp::kUpdate || !((*before)[i] == (*after)[i]));
  if (changed == 0 && op == RowOp::kUpdate) return false;
  c.table = t.name;
  if (row.rowidKey()) {
    c.pk.resize(1);
    c.pk[0] = Value::integer(row.rowid);
  } else {
    c.pk = row.keyRow();
  }
  c.op = op;
  c.columns.resize(changed);
  auto w = c.columns.begin();
  for (std::uint32_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i] || (op == RowOp::kUpdate && (*before)[i] == (*after)[i])) continue;
    w->column = i;
    w->oldValue = before ? (*before)[i] : Value();
    w->newValue = after ? std::move((*after)[i]) : Value();
    w->base.clear();
    ++w;
  }
  c.rowBase.clear();
  return true;
}

// The bases of a change: the dots of the row's and each written cell's version it read.
void fillBases(RowChange& c, const std::optional<RowMeta>& meta) {
  c.rowBase = meta ? meta->existence.dots : Dots{};
  for (auto& w : c.columns)
    w.base = meta && meta->cells[w.column] ? meta->cells[w.column]->dots : Dots{};
}

// The general path: decode, fold, encode. Fills the change's bases. `checks`, if given,
// checks the writes of columns whose strategy asks to (throws if one refuses).
std::string foldGeneral(CaptureState& s, const TableInfo& t, const PendingRow& p, RowChange& change,
                        const Transaction& txn, LocalChecks* checks) {
  std::optional<RowMeta> meta;
  if (p.metaBlob) meta = decodeRowMeta(*p.metaBlob, s.sites, t.columns.size());
  fillBases(change, meta);
  // Every local write supersedes what it read, so the fold only produces the new metadata.
  FoldStep step = foldRow(t, {std::move(meta), p.beforeCopy()}, change, txn, txn.context);
  if (checks && t.checksLocalWrites) checks->check(t, change, step.meta, step.values);
  return encodeRowMeta(step.meta, s.db, s.sites);
}

// Rows of rowid tables whose after-images the commit reads from the table (a fresh insert's,
// or every row's when the hook's are stale), read a dense run of them with one range scan.
class StoredAfters {
 public:
  // Reads those of rows [begin, end) that lie in dense runs (store::denseRun) of at least
  // store::kMinRange rowids; the others are left to afterImage's point query.
  void load(CaptureState& s, const TouchedRows& touched, std::size_t begin, std::size_t end) {
    begin_ = begin;
    state_.assign(end - begin, kNotRead);
    values_.resize(end - begin);
    wanted_.clear();
    for (std::size_t i = begin; i < end; ++i) {
      const TouchedRow& row = touched.rows[i];
      if ((touched.afterStale || !row.afterKnown) && row.rowidKey()) wanted_.push_back({row.table, row.rowid, i});
    }
    std::sort(wanted_.begin(), wanted_.end(), [](const Wanted& a, const Wanted& b) {
      return a.table != b.table ? a.table->id < b.table->id : a.rowid < b.rowid;
    });
    keys_.clear();
    for (const auto& w : wanted_) keys_.push_back(w.rowid);
    for (std::size_t group = 0, next = 0; group < wanted_.size(); group = next) {  // one table's rows
      while (next < wanted_.size() && wanted_[next].table == wanted_[group].table) ++next;
      std::span<const std::int64_t> keys(keys_.data() + group, next - group);
      for (std::size_t first = 0, n = 0; first < keys.size(); first += n) {
        n = store::denseRun(keys, first);
        if (n >= store::kMinRange) scan(s, group + first, n);
      }
    }
  }
  // Row i as stored: kNotRead if load() left it, else present (into `out`) or absent.
  enum State : std::uint8_t { kNotRead, kAbsent, kPresent };
  State take(std::size_t i, Row& out) {
    State st = state_.empty() ? kNotRead : state_[i - begin_];
    if (st == kPresent) std::swap(out, values_[i - begin_]);
    return st;
  }

 private:
  struct Wanted {
    const TableInfo* table;
    std::int64_t rowid;
    std::size_t index;
  };

  void scan(CaptureState& s, std::size_t first, std::size_t n) {
    const TableInfo& t = *wanted_[first].table;
    auto& st = s.db.cached(t.valuesRange);
    st.bind(1, wanted_[first].rowid).bind(2, wanted_[first + n - 1].rowid);
    std::size_t i = first, end = first + n;
    for (std::size_t k = first; k < end; ++k) state_[wanted_[k].index - begin_] = kAbsent;
    while (i < end && st.step()) {
      std::int64_t rowid = st.int64(0);
      while (i < end && wanted_[i].rowid < rowid) ++i;
      if (i == end || wanted_[i].rowid != rowid) continue;
      std::size_t at = wanted_[i].index - begin_;
      state_[at] = kPresent;
      store::readValues(st, 1, t.columns.size(), values_[at]);
    }
    st.reset();
  }

  std::size_t begin_ = 0;
  std::vector<State> state_;  // of rows [begin_, begin_ + size)
  std::vector<Row> values_;
  std::vector<Wanted> wanted_;    // sorted by table, then rowid
  std::vector<std::int64_t> keys_;  // their rowids
};

// The row as the transaction leaves it, in `scratch`: the hook's after-image when it can be
// trusted. nullptr: absent.
Row* afterImage(CaptureState& s, const TouchedRow& row, bool stale, bool check, Row& scratch,
                StoredAfters::State read) {
  if (read == StoredAfters::kPresent) return &scratch;
  if (read == StoredAfters::kAbsent) return nullptr;
  if (stale || !row.afterKnown) {
    auto stored = store::readRow(s, *row.table, row.keyRow());
    if (!stored) return nullptr;
    scratch = std::move(*stored);
    return &scratch;
  }
  if (!row.after.present()) {
    if (check)
      PARLEY_ASSERT(!store::readRow(s, *row.table, row.keyRow()),
                    fmt::format("capture: a row of \"{}\" the capture saw deleted is stored", row.table->name));
    return nullptr;
  }
  row.decode(row.after, scratch);
  if (check)
    PARLEY_ASSERT(store::readRow(s, *row.table, row.keyRow()) == scratch,
                  fmt::format("capture: after-image of a row of \"{}\" differs from the stored row", row.table->name));
  return &scratch;
}

bool sameBases(const RowChange& a, const RowChange& b) {
  if (a.rowBase != b.rowBase || a.columns.size() != b.columns.size()) return false;
  for (std::size_t i = 0; i < a.columns.size(); ++i)
    if (a.columns[i].base != b.columns[i].base) return false;
  return true;
}

void checkFastPath(CaptureState& s, const TableInfo& t, const PendingRow& p, const RowChange& change,
                   std::string_view meta, const Transaction& txn) {
  RowChange general = change;
  PARLEY_ASSERT(foldGeneral(s, t, p, general, txn, nullptr) == meta && sameBases(general, change),
                fmt::format("commit: the fast metadata path differs from the general fold for a row of \"{}\"", t.name));
}

// SiteOptions::checkCapture: the body encoded row by row must be the bytes encodeTransaction gives
// for the whole transaction, and must survive a decode and re-encode unchanged.
void checkBody(const Transaction& header, std::vector<RowChange> rows, const std::string& body) {
  Transaction whole = header;
  whole.rows = std::move(rows);
  auto decoded = decodeTransaction(body);
  PARLEY_ASSERT(encodeTransaction(whole) == body && decoded && encodeTransaction(*decoded) == body,
                "commit: the log body encoded row by row differs from the whole transaction's");
}

// The new metadata of one pending row, from the fast path when it applies. Fills its bases.
// Rows of tables whose strategies check local writes always go the general way, checked.
std::string_view newMeta(CaptureState& s, LocalMeta& local, LocalChecks& checks, const PendingRow& p, RowChange& change,
                         const Transaction& txn, std::string& scratch, bool check) {
  const TableInfo& t = *p.touched->table;
  std::string_view out;
  if (t.checksLocalWrites) return scratch = foldGeneral(s, t, p, change, txn, &checks);
  if (!p.metaBlob && change.op == RowOp::kInsert) out = local.freshInsert(t);
  else if (p.metaBlob && change.op == RowOp::kUpdate && local.update(t, *p.metaBlob, change, scratch))
    out = scratch;
  else return scratch = foldGeneral(s, t, p, change, txn, &checks);
  if (check) checkFastPath(s, t, p, change, out, txn);
  return out;
}

// A commit holds the stored and the new metadata of at most this many rows at a time.
constexpr std::size_t kCommitChunk = 1 << 16;

// Metadata writes of the commit: rowid-keyed tables' in one batch per table, others row by row.
class MetaWrites {
 public:
  explicit MetaWrites(CaptureState& s) : s_(s) {}
  // `stable`: `meta` stays valid until flush(). `existed`: the row has a metadata row of its own.
  void add(const TableInfo& t, const Row& pk, std::string_view meta, bool existed, bool stable) {
    if (!t.integerKey || pk.size() != 1 || pk[0].type() != Value::Type::kInteger)
      return store::writeMetaBlob(s_, t, codec::encodeKey(pk), meta, existed);
    addAt(t, pk[0].asInteger(), meta, existed, stable);
  }
  void addAt(const TableInfo& t, std::int64_t rowid, std::string_view meta, bool existed, bool stable) {
    auto b = std::find_if(batches_.begin(), batches_.end(), [&](const auto& x) { return x.first == &t; });
    if (b == batches_.end()) b = batches_.insert(batches_.end(), {&t, MetaBatch{}});
    b->second.add(rowid, meta, existed, stable);
  }
  // Fresh inserts of short runs (ranges::Runs), written row by row.
  void addFresh(std::vector<ranges::Runs::Row>& rows) {
    for (const auto& r : rows) addAt(*r.table, r.rowid, r.meta, false, true);
    rows.clear();
  }
  void flush() {
    for (auto& [table, batch] : batches_) batch.write(s_, *table);
  }

 private:
  CaptureState& s_;
  std::vector<std::pair<const TableInfo*, MetaBatch>> batches_;
};

// The hash of this site's transaction before `dot`, which `dot` links to; empty for its first
// (or if it had none).
ChainHash chainHead(CaptureState& s, const Dot& dot) {
  if (dot.seq <= 1) return {};
  auto link = store::heldLink(s, {dot.site, dot.seq - 1});
  return link ? link->hash : ChainHash{};
}

std::string keyText(const Row& pk) {
  std::string out;
  for (const auto& v : pk) out += (out.empty() ? "" : ", ") + v.toSqlLiteral();
  return out;
}

// A new local transaction's header: dot, HLC, context (full in `txn`, as encoded in `header`),
// and the link to this site's previous one. Returns whether the context grew.
bool startTransaction(CaptureState& s, Transaction& txn, Transaction& header) {
  txn.dot = {s.id, s.vector.get(s.id) + 1};
  txn.context = s.vector;
  txn.hlc = s.hlc.now();
  auto context = causal::forCommit(s, txn.dot, txn.context);
  header = {txn.dot, txn.hlc, std::move(context.entries), {}, {}, {}};
  txn.prev = header.prev = chainHead(s, txn.dot);
  return context.grew;
}

}  // namespace

Dot commitOperation(CaptureState& s, const TableInfo& t, const Row& pk, std::uint32_t column, const Value& op) {
  std::string key = codec::encodeKey(pk);
  bool inRange = false;
  std::optional<std::string> blob = store::readMetaBlob(s, t, key, &inRange);
  std::optional<Row> values = store::readRow(s, t, pk);
  if (!blob || !values)
    throw Error(Status::notFound(fmt::format("table \"{}\" has no row with key ({})", t.name, keyText(pk))));
  RowMeta meta = decodeRowMeta(*blob, s.sites, t.columns.size());
  Transaction txn, header;
  bool grew = startTransaction(s, txn, header);
  RowChange change{t.name, pk, RowOp::kUpdate, {ColumnWrite{column, (*values)[column], op, {}}}, {}};
  fillBases(change, meta);
  FoldStep step = foldRow(t, {std::move(meta), values}, change, txn, txn.context);
  if (step.rejection) throw Error(Status::invalidArgument(*step.rejection));
  PARLEY_ASSERT(step.values == values, "commit: an operation changed the values of a row");
  LocalChecks(s).check(t, change, step.meta, step.values);
  store::writeMetaBlob(s, t, key, encodeRowMeta(step.meta, s.db, s.sites), !inRange);
  TransactionEncoder body(header, 1);
  toColumnIds(t, change);
  body.add(change);
  std::string bytes = body.finish();
  txn.hash = *chainHashInBody(bytes);
  std::string undo;
  store::undoHeader(undo, 1);
  store::undoEntry(undo, t.id, key, inRange ? std::nullopt : blob, &*values);
  store::holdUndo(s, txn.dot, std::move(undo));  // written with the log row
  store::appendLog(s, txn, bytes, false, store::storedContext(s, txn.dot, txn.context, grew), s.digests.takeDelta());
  s.frontier = txn.stamp();
  return txn.dot;
}

Stamp commitSchema(CaptureState& s, std::vector<RowChange> rows) {
  Transaction txn, header;
  bool grew = startTransaction(s, txn, header);
  TransactionEncoder body(header, rows.size());
  for (const auto& row : rows) body.add(row);
  std::string bytes = body.finish();
  txn.hash = *chainHashInBody(bytes);
  store::appendLog(s, txn, bytes, false, store::storedContext(s, txn.dot, txn.context, grew), s.digests.takeDelta());
  if (s.digests.flushDue()) store::flushDigests(s);  // a dropped column rewrote a table's digest
  s.frontier = txn.stamp();
  return txn.stamp();
}

std::optional<Dot> commitLocal(CaptureState& s, const TouchedRows& touched) {
  bool check = s.checkCapture;
  MetaBounds bounds;
  // Made at the first change: a transaction without rows gets no dot.
  std::optional<Transaction> txn;  // its context full, as the fold needs it
  Transaction header;  // txn without rows, its context as encoded (causal::forCommit)
  bool contextGrew = true;
  std::optional<LocalMeta> local;
  std::optional<TransactionEncoder> body;
  RowChange change;  // each row's in turn, encoded at once
  std::string scratch;
  Row beforeRow, afterRow;  // each row's images in turn, decoded
  MetaWrites writes(s);
  ranges::Runs runs;  // fresh inserts, in runs of consecutive rowids
  ranges::Rewrites rewrites;  // ranges whose rows this commit gives the same metadata
  rewrites.plan(s, touched.rows);
  StoredAfters afters;  // after-images read from the tables, a chunk's at a time
  std::vector<ranges::Runs::Row> fresh;  // those of short runs
  // Its undo record's entries, encoded as they come (the count goes in front at the end). An
  // update's values are the body's to restore (undo.hpp); one whose metadata was not a row of
  // its own needs no entry at all.
  std::string undo, undoKey;
  std::size_t undoEntries = 0;
  bool updates = false;
  std::vector<RowChange> kept;  // under SiteOptions::checkCapture: every change, for checkBody
  LocalChecks checks(s);
  // The rows' metadata is read, and the new written, kCommitChunk rows at a time.
  for (std::size_t begin = 0; begin < touched.rows.size(); begin += kCommitChunk) {
    std::size_t end = std::min(touched.rows.size(), begin + kCommitChunk);
    TouchedMeta stored(s, touched.rows, begin, end, bounds);
    afters.load(s, touched, begin, end);
    for (std::size_t i = begin; i < end; ++i) {
      const TouchedRow& row = touched.rows[i];
      const Row* before = nullptr;
      if (row.before.present()) {
        row.decode(row.before, beforeRow);
        before = &beforeRow;
      }
      Row* after = afterImage(s, row, touched.afterStale, check, afterRow, afters.take(i, afterRow));
      s.digests.change(*row.table, before, after);
      if (!diffRow(*row.table, row, before, after, change)) continue;
      if (!txn) {
        txn.emplace();
        contextGrew = startTransaction(s, *txn, header);
        local.emplace(s, *txn);
        body.emplace(header, touched.rows.size() - i);
      }
      PendingRow p{&row, before, stored.blob(i), stored.inRange(i)};
      std::string_view meta = newMeta(s, *local, checks, p, change, *txn, scratch, check);
      bool sharedMeta = !p.metaBlob && change.op == RowOp::kInsert && row.rowidKey() && !row.table->checksLocalWrites;
      if (sharedMeta) runs.add({row.table, row.rowid, meta}, fresh);
      else if (!rewrites.leave(row, p.inRange, change.op == RowOp::kUpdate ? std::optional(meta) : std::nullopt))
        writes.add(*row.table, change.pk, meta, p.metaBlob && !p.inRange, meta.data() != scratch.data());
      writes.addFresh(fresh);
      std::optional<std::string_view> metaBefore = p.inRange ? std::nullopt : p.metaBlob;
      bool update = change.op == RowOp::kUpdate;
      updates = updates || update;
      if (!update || metaBefore) {
        undoKey.clear();
        codec::appendKey(undoKey, change.pk);
        if (update) store::undoEntryFromBody(undo, row.table->id, undoKey, metaBefore);
        else store::undoEntry(undo, row.table->id, undoKey, metaBefore, p.before);
        ++undoEntries;
      }
      toColumnIds(*row.table, change);
      body->add(change);
      if (check) kept.push_back(change);
    }
    writes.flush();
  }
  if (!txn) return std::nullopt;
  runs.finish(s, txn->dot, fresh);
  rewrites.finish(s, fresh);
  // A range it split comes back whole (an entry without a key: ranges::restore).
  for (const auto& [table, range] : rewrites.replaced()) {
    Row span{Value::integer(range.lo), Value::integer(range.hi)};
    store::undoEntry(undo, table->id, "", std::string_view(range.meta), &span);
    ++undoEntries;
  }
  // Last, so that a re-fold restores the updates' values before the entries above (newest first).
  if (updates) store::undoEntryBodyUpdates(undo), ++undoEntries;
  writes.addFresh(fresh);
  writes.flush();
  std::string bytes = body->finish();
  txn->hash = *chainHashInBody(bytes);
  if (check) checkBody(header, std::move(kept), bytes);
  std::string record;
  record.reserve(undo.size() + codec::RawWriter::kMaxVarint);
  store::undoHeader(record, undoEntries);
  record += undo;
  store::holdUndo(s, txn->dot, std::move(record));  // written with the log row
  store::appendLog(s, *txn, bytes, false, store::storedContext(s, txn->dot, txn->context, contextGrew),
                   s.digests.takeDelta());
  if (s.digests.flushDue()) store::flushDigests(s);
  s.frontier = txn->stamp();
  return txn->dot;
}

}  // namespace parley
