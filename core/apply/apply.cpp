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
#include "refold.hpp"
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

// What the engine folds into: the tracked tables' rows and metadata over the connection, the
// site indexes their metadata names sites by, the digests, the conflict log and its clock, and
// the steps for schema transactions with the order barrier they raise.
struct Target {
  store::Log log;
  TableLookup tables;
  Digests& digests;
  Clock& clock;
  std::size_t chunkRows;  // SiteOptions::applyChunkRows
  const decltype(ApplyState::applySchema)& applySchema;
  const decltype(ApplyState::undoSchema)& undoSchema;
  std::optional<Hlc>& orderBarrier;
  store::UndoRecords undoRecords;
};

class Engine {
 public:
  Engine(const Target& into, ApplyResult& result) : to_(into), result_(result), encoder_(into.log.db, into.log.sites) {}

  // Folds `t`, whose full causal context is `context`, into the state, keeping its undo record
  // (every transaction has one until compaction, so a re-fold can reach back to any held one,
  // at any site). Returns whether it was rejected. A transaction of more than to_.chunkRows
  // rows is read, folded and written a chunk at a time under a savepoint (rows are distinct
  // within a transaction, so no chunk's fold reads another's writes); a rejection met in any
  // chunk rolls all of them back.
  bool applyOne(const Transaction& received, const ContextView& context) {
    if (isSchemaTransaction(received)) return applySchemaTransaction(received);
    const Transaction& t = withColumnPositions(to_.tables, received, byPosition_);
    checkFits(to_.tables, t);
    std::size_t n = t.rows.size();
    std::size_t chunk = inChunks(t) ? to_.chunkRows : std::max<std::size_t>(n, 1);
    bool chunked = chunk < n;
    undo_.clear();
    store::undoHeader(undo_, n);
    std::optional<Digests::Mark> digestsBefore;
    if (chunked) to_.log.db.exec("SAVEPOINT parley_chunks"), digestsBefore = to_.digests.mark();
    std::vector<ConflictReport> conflicts;
    for (std::size_t from = 0; from < n || from == 0; from += chunk) {
      std::span<RowWrite> writes = foldAll(t, from, std::min(n, from + chunk), context);
      std::optional<std::string> rejection;
      for (const auto& w : writes)
        if (w.step.rejection && !rejection) rejection = w.step.rejection;
      if (!rejection) rejection = storeGuarded(t, writes);
      if (rejection && !chunked) return reject(t, rejectionRecords(to_.log.sites, t, writes, *rejection));
      if (rejection) {
        to_.log.db.exec("ROLLBACK TO parley_chunks; RELEASE parley_chunks");
        to_.digests.restore(std::move(*digestsBefore));
        return reject(t, rejectionRecordsByChunk(t, *rejection, chunk));
      }
      writeMetas(writes);
      for (auto& w : writes)
        for (auto& c : w.step.conflicts) conflicts.push_back(std::move(c));
    }
    if (chunked) to_.log.db.exec("RELEASE parley_chunks");
    report(conflicts);
    store::saveUndoBody(to_.undoRecords, t.dot, undo_);
    return false;
  }

  // A schema transaction, through the site's step for it (Target::applySchema), raising the
  // order barrier if it is order-dependent. Never rejected.
  bool applySchemaTransaction(const Transaction& received) {
    std::vector<ConflictReport> conflicts;
    std::vector<SchemaUndo> undo;
    to_.applySchema(received, conflicts, undo);
    report(conflicts);
    if (isOrderDependent(received) && (!to_.orderBarrier || *to_.orderBarrier < received.hlc)) {
      store::raiseOrderBarrier(to_.log.db, received.hlc);
      to_.orderBarrier = received.hlc;
    }
    // Its place among applies, if nothing else.
    store::saveUndoBody(to_.undoRecords, received.dot, encodeSchemaUndo(undo));
    return false;
  }

