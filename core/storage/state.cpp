#include "state.hpp"

#include <algorithm>

#include "handles.hpp"

namespace parley {

bool SiteState::orderSensitive() const { return TableLookup(*this).orderSensitive(); }

const TableInfo* SiteState::table(std::string_view tableName) const { return TableLookup(*this).named(tableName); }

bool TableLookup::orderSensitive() const {
  return std::any_of(tables_.begin(), tables_.end(), [](const auto& t) { return t->orderSensitive; });
}

const TableInfo* TableLookup::named(std::string_view name) const {
  for (const auto& t : tables_)
    if (t->name == name) return t.get();
  return nullptr;
}

const TableInfo* TableLookup::withId(std::int64_t id) const {
  for (const auto& t : tables_)
    if (t->id == id) return t.get();
  return nullptr;
}

}  // namespace parley
