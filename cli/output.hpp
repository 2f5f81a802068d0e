// Printing query results and reports: aligned tables for terminals, JSON and CSV for programs.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "parley/value.hpp"

namespace parley::cli {

enum class Format { kTable, kJson, kCsv };

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // display text
};

void printTable(std::ostream& out, const Table& t);
void printCsv(std::ostream& out, const Table& t);
// Rows as a JSON array of objects; `values` carries the typed values for JSON.
void printJson(std::ostream& out, const std::vector<std::string>& columns, const std::vector<Row>& values);

// A JSON string literal.
std::string jsonString(std::string_view s);
// A value as JSON: null, a number, a string; blobs as "x'hex'".
std::string jsonValue(const Value& v);

}  // namespace parley::cli