  // Restores every row `t` changed to what it was before `t` was applied.
  void undo(const Transaction& t) {
    // A schema transaction undoes what its record says (the order-dependent part of it); the
    // rest of it is applied so that its order does not matter: applying it again changes nothing.
    if (isSchemaTransaction(t)) {
      conflict_log::forget(to_.log, t.dot);
      if (auto body = store::takeUndoBody(to_.undoRecords, t.dot)) to_.undoSchema(t, decodeSchemaUndo(*body));
      return;
    }
    auto entries = store::takeUndo(to_.undoRecords, t.dot);
    conflict_log::forget(to_.log, t.dot);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (it->key.empty() && !it->values && !it->meta) {  // a local commit's updates (undo.hpp)
        restoreUpdates(t);
        continue;
      }
      if (it->key.empty()) {  // a range a local commit split (commit.cpp)
        ranges::restore(to_.log.db, it->table, it->values->at(0).asInteger(), it->values->at(1).asInteger(), *it->meta);
        continue;
      }
      const TableInfo* table = tableById(it->table);
      if (!it->valuesFromBody) {  // else restoreUpdates puts them back
        codec::Reader r(it->key, "undo key");
        Row pk;
        while (!r.done()) pk.push_back(r.value());
        std::optional<Row> now = store::readRow(to_.log.db, *table, pk);
        if (it->values) widen(*table, *it->values);
        to_.digests.change(*table, now ? &*now : nullptr, it->values ? &*it->values : nullptr);
        store::writeRow(to_.log.db, *table, pk, now, it->values);
      }
      store::deleteMeta(to_.log.db, *table, it->key);
      if (it->meta) store::writeMetaBlob(to_.log.db, *table, it->key, *it->meta, false);
    }
    // The rows it inserted in bulk, if it was a local commit here or at the site this one was
    // cloned from.
    ranges::dropOf(to_.log, t.dot);
  }

 private:
  // Puts back the values the updates of a local commit `stored` replaced: each write carries the
  // value it replaced, and undoing newest first finds each row as `stored` left it. Drops their
  // metadata rows: an update whose row had one before has an entry of its own, undone after this.
  void restoreUpdates(const Transaction& stored) {
    std::optional<Transaction> scratch;
    const Transaction& t = withColumnPositions(to_.tables, stored, scratch);
    std::string key;
    for (const RowChange& row : t.rows) {
      if (row.op != RowOp::kUpdate) continue;
      const TableInfo* table = to_.tables.named(row.table);
      if (!table) throw Error(Status::corruption("undo of " + t.dot.toString() + ": table \"" + row.table + "\" is not tracked"));
      std::optional<Row> now = store::readRow(to_.log.db, *table, row.pk);
      if (!now) throw Error(Status::corruption("undo of " + t.dot.toString() + ": a row it updated is gone"));
      Row before = *now;
      for (const auto& w : row.columns)
        if (w.column < before.size()) before[w.column] = w.oldValue;
      to_.digests.change(*table, &*now, &before);
      store::writeRow(to_.log.db, *table, row.pk, now, before);
      key.clear();
      codec::appendKey(key, row.pk);
      store::deleteMeta(to_.log.db, *table, key);
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
    if (t.rows.size() <= to_.chunkRows) return false;
    return std::none_of(t.rows.begin(), t.rows.end(),
                        [&](const RowChange& row) { return to_.tables.named(row.table)->constrained; });
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
      w.table = to_.tables.named(row.table);
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
        decodeRowMetaInto(w.stored.meta, to_.log.sites, w.table->columns.size(), w.step.meta);
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
                 decodeRowMeta(w.stored.meta, to_.log.sites, w.table->columns.size()).alive;
        if (w.live) w.prior = w.stored.values;
      }
      auto records = rejectionRecords(to_.log.sites, t, writes, reason);
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
      if (!inBatch(groups, w)) store::readStored(to_.log.db, *w.table, w.key, w.change->pk, w.stored);
    for (auto& [table, rows] : groups) {
      keys_.clear();
      slots_.clear();
      for (RowWrite* w : rows) {
        keys_.push_back(*w->rowid);
        slots_.push_back(&w->stored);
      }
      store::readStoredMany(to_.log.db, *table, keys_, slots_);
    }
  }

  void writeMetas(std::span<RowWrite> writes) {
    auto groups = batches(writes);
    for (auto& w : writes) {
      if (inBatch(groups, w)) continue;
      metaBytes_.clear();
      encoder_.encodeTo(w.step.meta, metaBytes_);
      store::writeMetaBlob(to_.log.db, *w.table, w.key, metaBytes_, w.stored.hasMeta && !w.stored.inRange);
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
      store::writeMetaMany(to_.log.db, *table, metas_);
    }
  }

  bool reject(const Transaction& t, const std::vector<ConflictReport>& records) {
    report(records);
    store::saveUndo(to_.undoRecords, t.dot, {});
    ++result_.rejected;
    return true;
  }

  void report(const std::vector<ConflictReport>& conflicts) {
    if (conflicts.empty()) return;
    conflict_log::record(to_.log, to_.clock, conflicts);
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
    to_.log.db.exec("SAVEPOINT parley_apply");
    try {
      storeRows(t, writes);
    } catch (const Error& e) {
      if (e.status().code() != Status::Code::kConstraint) throw;
      to_.log.db.exec("ROLLBACK TO parley_apply; RELEASE parley_apply");
      return "constraint: " + e.status().message();
    }
    to_.log.db.exec("RELEASE parley_apply");
    noteDigests(writes);
    return std::nullopt;
  }

  // The rows as stored now change their tables' digests.
  void noteDigests(std::span<const RowWrite> writes) {
    for (const auto& w : writes)
      to_.digests.change(*w.table, w.valuesBefore(), w.step.values ? &*w.step.values : nullptr);
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
        store::updateMany(to_.log.db, *table, updates);
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
      if (w.prior != *after) store::updateRow(to_.log.db, *w.table, *after);
    } else if (after) {
      store::insertRow(to_.log.db, *w.table, *after);
    } else if (w.live) {
      store::deleteRow(to_.log.db, *w.table, w.change->pk);
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
        if (w->live) store::deleteRow(to_.log.db, *w->table, w->change->pk);
      for (RowWrite* w : rows)
        if (w->step.values) store::insertRow(to_.log.db, *w->table, *w->step.values);
    } catch (const Error& e) {
      if (e.status().code() != Status::Code::kConstraint) throw;
      throw Error(Status::constraint(fmt::format("transaction {}: {}", t.dot.toString(), e.status().message())));
    }
  }

  const TableInfo* tableById(std::int64_t id) const {
    if (const TableInfo* table = to_.tables.withId(id)) return table;
    throw Error(Status::corruption("undo record names unknown table " + std::to_string(id)));
  }

  Target to_;
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

