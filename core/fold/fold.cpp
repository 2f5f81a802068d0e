#include "fold.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace parley {
namespace {

const Dots kNoDots;  // the dots of a cell this site has no version of
const Value kNull;   // the value of a cell this site has no version of

ConflictKind conflictKindOf(RowConflictKind kind) {
  switch (kind) {
    case RowConflictKind::kInsertInsert: return ConflictKind::kInsertInsert;
    case RowConflictKind::kUpdateDelete: return ConflictKind::kUpdateDelete;
    case RowConflictKind::kDeleteUpdate: return ConflictKind::kDeleteUpdate;
  }
  return ConflictKind::kCell;
}

const char* rowConflictName(RowConflictKind kind) {
  switch (kind) {
    case RowConflictKind::kInsertInsert: return "insert/insert";
    case RowConflictKind::kUpdateDelete: return "update/delete";
    case RowConflictKind::kDeleteUpdate: return "delete/update";
  }
  return "row";
}

// The state being built for one row, and what it needs to report conflicts.
class RowFold {
 public:
  RowFold(const TableInfo& table, const RowChange& change, const Transaction& txn, const ContextView& context)
      : table_(table), change_(change), txn_(txn), context_(context), stamp_(txn.stamp()) {}

  FoldStep run(RowState before) {
    if (!before.meta) return fresh();
    if (before.meta->alive && !before.values)
      throw Error(Status::corruption("table \"" + table_.name + "\": metadata says a row exists that does not"));
    out_.meta = std::move(*before.meta);
    values_ = out_.meta.alive ? std::move(*before.values) : std::move(out_.meta.tombstone);
    bool alive = decideExistence();
    if (!out_.rejection && change_.op != RowOp::kDelete) applyColumns();
    if (out_.rejection) return std::move(out_);
    out_.meta.existence.stamp = std::max(out_.meta.existence.stamp, stamp_);
    out_.meta.alive = alive;
    if (alive) {
      out_.values = std::move(values_);
      out_.meta.tombstone.clear();
    } else {
      out_.meta.tombstone = std::move(values_);
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
      out_.meta.cells[w.column] = freshCell(w.column);
      if (table_.traits[w.column].keepsContributions && change_.op != RowOp::kDelete) freshContribution(w);
    }
    out_.meta.existence = CellMeta{{txn_.dot}, stamp_, {}, {}};
    out_.meta.alive = change_.op != RowOp::kDelete;
    if (out_.meta.alive) out_.values = std::move(values_);
    else out_.meta.tombstone = std::move(values_);
    return std::move(out_);
  }

  CellMeta freshCell(std::uint32_t column) const { return CellMeta{{txn_.dot}, stamp_, freshCounter(column), {}}; }

  // A strategy that keeps contributions may count a new cell's value as its writer's (a
  // bounded counter's rights start with the site that inserts the row): asked as a write that
  // supersedes an empty cell.
  void freshContribution(const ColumnWrite& w) {
    CellStep step = table_.resolvers[w.column]->meet({table_.columns[w.column], kNull, kNoDots, w, CellRelation::kSupersedes});
    keep(*out_.meta.cells[w.column], step);
  }

  // The contributions and rights moves a step reports, kept in the cell.
  void keep(CellMeta& cell, const CellStep& step) {
    if (step.contribution) contribute(cell, *step.contribution);
    if (step.move) move(cell, *step.move);
  }

  std::optional<PNCounter> freshCounter(std::uint32_t column) const {
    if (table_.traits[column].keepsContributions) return PNCounter{};
    return std::nullopt;
  }

