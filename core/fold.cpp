#include "fold.hpp"

#include <algorithm>

namespace parley {
namespace {

// The state being built for one row, and what it needs to report conflicts.
class RowFold {
 public:
  RowFold(const TableInfo& table, const RowChange& change, const Transaction& txn,
          const ResolverProvider& resolvers)
      : table_(table), change_(change), txn_(txn), resolvers_(resolvers), stamp_(txn.stamp()) {}

  FoldStep run(const RowState& before) {
    if (!before.meta) return fresh();
    if (before.meta->alive && !before.values)
      throw Error(Status::corruption("table \"" + table_.name + "\": metadata says a row exists that does not"));
    out_.meta = *before.meta;
    values_ = before.meta->alive ? *before.values : before.meta->tombstone;
    bool alive = decideExistence();
    if (change_.op != RowOp::kDelete) applyColumns();
    out_.meta.existence.stamp = std::max(out_.meta.existence.stamp, stamp_);
    out_.meta.alive = alive;
    if (alive) {
      out_.values = values_;
      out_.meta.tombstone.clear();
    } else {
      out_.meta.tombstone = values_;
    }
    return std::move(out_);
  }

 private:
  // A row this site has never seen: the change applies as it is.
  FoldStep fresh() {
    values_.assign(table_.columns.size(), Value::null());
    for (std::size_t i = 0; i < table_.pk.size() && i < change_.pk.size(); ++i) values_[table_.pk[i]] = change_.pk[i];
    out_.meta.cells.resize(table_.columns.size());
    for (const auto& w : change_.columns) {
      values_[w.column] = change_.op == RowOp::kDelete ? w.oldValue : w.newValue;
      out_.meta.cells[w.column] = CellMeta{{txn_.dot}, stamp_};
    }
    out_.meta.existence = CellMeta{{txn_.dot}, stamp_};
    out_.meta.alive = change_.op != RowOp::kDelete;
    if (out_.meta.alive) out_.values = values_;
    else out_.meta.tombstone = values_;
    return std::move(out_);
  }

  bool decideExistence() {
    const RowMeta& m = out_.meta;
    bool covered = txn_.context.containsAll(m.allDots());
    switch (change_.op) {
      case RowOp::kDelete:
        if (!m.alive) return joinExistence(false, covered);
        if (covered) return replaceExistence(false);
        return rowConflict(RowConflictKind::kDeleteUpdate, false);
      case RowOp::kInsert:
        if (!m.alive && covered) return replaceExistence(true);
        if (m.alive) return insertInsert();
        return rowConflict(RowConflictKind::kUpdateDelete, true);
      case RowOp::kUpdate:
        if (m.alive) return true;
        return rowConflict(RowConflictKind::kUpdateDelete, true);
    }
    return m.alive;
  }

  bool replaceExistence(bool alive) {
    out_.meta.existence.dots = {txn_.dot};
    return alive;
  }

  bool joinExistence(bool alive, bool covered) {
    if (covered) return replaceExistence(alive);
    addDot(out_.meta.existence.dots, txn_.dot);
    return alive;
  }

  bool rowConflict(RowConflictKind kind, bool remoteAlive) {
    const RowPolicy& policy = resolvers_.row(table_.name);
    RowOutcome outcome = policy.resolve({table_.name, change_.pk, kind, out_.meta.existence.stamp, stamp_});
    bool remoteWon = outcome == RowOutcome::kTakeRemote;
    report(kind, policy.name(), remoteWon);
    if (!remoteWon) return out_.meta.alive;
    return joinExistence(remoteAlive, false);
  }

  bool insertInsert() {
    const RowPolicy& policy = resolvers_.row(table_.name);
    RowOutcome outcome = policy.resolve(
        {table_.name, change_.pk, RowConflictKind::kInsertInsert, out_.meta.existence.stamp, stamp_});
    rowOutcome_ = outcome;
    report(RowConflictKind::kInsertInsert, policy.name(), outcome == RowOutcome::kTakeRemote);
    addDot(out_.meta.existence.dots, txn_.dot);
    return true;
  }

