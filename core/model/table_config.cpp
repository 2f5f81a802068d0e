// TableConfig's text form, as stored in parley_tables and hashed into the schema fingerprint:
// space-separated KEY=VALUE words. A column name that is not a plain word (it holds white
// space, '=' or '"', is empty, or is one of the reserved keys) is written double-quoted with
// '"' doubled, as SQL quotes identifiers, so every column name round-trips and plain names
// keep the form older sites stored.
#include <cctype>

#include "parley/resolver.hpp"

namespace parley {
namespace {

bool isReservedKey(std::string_view key) {
  return key == "columns" || key == "insert/insert" || key == "update/delete" || key == "delete/update";
}

bool isPlain(std::string_view name) {
  if (name.empty() || isReservedKey(name)) return false;
  for (unsigned char c : name)
    if (std::isspace(c) || c == '=' || c == '"') return false;
  return true;
}

std::string quoteKey(std::string_view name) {
  if (isPlain(name)) return std::string(name);
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

Status expected(std::string_view text, std::size_t at) {
  return Status::invalidArgument("resolver config: expected KEY=VALUE at \"" + std::string(text.substr(at, 40)) + "\"");
}

// Reads a quoted key starting at text[at] == '"'; `at` ends after the closing quote.
bool readQuoted(std::string_view text, std::size_t& at, std::string& key) {
  for (++at; at < text.size(); ++at) {
    if (text[at] != '"') {
      key += text[at];
    } else if (at + 1 < text.size() && text[at + 1] == '"') {
      key += '"';
      ++at;
    } else {
      ++at;
      return true;
    }
  }
  return false;
}

bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

const std::string& TableConfig::strategyFor(const std::string& column) const {
  auto it = overrides.find(column);
  return it == overrides.end() ? columns : it->second;
}

std::string TableConfig::toString() const {
  std::string out = "columns=" + columns;
  for (const auto& [column, strategy] : overrides) out += " " + quoteKey(column) + "=" + strategy;
  out += " insert/insert=" + insertInsert + " update/delete=" + updateDelete + " delete/update=" + deleteUpdate;
  return out;
}

Result<TableConfig> TableConfig::parse(std::string_view text) {
  TableConfig c;
  std::size_t at = 0;
  while (true) {
    while (at < text.size() && isSpace(text[at])) ++at;
    if (at == text.size()) return c;
    std::size_t start = at;
    std::string key;
    bool quoted = text[at] == '"';
    if (quoted) {
      if (!readQuoted(text, at, key)) return expected(text, start);
    } else {
      while (at < text.size() && text[at] != '=' && !isSpace(text[at])) key += text[at++];
    }
    if (at == text.size() || text[at] != '=' || (!quoted && key.empty())) return expected(text, start);
    std::size_t valueStart = ++at;
    while (at < text.size() && !isSpace(text[at])) ++at;
    std::string value(text.substr(valueStart, at - valueStart));
    if (value.empty() || value.find('=') != std::string::npos) return expected(text, start);
    if (quoted) c.overrides[key] = value;
    else if (key == "columns") c.columns = value;
    else if (key == "insert/insert") c.insertInsert = value;
    else if (key == "update/delete") c.updateDelete = value;
    else if (key == "delete/update") c.deleteUpdate = value;
    else c.overrides[key] = value;
  }
}

}  // namespace parley
