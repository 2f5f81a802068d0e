#include "local_checks.hpp"

#include <algorithm>

#include "store.hpp"

namespace parley {

void LocalChecks::check(const TableInfo& t, const RowChange& change, const RowMeta& after,
                        const std::optional<Row>& values) {
  for (const auto& w : change.columns) {
    if (!t.traits[w.column].checksLocalWrites) continue;
    const auto& cell = after.cells[w.column];
    BoundedCounter state(cell && cell->counter ? *cell->counter : PNCounter{},
                         cell && cell->moves ? *cell->moves : RightsMoves{});
    std::vector<PendingWrite> pending = pendingFor(t, change.pk, w.column);
    const Value& value = values ? (*values)[w.column] : w.newValue;
    auto nameOf = [this](const SiteId& id) { return id == s_.id ? s_.name : id.shortHex(); };
    LocalWrite write{t.name, t.columns[w.column], change.pk, s_.id, w, value, std::move(state), pending, nameOf};
    Status admitted = t.resolvers[w.column]->admitLocal(write);
    if (admitted) continue;
    if (auto op = t.resolvers[w.column]->operationAfterRefusal(write))
      s_.followUps.push_back({t.name, change.pk, w.column, std::move(*op)});
    throw Error(admitted);
  }
}

bool LocalChecks::mayBeRejected(const Transaction& t) const {
  return std::any_of(t.rows.begin(), t.rows.end(), [&](const RowChange& row) {
    const TableInfo* table = s_.table(row.table);
    return table && table->mayReject;
  });
}

const std::vector<std::pair<Transaction, bool>>& LocalChecks::pending() {
  if (pending_) return *pending_;
  pending_.emplace();
  bool anyMayReject = std::any_of(s_.tables.begin(), s_.tables.end(), [](const auto& t) { return t->mayReject; });
  if (!anyMayReject) return *pending_;
  for (auto& entry : store::notFinal(s_, s_.vector))
    if (mayBeRejected(entry.first)) pending_->push_back(std::move(entry));
  return *pending_;
}

std::vector<PendingWrite> LocalChecks::pendingFor(const TableInfo& t, const Row& pk, std::uint32_t column) {
  std::vector<PendingWrite> out;
  for (const auto& [txn, rejected] : pending())
    for (const auto& row : txn.rows) {
      if (row.table != t.name || row.pk != pk) continue;
      for (const auto& w : row.columns)
        if (w.column == column) out.push_back({txn.dot.site, rejected, w});
    }
  return out;
}

}  // namespace parley