// Undoes what `refold` takes back, newest applied first.
void undoAll(Engine& engine, const store::Refold& refold) {
  std::map<Dot, const Transaction*> byDot;
  for (const auto& t : refold.later) byDot[t.dot] = &t;
  for (auto it = refold.applied.rbegin(); it != refold.applied.rend(); ++it) engine.undo(*byDot.at(*it));
  // Held without a record (schema transactions of older versions: undoing them is nothing; a
  // data transaction without one is refused by undo()).
  std::set<Dot> undone(refold.applied.begin(), refold.applied.end());
  for (auto it = refold.later.rbegin(); it != refold.later.rend(); ++it)
    if (!undone.count(it->dot)) engine.undo(*it);
}

// Folds the new transactions of `outcome` in canonical order; with a re-fold, first undoes what
// it takes back and folds that again among them. Notes in `outcome` the rejected and re-folded.
void foldBatch(Engine& engine, const std::optional<store::Refold>& refold, store::ApplyOutcome& outcome) {
  const auto& fresh = outcome.fresh;
  if (!refold) {
    for (std::size_t i = 0; i < fresh.size(); ++i)
      if (engine.applyOne(*fresh[i], outcome.contexts[i])) outcome.rejected.insert(fresh[i]->dot);
    return;
  }
  undoAll(engine, *refold);
  std::vector<std::pair<const Transaction*, ContextView>> all;
  for (std::size_t i = 0; i < fresh.size(); ++i) all.emplace_back(fresh[i], outcome.contexts[i]);
  for (const auto& t : refold->later) all.emplace_back(&t, ContextView(t.context));  // heldAfter gives them full
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return inCanonicalOrder(a.first, b.first); });
  for (const auto& [t, context] : all)
    if (engine.applyOne(*t, context)) outcome.rejected.insert(t->dot);
  for (const auto& t : refold->later) outcome.refolded.push_back(t.dot);
}

// How many transactions' context views a site keeps the storage of between apply calls.
constexpr std::size_t kKeptContexts = 4096;

// The next call reuses the views' storage, up to a bound on what stays allocated; they let go
// of the shared vectors, which the cache may then change in place.
void release(std::vector<ContextView>& views, std::size_t used) {
  for (std::size_t i = 0; i < used; ++i) views[i].release();
  if (views.size() <= kKeptContexts) return;
  views.resize(kKeptContexts);
  views.shrink_to_fit();
}

Target targetOf(ApplyState& s) {
  return {s, s, s.digests, s.clock, s.applyChunkRows, s.applySchema, s.undoSchema, s.orderBarrier, s};
}

}  // namespace

// Decides and reads first (what admission needs of the log; then the full contexts and what a
// re-fold takes back), then folds and writes the rows, then writes the log in one step and notes
// the arrivals.
ApplyResult applyTransactions(ApplyState& s, std::span<const Transaction> incoming,
                              std::span<const std::string_view> bodies) {
  ApplyResult result;
  store::Log history{s.db, s.sites};
  store::Held held = store::heldAround(history, s.vector, incoming);
  auto fresh = admit(incoming, held, result);
  if (fresh.empty()) return result;
  bool late = refolds(s, {s.frontier, s.compactedStamp, s.orderBarrier}, fresh);
  causal::Contexts known{history, s.contexts};
  std::vector<bool> grew = causal::completeAll(known, fresh, s.applyContexts);
  std::optional<store::Refold> refold;
  if (late) refold = store::readRefold(known, s.vector, s, fresh.front()->stamp());

  store::ApplyOutcome outcome{{}, fresh, std::span(s.applyContexts).first(fresh.size()), std::move(grew), {}, incoming,
                              bodies, {}};
  Engine engine(targetOf(s), result);
  foldBatch(engine, refold, outcome);
  if (refold) s.digests.invalidateDeltas();  // the undone transactions' deltas no longer hold: a new base
  // What this call changed in the digests, kept with the last transaction it logs: a sum does not
  // say which transaction changed what, and the base covers all of a call's rows or none.
  outcome.digests = s.digests.takeDelta();
  store::logApplied({history, s.vector, s.digests, s.undo}, outcome);

  for (const Transaction* t : fresh) s.hlc.receive(t->hlc);
  skew::Records skewRecords(s.db, s.skewRecords);
  skew::noteArrivals({fresh, outcome.contexts}, {s.clock, s.hlc.maxSkew()}, skewRecords, known, result);
  if (!s.frontier || fresh.back()->stamp() > *s.frontier) s.frontier = fresh.back()->stamp();
  result.applied = fresh.size();
  result.refolded = outcome.refolded.size();
  release(s.applyContexts, fresh.size());
  return result;
}

}  // namespace parley
