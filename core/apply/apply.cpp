#include "apply.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>

#include "admission.hpp"
#include "causal_context.hpp"
#include "clock_skew.hpp"
#include "column_ids.hpp"
#include "schema_change.hpp"
#include "codec.hpp"
#include "conflict_log.hpp"
#include "fold.hpp"
#include "insert_ranges.hpp"
#include "row_batch.hpp"
#include "store.hpp"
#include "undo.hpp"
#include "parley/assert.hpp"
#include "parley/txn_codec.hpp"

namespace parley {
namespace {

// One row of a transaction being applied: where it was and where the fold takes it. The
// engine keeps its RowWrites from one transaction to the next and reuses their buffers (the
// stored metadata blob and row, the decoded metadata, the values) instead of allocating them
// again for every row.
struct RowWrite {
  const TableInfo* table = nullptr;
  const RowChange* change = nullptr;
  std::string key;
  std::optional<std::int64_t> rowid;  // the key, when it is the table's rowid: batched I/O
  store::StoredRow stored;            // the row's metadata blob and values before, as stored
  bool live = false;                  // the row existed (metadata alive and a stored row)
  Row prior;                          // its values before, when live
  FoldStep step;

  // Its own metadata row before, as an undo record restores it (an insert range stays).
  const std::string* ownMetaBefore() const { return stored.hasMeta && !stored.inRange ? &stored.meta : nullptr; }
  const Row* valuesBefore() const { return live ? &prior : nullptr; }
};

// The row before `w`, as the fold took it: metadata decoded, values if the row is live.
RowState stateBefore(const SiteTable& sites, const RowWrite& w) {
  RowState before;
  if (w.stored.hasMeta) before.meta = decodeRowMeta(w.stored.meta, sites, w.table->columns.size());
  if (w.live) before.values = w.prior;
  return before;
}

// A rejected transaction: each of its writes, the value in place and the value it wanted.
std::vector<ConflictReport> rejectionRecords(const SiteTable& sites, const Transaction& t,
                                             std::span<const RowWrite> writes, const std::string& reason) {
  std::vector<ConflictReport> out;
  for (const auto& w : writes) {
    RowState before = stateBefore(sites, w);  // the fold took its copy apart
    auto current = before.current();
    auto add = [&](std::string column, Value local, const Dots& dots, Stamp stamp, Value wanted) {
      ConflictReport c;
      c.kind = ConflictKind::kRejected;
      c.table = w.table->name;
      c.pk = w.change->pk;
      c.column = std::move(column);
      c.resolver = "reject";
      c.localValue = std::move(local);
      c.localDots = dots;
      c.localStamp = stamp;
      c.remoteValue = wanted;
      c.remoteDot = t.dot;
      c.remoteStamp = t.stamp();
      c.result = c.localValue;
      c.outcome = ConflictOutcome::kRejected;
      c.reason = reason;
      out.push_back(std::move(c));
    };
    const RowMeta* meta = before.meta ? &*before.meta : nullptr;
    if (w.change->op == RowOp::kDelete) {
      add("", Value::null(), meta ? meta->allDots() : Dots{}, meta ? meta->existence.stamp : Stamp{}, Value::null());
      continue;
    }
    for (const auto& cw : w.change->columns) {
      const auto* cell = meta && meta->cells[cw.column] ? &*meta->cells[cw.column] : nullptr;
      add(w.table->columns[cw.column], current ? (*current)[cw.column] : Value::null(), cell ? cell->dots : Dots{},
          cell ? cell->stamp : Stamp{}, cw.newValue);
    }
  }
  return out;
}

class Engine {
 public:
  Engine(ApplyState& s, ApplyResult& result) : s_(s), result_(result), encoder_(s.db, s.sites) {}