  void applyColumns() {
    for (const auto& w : change_.columns) {
      if (w.column >= table_.columns.size() || table_.isKey[w.column]) continue;
      if (rowOutcome_ == RowOutcome::kKeepLocal) continue;
      if (rowOutcome_ == RowOutcome::kTakeRemote) {
        take(w);
        continue;
      }
      applyColumn(w);
    }
  }

  void applyColumn(const ColumnWrite& w) {
    auto& cell = out_.meta.cells[w.column];
    if (!cell || txn_.context.containsAll(cell->dots)) return take(w);
    if (containsDot(cell->dots, txn_.dot)) return;
    const ColumnResolver& resolver = resolvers_.column(table_.name, table_.columns[w.column]);
    CellConflict conflict{table_.name, table_.columns[w.column], change_.pk,
                          {values_[w.column], cell->dots, cell->stamp},
                          {w.newValue, {txn_.dot}, stamp_}, w.oldValue};
    CellResolution r = resolver.resolve(conflict);
    reportCell(w, resolver.name(), r);
    if (r.outcome == CellOutcome::kTakeRemote) return take(w);
    if (r.outcome == CellOutcome::kMerged) {
      values_[w.column] = r.merged;
      addDot(cell->dots, txn_.dot);
      cell->stamp = std::max(cell->stamp, stamp_);
    }
  }

  void take(const ColumnWrite& w) {
    values_[w.column] = w.newValue;
    out_.meta.cells[w.column] = CellMeta{{txn_.dot}, stamp_};
  }

  void report(RowConflictKind kind, std::string_view resolver, bool remoteWon) {
    ConflictReport c;
    c.kind = kind == RowConflictKind::kInsertInsert  ? ConflictKind::kInsertInsert
             : kind == RowConflictKind::kUpdateDelete ? ConflictKind::kUpdateDelete
                                                      : ConflictKind::kDeleteUpdate;
    fillCommon(c, resolver, remoteWon);
    c.localDots = out_.meta.allDots();
    c.localStamp = out_.meta.existence.stamp;
    out_.conflicts.push_back(std::move(c));
  }

  void reportCell(const ColumnWrite& w, std::string_view resolver, const CellResolution& r) {
    ConflictReport c;
    c.kind = ConflictKind::kCell;
    fillCommon(c, resolver, r.outcome != CellOutcome::kKeepLocal);
    const auto& cell = *out_.meta.cells[w.column];
    c.column = table_.columns[w.column];
    c.localValue = values_[w.column];
    c.localDots = cell.dots;
    c.localStamp = cell.stamp;
    c.remoteValue = w.newValue;
    c.result = r.outcome == CellOutcome::kKeepLocal ? values_[w.column]
               : r.outcome == CellOutcome::kTakeRemote ? w.newValue
                                                       : r.merged;
    out_.conflicts.push_back(std::move(c));
  }

  void fillCommon(ConflictReport& c, std::string_view resolver, bool remoteWon) {
    c.table = table_.name;
    c.pk = change_.pk;
    c.resolver = std::string(resolver);
    c.remoteDot = txn_.dot;
    c.remoteStamp = stamp_;
    c.remoteWon = remoteWon;
  }

  const TableInfo& table_;
  const RowChange& change_;
  const Transaction& txn_;
  const ResolverProvider& resolvers_;
  Stamp stamp_;
  RowOutcome rowOutcome_ = RowOutcome::kMergeColumns;
  Row values_;
  FoldStep out_;
};

}  // namespace

FoldStep foldRow(const TableInfo& table, const RowState& before, const RowChange& change,
                 const Transaction& txn, const ResolverProvider& resolvers) {
  return RowFold(table, change, txn, resolvers).run(before);
}

}  // namespace parley
