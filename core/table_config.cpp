#include <sstream>

#include "parley/resolver.hpp"

namespace parley {

const std::string& TableConfig::strategyFor(const std::string& column) const {
  auto it = overrides.find(column);
  return it == overrides.end() ? columns : it->second;
}

std::string TableConfig::toString() const {
  std::string out = "columns=" + columns;
  for (const auto& [column, strategy] : overrides) out += " " + column + "=" + strategy;
  out += " insert/insert=" + insertInsert + " update/delete=" + updateDelete + " delete/update=" + deleteUpdate;
  return out;
}

Result<TableConfig> TableConfig::parse(std::string_view text) {
  TableConfig c;
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    auto eq = word.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == word.size())
      return Status::invalidArgument("resolver config: expected KEY=VALUE, got \"" + word + "\"");
    std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "columns") c.columns = value;
    else if (key == "insert/insert") c.insertInsert = value;
    else if (key == "update/delete") c.updateDelete = value;
    else if (key == "delete/update") c.deleteUpdate = value;
    else c.overrides[key] = value;
  }
  return c;
}

}  // namespace parley