  // Folds `t`, whose full causal context is `context`, into the state, keeping its undo record
  // (every transaction has one until compaction, so a re-fold can reach back to any held one,
  // at any site). Returns whether it was rejected. A transaction of more than s_.applyChunkRows rows is read, folded and written a
  // chunk at a time under a savepoint (rows are distinct within a transaction, so no chunk's
  // fold reads another's writes); a rejection met in any chunk rolls all of them back.
  bool applyOne(const Transaction& received, const ContextView& context) {
    if (isSchemaTransaction(received)) {
      std::vector<ConflictReport> conflicts;
      std::vector<SchemaUndo> undo;
      s_.applySchema(received, conflicts, undo);
      report(conflicts);
      store::saveUndoBody(s_, received.dot, encodeSchemaUndo(undo));  // its place among applies, if nothing else
      if (isOrderDependent(received) && (!s_.orderBarrier || *s_.orderBarrier < received.hlc)) {
        store::raiseOrderBarrier(s_, received.hlc);
        s_.orderBarrier = received.hlc;
      }
      return false;
    }
    const Transaction& t = withColumnPositions(s_, received, byPosition_);
    checkFits(s_, t);
    std::size_t n = t.rows.size();
    std::size_t chunk = inChunks(t) ? s_.applyChunkRows : std::max<std::size_t>(n, 1);
    bool chunked = chunk < n;
    undo_.clear();
    store::undoHeader(undo_, n);
    std::optional<Digests::Mark> digestsBefore;
    if (chunked) s_.db.exec("SAVEPOINT parley_chunks"), digestsBefore = s_.digests.mark();
    std::vector<ConflictReport> conflicts;
    for (std::size_t from = 0; from < n || from == 0; from += chunk) {
      std::span<RowWrite> writes = foldAll(t, from, std::min(n, from + chunk), context);
      std::optional<std::string> rejection;
      for (const auto& w : writes)
        if (w.step.rejection && !rejection) rejection = w.step.rejection;
      if (!rejection) rejection = storeGuarded(t, writes);
      if (rejection && !chunked) return reject(t, rejectionRecords(s_.sites, t, writes, *rejection));
      if (rejection) {
        s_.db.exec("ROLLBACK TO parley_chunks; RELEASE parley_chunks");
        s_.digests.restore(std::move(*digestsBefore));
        return reject(t, rejectionRecordsByChunk(t, *rejection, chunk));
      }
      writeMetas(writes);
      for (auto& w : writes)
        for (auto& c : w.step.conflicts) conflicts.push_back(std::move(c));
    }
    if (chunked) s_.db.exec("RELEASE parley_chunks");
    report(conflicts);
    store::saveUndoBody(s_, t.dot, undo_);
    return false;
  }

  // Restores every row `t` changed to what it was before `t` was applied.
  void undo(const Transaction& t) {
    // A schema transaction undoes what its record says (the order-dependent part of it); the
    // rest of it is applied so that its order does not matter: applying it again changes nothing.
    if (isSchemaTransaction(t)) {
      conflict_log::forget(s_, t.dot);
      if (auto body = store::takeUndoBody(s_, t.dot)) s_.undoSchema(t, decodeSchemaUndo(*body));
      return;
    }
    auto entries = store::takeUndo(s_, t.dot);
    conflict_log::forget(s_, t.dot);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (it->key.empty() && !it->values && !it->meta) {  // a local commit's updates (undo.hpp)
        restoreUpdates(t);
        continue;
      }
      if (it->key.empty()) {  // a range a local commit split (commit.cpp)
        ranges::restore(s_, it->table, it->values->at(0).asInteger(), it->values->at(1).asInteger(), *it->meta);
        continue;
      }
      const TableInfo* table = tableById(it->table);
      if (!it->valuesFromBody) {  // else restoreUpdates puts them back
        codec::Reader r(it->key, "undo key");
        Row pk;
        while (!r.done()) pk.push_back(r.value());
        std::optional<Row> now = store::readRow(s_, *table, pk);
        if (it->values) widen(*table, *it->values);
        s_.digests.change(*table, now ? &*now : nullptr, it->values ? &*it->values : nullptr);
        store::writeRow(s_, *table, pk, now, it->values);
      }
      store::deleteMeta(s_, *table, it->key);
      if (it->meta) store::writeMetaBlob(s_, *table, it->key, *it->meta, false);
    }
    // The rows it inserted in bulk, if it was a local commit here or at the site this one was
    // cloned from.
    ranges::dropOf(s_, t.dot);
  }

