// Site's strategy operations and the state counter strategies keep in cells.
#include <fmt/format.h>

#include "parley/replication.hpp"
#include "commit.hpp"
#include "codec.hpp"
#include "row_meta.hpp"
#include "site_impl.hpp"
#include "store.hpp"

namespace parley {
namespace {

std::pair<const TableInfo*, std::uint32_t> cellOf(const SiteState& s, std::string_view table, std::string_view column) {
  const TableInfo* t = s.table(table);
  if (!t) throw Error(Status::notFound(fmt::format("table \"{}\" is not tracked", table)));
  auto index = t->columnIndex(column);
  if (!index) throw Error(Status::notFound(fmt::format("table \"{}\" has no column \"{}\"", table, column)));
  if (t->isKey[*index]) throw Error(Status::invalidArgument(fmt::format("\"{}\" is a key column", column)));
  return {t, *index};
}

Site::CellState stateOf(const SiteState& s, const TableInfo& t, std::uint32_t column, Row pk, Value value,
                        std::string_view blob) {
  RowMeta meta = decodeRowMeta(blob, s.sites, t.columns.size());
  const auto& cell = meta.cells[column];
  BoundedCounter state(cell && cell->counter ? *cell->counter : PNCounter{},
                       cell && cell->moves ? *cell->moves : RightsMoves{});
  return {std::move(pk), std::move(value), std::move(state)};
}

}  // namespace

Result<Dot> Site::commitOperation(std::string_view table, const Row& pk, std::string_view column, const Value& op) {
  return guarded([&]() -> Result<Dot> {
    if (impl_->state.db.inTransaction())
      return Status::busy("a transaction is open on this site; commit or roll it back first");
    impl_->requireGuards();
    if (const TableInfo* held = impl_->state.table(table); held && held->untracking())
      return Status::invalidArgument(fmt::format("table \"{}\" is untracked: operations on it are not replicated", table));
    return impl_->writeNow([&] {
      auto [t, index] = cellOf(impl_->state, table, column);
      return parley::commitOperation(impl_->state, *t, pk, index, op);
    });
  });
}

Result<std::optional<Site::CellState>> Site::cellState(std::string_view table, const Row& pk,
                                                       std::string_view column) const {
  return guarded([&]() -> Result<std::optional<CellState>> {
    impl_->refreshForRead();
    ApplyState& s = impl_->state;
    auto [t, index] = cellOf(s, table, column);
    auto values = store::readRow(s, *t, pk);
    auto blob = store::readMetaBlob(s, *t, codec::encodeKey(pk));
    if (!values || !blob) return std::optional<CellState>();
    return std::optional(stateOf(s, *t, index, pk, (*values)[index], *blob));
  });
}

Result<std::vector<Site::CellState>> Site::cellStates(std::string_view table, std::string_view column) const {
  return guarded([&]() -> Result<std::vector<CellState>> {
    impl_->refreshForRead();
    ApplyState& s = impl_->state;
    auto [t, index] = cellOf(s, table, column);
    std::vector<CellState> out;
    std::string keys;
    for (auto k : t->pk) keys += (keys.empty() ? "" : ", ") + sql::quoteIdent(t->columns[k]);
    sql::Stmt all(s.db.raw(), t->selectAll + " ORDER BY " + keys);
    while (all.step()) {
      Row pk;
      for (auto k : t->pk) pk.push_back(all.value(static_cast<int>(k)));
      auto blob = store::readMetaBlob(s, *t, codec::encodeKey(pk));
      if (!blob) continue;
      out.push_back(stateOf(s, *t, index, std::move(pk), all.value(static_cast<int>(index)), *blob));
    }
    return out;
  });
}

std::string Replication::siteName(const SiteId& site) const {
  return site == impl_->state.id ? impl_->state.name : site.shortHex();
}

}  // namespace parley
