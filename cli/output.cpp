#include "output.hpp"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>

namespace parley::cli {
namespace {

std::size_t displayWidth(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;  // count UTF-8 code points
  return n;
}

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void printTable(std::ostream& out, const Table& t) {
  std::vector<std::size_t> width(t.columns.size());
  for (std::size_t i = 0; i < t.columns.size(); ++i) width[i] = displayWidth(t.columns[i]);
  for (const auto& row : t.rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], displayWidth(row[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) text += "  ";
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(width[i] - displayWidth(cells[i]), ' ');
    }
    out << text << "\n";
  };
  line(t.columns);
  std::vector<std::string> rule;
  for (auto w : width) rule.push_back(std::string(w, '-'));
  line(rule);
  for (const auto& row : t.rows) line(row);
  out << "(" << t.rows.size() << (t.rows.size() == 1 ? " row)\n" : " rows)\n");
}

void printCsv(std::ostream& out, const Table& t) {
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csvField(cells[i]);
    out << "\n";
  };
  line(t.columns);
  for (const auto& row : t.rows) line(row);
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string jsonValue(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return "null";
    case Value::Type::kInteger: return std::to_string(v.asInteger());
    case Value::Type::kReal: return fmt::format("{}", v.asReal());
    case Value::Type::kText: return jsonString(v.asText());
    case Value::Type::kBlob: return jsonString(v.toSqlLiteral());
  }
  return "null";
}

void printJson(std::ostream& out, const std::vector<std::string>& columns, const std::vector<Row>& values) {
  out << "[";
  for (std::size_t r = 0; r < values.size(); ++r) {
    out << (r ? ",\n " : "") << "{";
    for (std::size_t c = 0; c < columns.size() && c < values[r].size(); ++c)
      out << (c ? ", " : "") << jsonString(columns[c]) << ": " << jsonValue(values[r][c]);
    out << "}";
  }
  out << "]\n";
}

}  // namespace parley::cli