 private:
  // Puts back the values the updates of a local commit `stored` replaced: each write carries the
  // value it replaced, and undoing newest first finds each row as `stored` left it. Drops their
  // metadata rows: an update whose row had one before has an entry of its own, undone after this.
  void restoreUpdates(const Transaction& stored) {
    std::optional<Transaction> scratch;
    const Transaction& t = withColumnPositions(s_, stored, scratch);
    std::string key;
    for (const RowChange& row : t.rows) {
      if (row.op != RowOp::kUpdate) continue;
      const TableInfo* table = s_.table(row.table);
      if (!table) throw Error(Status::corruption("undo of " + t.dot.toString() + ": table \"" + row.table + "\" is not tracked"));
      std::optional<Row> now = store::readRow(s_, *table, row.pk);
      if (!now) throw Error(Status::corruption("undo of " + t.dot.toString() + ": a row it updated is gone"));
      Row before = *now;
      for (const auto& w : row.columns)
        if (w.column < before.size()) before[w.column] = w.oldValue;
      s_.digests.change(*table, &*now, &before);
      store::writeRow(s_, *table, row.pk, now, before);
      key.clear();
      codec::appendKey(key, row.pk);
      store::deleteMeta(s_, *table, key);
    }
  }

  // An undo record's row from before columns were added: the added ones as they were then,
  // at their defaults.
  static void widen(const TableInfo& table, Row& values) {
    for (std::size_t i = values.size(); i < table.columns.size(); ++i)
      values.push_back(i < table.addedDefaults.size() && table.addedDefaults[i] ? *table.addedDefaults[i] : Value::null());
  }

  // Whether `t` may be applied in chunks: it has more rows than a chunk and none of its
  // tables has constraints its rows may only meet together (storeRows).
  bool inChunks(const Transaction& t) const {
    if (t.rows.size() <= s_.applyChunkRows) return false;
    return std::none_of(t.rows.begin(), t.rows.end(),
                        [&](const RowChange& row) { return s_.table(row.table)->constrained; });
  }

  // Reads rows [from, to) of `t` as stored, into the first to - from row slots.
  std::span<RowWrite> readRows(const Transaction& t, std::size_t from, std::size_t to) {
    std::size_t n = to - from;
    if (writes_.size() < n) writes_.resize(n);
    std::span<RowWrite> writes(writes_.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      RowWrite& w = writes[i];
      const RowChange& row = t.rows[from + i];
      if (w.step.values) w.stored.values = std::move(*w.step.values);  // the last fold's row buffer
      w.table = s_.table(row.table);
      w.change = &row;
      w.key.clear();
      codec::appendKey(w.key, row.pk);
      w.rowid = rowidOf(*w.table, row.pk);
    }
    readAll(writes);
    return writes;
  }

  // Reads rows [from, to) of `t` (rows are distinct within a transaction), then folds each.
  // Appends their entries to the undo record (undo_) from what was read, before the fold takes
  // the values.
  std::span<RowWrite> foldAll(const Transaction& t, std::size_t from, std::size_t to, const ContextView& context) {
    std::span<RowWrite> writes = readRows(t, from, to);
    for (auto& w : writes) {
      RowState before;
      if (w.stored.hasMeta) {
        decodeRowMetaInto(w.stored.meta, s_.sites, w.table->columns.size(), w.step.meta);
        before.meta.emplace(std::move(w.step.meta));
      }
      // Only a live row is stored (a tombstone keeps its values in its metadata).
      w.live = before.meta && before.meta->alive && w.stored.hasValues;
      if (w.live) {
        w.prior = w.stored.values;
        before.values.emplace(std::move(w.stored.values));
      }
      const std::string* meta = w.ownMetaBefore();
      store::undoEntry(undo_, w.table->id, w.key, meta ? std::optional<std::string_view>(*meta) : std::nullopt,
                       w.valuesBefore());
      w.step = foldRow(*w.table, std::move(before), *w.change, t, context);
    }
    return writes;
  }

