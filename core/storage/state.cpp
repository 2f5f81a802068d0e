#include "state.hpp"

#include <algorithm>

namespace parley {

bool SiteState::orderSensitive() const {
  return std::any_of(tables.begin(), tables.end(), [](const auto& t) { return t->orderSensitive; });
}

const TableInfo* SiteState::table(std::string_view tableName) const {
  for (const auto& t : tables)
    if (t->name == tableName) return t.get();
  return nullptr;
}

}  // namespace parley