  bool decideExistence() {
    const RowMeta& m = out_.meta;
    // An update of a live row does not look at the row's dots: skip collecting them.
    if (change_.op == RowOp::kUpdate && m.alive) return true;
    bool covered = context_.containsAll(m.allDots());
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

  const RowPolicy& policyFor(RowConflictKind kind) const {
    switch (kind) {
      case RowConflictKind::kInsertInsert: return *table_.insertInsert;
      case RowConflictKind::kUpdateDelete: return *table_.updateDelete;
      case RowConflictKind::kDeleteUpdate: return *table_.deleteUpdate;
    }
    return *table_.updateDelete;
  }

  // An insert of exactly the row in place: nothing to resolve.
  bool sameAsInPlace() const {
    for (const auto& w : change_.columns)
      if (!(values_[w.column] == w.newValue)) return false;
    return true;
  }

  RowOutcome askPolicy(RowConflictKind kind) {
    const RowPolicy& policy = policyFor(kind);
    RowOutcome outcome = policy.resolve({table_.name, change_.pk, kind, out_.meta.existence.stamp, stamp_});
    bool identical = kind == RowConflictKind::kInsertInsert && outcome == RowOutcome::kMergeColumns && sameAsInPlace();
    if (identical) return outcome;
    if (outcome == RowOutcome::kReject) {
      reject(fmt::format("{} conflict on this row, policy reject", rowConflictName(kind)));
    } else {
      reportRow(kind, policy.name(), outcome);
    }
    return outcome;
  }

  bool rowConflict(RowConflictKind kind, bool remoteAlive) {
    if (askPolicy(kind) != RowOutcome::kTakeRemote) return out_.meta.alive;
    return joinExistence(remoteAlive, false);
  }

  bool insertInsert() {
    rowOutcome_ = askPolicy(RowConflictKind::kInsertInsert);
    addDot(out_.meta.existence.dots, txn_.dot);
    return true;
  }

  void applyColumns() {
    if (rowOutcome_ == RowOutcome::kKeepLocal) return;
    for (const auto& w : change_.columns) {
      if (rowOutcome_ == RowOutcome::kTakeRemote) take(w);
      else applyColumn(w);
      if (out_.rejection) return;
    }
  }

  void applyColumn(const ColumnWrite& w) {
    auto& cell = out_.meta.cells[w.column];
    bool covered = !cell || context_.containsAll(cell->dots);
    if (covered && table_.traits[w.column].replacesWhenSuperseded) return take(w);
    CellRelation relation = covered                           ? CellRelation::kSupersedes
                            : containsDot(cell->dots, txn_.dot) ? CellRelation::kReflected
                                                               : CellRelation::kConcurrent;
    const ColumnResolver& resolver = *table_.resolvers[w.column];
    CellStep step = resolver.meet({table_.columns[w.column], values_[w.column], cell ? cell->dots : kNoDots, w, relation});
    carryOut(w, relation, resolver, step);
  }

  // Does what the column's strategy decided for the cell.
  void carryOut(const ColumnWrite& w, CellRelation relation, const ColumnResolver& resolver, CellStep& step) {
    using Action = CellStep::Action;
    bool joins = step.action == Action::kJoin || step.action == Action::kResolve;
    if (joins && !out_.meta.cells[w.column]) step.action = Action::kTake;  // nothing in place to keep
    switch (step.action) {
      case Action::kTake: take(w); break;
      case Action::kIgnore: return;
      case Action::kJoin: joinCell(*out_.meta.cells[w.column]); break;
      case Action::kSet: set(w, relation, resolver, std::move(step.value)); break;
      case Action::kResolve: return pick(w, resolver);
      case Action::kReject: return reject(std::move(step.reason));
    }
    if (table_.traits[w.column].keepsContributions) keep(*out_.meta.cells[w.column], step);
  }

  // The cell's value becomes `value`: the write's alone if it supersedes the cell (keeping the
  // cell's contributions), else both versions' and a merged conflict.
  void set(const ColumnWrite& w, CellRelation relation, const ColumnResolver& resolver, Value&& value) {
    auto& cell = out_.meta.cells[w.column];
    if (relation == CellRelation::kSupersedes) {
      values_[w.column] = std::move(value);
      std::optional<PNCounter> counter = cell ? std::move(cell->counter) : std::nullopt;
      return renew(cell, std::move(counter));
    }
    reportCell(w, resolver.name(), ConflictOutcome::kMerged, values_[w.column], value);
    values_[w.column] = std::move(value);
    joinCell(*cell);
  }

  void contribute(CellMeta& cell, std::int64_t delta) {
    if (!cell.counter) cell.counter = PNCounter{};
    try {
      cell.counter->add(txn_.dot.site, delta);
    } catch (const std::overflow_error&) {
      cell.counter.reset();  // totals beyond int64: the value still folds, the breakdown is dropped
    }
  }

  void move(CellMeta& cell, const RightsMove& m) {
    if (!cell.counter) cell.counter = PNCounter{};
    if (!cell.moves) cell.moves = RightsMoves{};
    BoundedCounter state(std::move(*cell.counter), std::move(*cell.moves));
    try {
      if (m.kind == RightsMove::Kind::kGive) state.move(txn_.dot.site, m.to, m.amount);
      else state.ask(txn_.dot.site, m.amount);
    } catch (const std::exception&) {
      // beyond int64 (or negative from a hostile peer): every site drops the same move
    }
    cell.counter = state.deltas();
    cell.moves = state.moves();
  }

  void joinCell(CellMeta& cell) {
    addDot(cell.dots, txn_.dot);
    cell.stamp = std::max(cell.stamp, stamp_);
  }

  void pick(const ColumnWrite& w, const ColumnResolver& resolver) {
    auto& cell = *out_.meta.cells[w.column];
    CellConflict conflict{table_.name, table_.columns[w.column], change_.pk,
                          {values_[w.column], cell.dots, cell.stamp},
                          {w.newValue, {txn_.dot}, stamp_}, w.oldValue};
    CellResolution r = resolver.resolve(conflict);
    Value before = values_[w.column];
    switch (r.outcome) {
      case CellOutcome::kKeepLocal:
        reportCell(w, resolver.name(), ConflictOutcome::kKeptLocal, before, before);
        return;
      case CellOutcome::kTakeRemote:
        reportCell(w, resolver.name(), ConflictOutcome::kAppliedRemote, before, w.newValue);
        return take(w);
      case CellOutcome::kMerged:
        reportCell(w, resolver.name(), ConflictOutcome::kMerged, before, r.merged);
        values_[w.column] = r.merged;
        return joinCell(cell);
    }
  }

  void take(const ColumnWrite& w) {
    values_[w.column] = w.newValue;
    renew(out_.meta.cells[w.column], freshCounter(w.column));
    out_.meta.cells[w.column]->moves.reset();
  }

  // Makes `cell` reflect this transaction's write alone (as freshCell), reusing its storage.
  void renew(std::optional<CellMeta>& cell, std::optional<PNCounter> counter) const {
    if (!cell) {
      cell = CellMeta{{txn_.dot}, stamp_, std::move(counter), {}};
      return;
    }
    cell->dots.assign(1, txn_.dot);
    cell->stamp = stamp_;
    cell->counter = std::move(counter);
  }

  void reject(std::string reason) {
    if (!out_.rejection) out_.rejection = std::move(reason);
  }

  void reportRow(RowConflictKind kind, std::string_view resolver, RowOutcome outcome) {
    ConflictReport c = common(resolver);
    c.kind = conflictKindOf(kind);
    c.outcome = outcome == RowOutcome::kKeepLocal ? ConflictOutcome::kKeptLocal
                : outcome == RowOutcome::kTakeRemote ? ConflictOutcome::kAppliedRemote
                                                     : ConflictOutcome::kMerged;
    c.remoteWon = outcome != RowOutcome::kKeepLocal;
    const Dots inPlace = out_.meta.allDots();
    c.localDots = unseen(inPlace);
    c.localStamp = out_.meta.existence.stamp;
    toCanonicalView(c, inPlace);
    out_.conflicts.push_back(std::move(c));
  }

  void reportCell(const ColumnWrite& w, std::string_view resolver, ConflictOutcome outcome, const Value& local,
                  const Value& result) {
    ConflictReport c = common(resolver);
    const auto& cell = *out_.meta.cells[w.column];
    c.kind = ConflictKind::kCell;
    c.column = table_.columns[w.column];
    c.localValue = local;
    c.localDots = unseen(cell.dots);
    c.localStamp = cell.stamp;
    c.remoteValue = w.newValue;
    c.result = result;
    c.outcome = outcome;
    c.remoteWon = outcome != ConflictOutcome::kKeptLocal;
    toCanonicalView(c, cell.dots);
    out_.conflicts.push_back(std::move(c));
  }

  // The writes of the version in place that this transaction had not seen: the ones it conflicts
  // with. (The version's other dots, such as the row's insert at the site that wrote an update,
  // depend on which site holds which version; these do not.)
  Dots unseen(const Dots& inPlace) const {
    Dots out;
    for (const auto& d : inPlace)
      if (!context_.contains(d)) out.push_back(d);
    return out;
  }

  // The dot of the latest write a version reflects: the transaction that put it in place.
  static std::optional<Dot> writerOf(const Dots& dots, const Stamp& stamp) {
    std::optional<Dot> out;
    for (const auto& d : dots)
      if (d.site == stamp.site && (!out || d.seq > out->seq)) out = d;
    return out;
  }

  // Applied on arrival (lww), an incoming write can sort before the version in place. The
  // canonical fold would have met them the other way round: the later write meeting the
  // earlier one. Log it that way, so every site's log names the same transaction and outcome.
  static void toCanonicalView(ConflictReport& c, const Dots& inPlaceDots) {
    if (c.remoteStamp > c.localStamp) return;
    auto later = writerOf(inPlaceDots, c.localStamp);
    if (!later) return;
    std::swap(c.localValue, c.remoteValue);
    std::swap(c.localStamp, c.remoteStamp);
    c.localDots = {c.remoteDot};
    c.remoteDot = *later;
    if (c.kind == ConflictKind::kUpdateDelete) c.kind = ConflictKind::kDeleteUpdate;
    else if (c.kind == ConflictKind::kDeleteUpdate) c.kind = ConflictKind::kUpdateDelete;
    if (c.outcome == ConflictOutcome::kKeptLocal) c.outcome = ConflictOutcome::kAppliedRemote;
    else if (c.outcome == ConflictOutcome::kAppliedRemote) c.outcome = ConflictOutcome::kKeptLocal;
    c.remoteWon = c.outcome != ConflictOutcome::kKeptLocal;
  }

  ConflictReport common(std::string_view resolver) const {
    ConflictReport c;
    c.table = table_.name;
    c.pk = change_.pk;
    c.resolver = std::string(resolver);
    c.remoteDot = txn_.dot;
    c.remoteStamp = stamp_;
    return c;
  }

  const TableInfo& table_;
  const RowChange& change_;
  const Transaction& txn_;
  const ContextView& context_;  // txn_'s full causal context
  Stamp stamp_;
  RowOutcome rowOutcome_ = RowOutcome::kMergeColumns;
  Row values_;
  FoldStep out_;
};

}  // namespace

std::optional<Row> RowState::current() const {
  if (!meta) return std::nullopt;
  return meta->alive ? values : std::optional<Row>(meta->tombstone);
}

FoldStep foldRow(const TableInfo& table, const RowState& before, const RowChange& change, const Transaction& txn,
                 const ContextView& context) {
  return RowFold(table, change, txn, context).run(before);
}

FoldStep foldRow(const TableInfo& table, RowState&& before, const RowChange& change, const Transaction& txn,
                 const ContextView& context) {
  return RowFold(table, change, txn, context).run(std::move(before));
}

}  // namespace parley