  // The rejection records of a transaction applied in chunks, once its chunks are rolled
  // back: every row read again as stored, a chunk at a time.
  std::vector<ConflictReport> rejectionRecordsByChunk(const Transaction& t, const std::string& reason,
                                                      std::size_t chunk) {
    std::vector<ConflictReport> out;
    for (std::size_t from = 0; from < t.rows.size(); from += chunk) {
      std::span<RowWrite> writes = readRows(t, from, std::min(t.rows.size(), from + chunk));
      for (auto& w : writes) {
        w.live = w.stored.hasMeta && w.stored.hasValues &&
                 decodeRowMeta(w.stored.meta, s_.sites, w.table->columns.size()).alive;
        if (w.live) w.prior = w.stored.values;
      }
      auto records = rejectionRecords(s_.sites, t, writes, reason);
      std::move(records.begin(), records.end(), std::back_inserter(out));
    }
    return out;
  }

  static std::optional<std::int64_t> rowidOf(const TableInfo& table, const Row& pk) {
    if (!table.integerKey || pk.size() != 1 || pk[0].type() != Value::Type::kInteger) return std::nullopt;
    return pk[0].asInteger();
  }

  // Rows of one table, for batched I/O.
  using Groups = std::vector<std::pair<const TableInfo*, std::vector<RowWrite*>>>;

  // The writes `batched` accepts, grouped by table (in order of first appearance).
  template <class F>
  static Groups byTable(std::span<RowWrite> writes, F&& batched) {
    Groups out;
    for (auto& w : writes) {
      if (!batched(w)) continue;
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == w.table; });
      if (it == out.end()) it = out.insert(out.end(), {w.table, {}});
      it->second.push_back(&w);
    }
    return out;
  }

  // Rowid-keyed rows, by table, when their table has enough of them for batched I/O.
  static Groups batches(std::span<RowWrite> writes) {
    auto groups = byTable(writes, [](const RowWrite& w) { return w.rowid.has_value(); });
    std::erase_if(groups, [](const auto& g) { return g.second.size() < store::kMinBatchRows; });
    return groups;
  }

  static bool inBatch(const Groups& groups, const RowWrite& w) {
    return w.rowid && std::any_of(groups.begin(), groups.end(), [&](const auto& g) { return g.first == w.table; });
  }

  void readAll(std::span<RowWrite> writes) {
    auto groups = batches(writes);
    for (auto& w : writes)
      if (!inBatch(groups, w)) store::readStored(s_, *w.table, w.key, w.change->pk, w.stored);
    for (auto& [table, rows] : groups) {
      keys_.clear();
      slots_.clear();
      for (RowWrite* w : rows) {
        keys_.push_back(*w->rowid);
        slots_.push_back(&w->stored);
      }
      store::readStoredMany(s_, *table, keys_, slots_);
    }
  }

  void writeMetas(std::span<RowWrite> writes) {
    auto groups = batches(writes);
    for (auto& w : writes) {
      if (inBatch(groups, w)) continue;
      metaBytes_.clear();
      encoder_.encodeTo(w.step.meta, metaBytes_);
      store::writeMetaBlob(s_, *w.table, w.key, metaBytes_, w.stored.hasMeta && !w.stored.inRange);
    }
    for (auto& [table, rows] : groups) {
      // Every row's metadata into one buffer, then views into it (it no longer grows).
      metaBytes_.clear();
      metaEnds_.clear();
      for (RowWrite* w : rows) {
        encoder_.encodeTo(w->step.meta, metaBytes_);
        metaEnds_.push_back(metaBytes_.size());
      }
      metas_.clear();
      std::string_view bytes = metaBytes_;
      for (std::size_t i = 0, from = 0; i < rows.size(); from = metaEnds_[i++])
        metas_.push_back({*rows[i]->rowid, bytes.substr(from, metaEnds_[i] - from)});
      store::writeMetaMany(s_, *table, metas_);
    }
  }

  bool reject(const Transaction& t, const std::vector<ConflictReport>& records) {
    report(records);
    store::saveUndo(s_, t.dot, {});
    ++result_.rejected;
    return true;
  }

  void report(const std::vector<ConflictReport>& conflicts) {
    if (conflicts.empty()) return;
    conflict_log::record(s_, conflicts);
    result_.conflicts.insert(result_.conflicts.end(), conflicts.begin(), conflicts.end());
  }

  // Writes the rows; a constraint of a constrained table that refuses them rejects the
  // transaction, under a savepoint so none of its rows stay. Returns the reason if so.
  std::optional<std::string> storeGuarded(const Transaction& t, std::span<RowWrite> writes) {
    bool guarded = std::any_of(writes.begin(), writes.end(), [](const RowWrite& w) { return w.table->constrained; });
    if (!guarded) {
      storeRows(t, writes);
      noteDigests(writes);
      return std::nullopt;
    }
    s_.db.exec("SAVEPOINT parley_apply");
    try {
      storeRows(t, writes);
    } catch (const Error& e) {
      if (e.status().code() != Status::Code::kConstraint) throw;
      s_.db.exec("ROLLBACK TO parley_apply; RELEASE parley_apply");
      return "constraint: " + e.status().message();
    }
    s_.db.exec("RELEASE parley_apply");
    noteDigests(writes);
    return std::nullopt;
  }

  // The rows as stored now change their tables' digests.
  void noteDigests(std::span<const RowWrite> writes) {
    for (const auto& w : writes)
      s_.digests.change(*w.table, w.valuesBefore(), w.step.values ? &*w.step.values : nullptr);
  }

  // Writes the rows' new values. A transaction valid at its origin can still meet UNIQUE
  // constraints row by row (two rows swapping a value): rows that fail are retried after the
  // others, and rows that block each other are deleted and re-inserted together.
  void storeRows(const Transaction& t, std::span<RowWrite> writes) {
    std::vector<RowWrite*> pending = updateInBatches(writes);
    while (!pending.empty()) {
      std::vector<RowWrite*> failed;
      for (RowWrite* w : pending)
        if (!tryWrite(*w)) failed.push_back(w);
      if (failed.size() == pending.size()) return rewriteTogether(t, failed);
      pending = std::move(failed);
    }
  }

  // Updates of rows that stay alive in unconstrained rowid tables go in batches. Returns the
  // rows left to write one by one (all of a table's rows again if its batch failed).
  std::vector<RowWrite*> updateInBatches(std::span<RowWrite> writes) {
    auto batched = [](const RowWrite& w) {
      return w.rowid && !w.table->constrained && w.live && w.step.values && w.prior != *w.step.values;
    };
    auto groups = byTable(writes, batched);
    std::erase_if(groups, [](const auto& g) { return g.second.size() < store::kMinBatchRows; });
    std::vector<RowWrite*> pending;
    for (auto& w : writes)
      if (!batched(w) || !inBatch(groups, w)) pending.push_back(&w);
    for (auto& [table, rows] : groups) {
      std::vector<store::RowUpdate> updates;
      updates.reserve(rows.size());
      for (RowWrite* w : rows) updates.push_back({*w->rowid, &*w->step.values});
      try {
        store::updateMany(s_, *table, updates);
      } catch (const Error& e) {
        if (e.status().code() != Status::Code::kConstraint) throw;
        pending.insert(pending.end(), rows.begin(), rows.end());
      }
    }
    return pending;
  }

  // Makes the stored row what the fold says, given what was stored (as store::writeRow).
  void writeOne(const RowWrite& w) {
    const std::optional<Row>& after = w.step.values;
    if (w.live && after) {
      if (w.prior != *after) store::updateRow(s_, *w.table, *after);
    } else if (after) {
      store::insertRow(s_, *w.table, *after);
    } else if (w.live) {
      store::deleteRow(s_, *w.table, w.change->pk);
    }
  }

  bool tryWrite(RowWrite& w) {
    try {
      writeOne(w);
      return true;
    } catch (const Error& e) {
      if (e.status().code() != Status::Code::kConstraint) throw;
      return false;
    }
  }

  void rewriteTogether(const Transaction& t, const std::vector<RowWrite*>& rows) {
    try {
      for (RowWrite* w : rows)
        if (w->live) store::deleteRow(s_, *w->table, w->change->pk);
      for (RowWrite* w : rows)
        if (w->step.values) store::insertRow(s_, *w->table, *w->step.values);
    } catch (const Error& e) {
      if (e.status().code() != Status::Code::kConstraint) throw;
      throw Error(Status::constraint(fmt::format("transaction {}: {}", t.dot.toString(), e.status().message())));
    }
  }

  const TableInfo* tableById(std::int64_t id) const {
    for (const auto& t : s_.tables)
      if (t->id == id) return t.get();
    throw Error(Status::corruption("undo record names unknown table " + std::to_string(id)));
  }

  ApplyState& s_;
  ApplyResult& result_;
  RowMetaEncoder encoder_;
  // Reused from one transaction to the next: the row slots (the first t.rows.size() are the
  // transaction's), its undo record, and scratch for batched reads and metadata writes.
  std::vector<RowWrite> writes_;
  std::string undo_;
  std::vector<std::int64_t> keys_;
  std::vector<store::StoredRow*> slots_;
  std::string metaBytes_;
  std::vector<std::size_t> metaEnds_;
  std::vector<store::MetaWrite> metas_;
  // The transaction being applied with its columns as positions, when they were ids.
  std::optional<Transaction> byPosition_;
};

// Whether transactions that sort before held ones must be folded in canonical order (a
// re-fold) rather than on arrival: when some tracked table is order-sensitive, or when one of
// them sorts before an order-dependent schema transaction, held (the barrier) or arriving.
bool foldsInOrder(const ApplyState& s, const std::vector<const Transaction*>& fresh) {
  if (s.orderSensitive()) return true;
  if (s.orderBarrier && fresh.front()->hlc <= *s.orderBarrier) return true;  // ties: either site
  auto held = [&](const Stamp& x) {
    return (s.frontier && x < *s.frontier) || (s.compactedStamp && x < *s.compactedStamp);
  };
  return std::any_of(fresh.begin(), fresh.end(),
                     [&](const Transaction* t) { return held(t->stamp()) && isOrderDependent(*t); });
}

// Undoes every held transaction that sorts after `first`, newest applied first, and returns
// them. A site that was not order-sensitive applied transactions on arrival, so some that sort
// before `first` may have been applied after some that sort after it: those are undone too
// (and returned, to be folded again), back to the first applied of the ones after `first`.
std::vector<Transaction> undoAfter(ApplyState& s, Engine& engine, const Stamp& first) {
  std::vector<Transaction> later = causal::heldAfter(s, first);
  std::vector<Dot> dots;
  for (const auto& t : later) dots.push_back(t.dot);
  std::vector<Dot> applied = store::undoneSince(s, dots);
  std::set<Dot> inLater(dots.begin(), dots.end());
  std::set<Dot> before;  // applied after some of `later` but sorting before `first`
  std::optional<Stamp> earliest;
  for (const Dot& dot : applied) {
    if (inLater.count(dot)) continue;
    before.insert(dot);
    auto hlc = store::hlcOf(s, dot);
    PARLEY_ASSERT(hlc.has_value(), "re-fold: an undo record of a transaction not held");
    Stamp stamp{*hlc, dot.site};
    if (!earliest || stamp < *earliest) earliest = stamp;
  }
  if (earliest) {
    SiteId top;
    top.bytes.fill(0xff);
    for (auto& t : causal::heldAfter(s, Stamp{Hlc{earliest->hlc.value - 1}, top}))
      if (before.count(t.dot)) later.push_back(std::move(t));
  }
  std::map<Dot, const Transaction*> byDot;
  for (const auto& t : later) byDot[t.dot] = &t;
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) engine.undo(*byDot.at(*it));
  // Held without a record (schema transactions of older versions: undoing them is nothing; a
  // data transaction without one is refused by undo()).
  std::set<Dot> undone(applied.begin(), applied.end());
  for (auto it = later.rbegin(); it != later.rend(); ++it)
    if (!undone.count(it->dot)) engine.undo(*it);
  return later;
}

// How many transactions' context views a site keeps the storage of between apply calls.
constexpr std::size_t kKeptContexts = 4096;

}  // namespace

ApplyResult applyTransactions(ApplyState& s, std::span<const Transaction> incoming,
                              std::span<const std::string_view> bodies) {
  ApplyResult result;
  store::Held held = store::heldAround(s, s.vector, incoming);
  auto fresh = admit(incoming, held, result);
  if (fresh.empty()) return result;
  // Full causal contexts, completed in canonical order (each origin's in seq order), into the
  // site's buffers (see the end).
  std::vector<ContextView>& contexts = s.applyContexts;
  if (contexts.size() < fresh.size()) contexts.resize(fresh.size());
  std::vector<bool> grew(fresh.size());
  for (std::size_t i = 0; i < fresh.size(); ++i) grew[i] = causal::complete(s, *fresh[i], contexts[i]);

  Engine engine(s, result);
  store::ApplyOutcome outcome{{}, fresh, std::span(contexts).first(fresh.size()), std::move(grew), {}, incoming, bodies, {}};
  std::set<Dot>& rejected = outcome.rejected;
  Stamp first = fresh.front()->stamp();
  bool orderSensitive = foldsInOrder(s, fresh);
  if (orderSensitive && s.compactedStamp && first < *s.compactedStamp)
    throw Error(Status::notReady(fmt::format(
        "transaction {} sorts before history this site has compacted; its origin must be cloned anew",
        fresh.front()->dot.toString())));
  if (orderSensitive && s.frontier && first < *s.frontier) {
    // A late arrival: undo what sorts after it, then fold everything from it on again.
    std::vector<Transaction> later = undoAfter(s, engine, first);
    std::vector<std::pair<const Transaction*, ContextView>> all;
    for (std::size_t i = 0; i < fresh.size(); ++i) all.emplace_back(fresh[i], contexts[i]);
    for (const auto& t : later) all.emplace_back(&t, ContextView(t.context));  // heldAfter gives them full
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return inCanonicalOrder(a.first, b.first); });
    for (const auto& [t, context] : all)
      if (engine.applyOne(*t, context)) rejected.insert(t->dot);
    for (const auto& t : later) outcome.refolded.push_back(t.dot);
    result.refolded = later.size();
    s.digests.invalidateDeltas();  // the undone transactions' deltas no longer hold: a new base
  } else {
    for (std::size_t i = 0; i < fresh.size(); ++i)
      if (engine.applyOne(*fresh[i], contexts[i])) rejected.insert(fresh[i]->dot);
  }
  // What this call changed in the digests, kept with the last transaction it logs: a sum does not
  // say which transaction changed what, and the base covers all of a call's rows or none.
  outcome.digests = s.digests.takeDelta();
  store::logApplied(s, outcome);
  for (const Transaction* t : fresh) s.hlc.receive(t->hlc);
  skew::Records skewRecords(s.db, s.skewRecords);
  skew::noteArrivals({fresh, outcome.contexts}, {s.clock, s.hlc.maxSkew()}, skewRecords, s, result);
  if (!s.frontier || fresh.back()->stamp() > *s.frontier) s.frontier = fresh.back()->stamp();
  result.applied = fresh.size();
  // The next call reuses the views' storage, up to a bound on what stays allocated; they let go
  // of the shared vectors, which the cache may then change in place.
  for (std::size_t i = 0; i < fresh.size(); ++i) contexts[i].release();
  if (contexts.size() > kKeptContexts) {
    contexts.resize(kKeptContexts);
    contexts.shrink_to_fit();
  }
  return result;
}

}  // namespace parley
