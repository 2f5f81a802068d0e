#include "parley/value.hpp"

#include <cstring>
#include <fmt/format.h>

namespace parley {

bool operator==(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  if (a.type() == Value::Type::kReal) {
    double x = a.asReal(), y = b.asReal();
    return std::memcmp(&x, &y, sizeof x) == 0;
  }
  return a.v_ == b.v_;
}

std::string Value::toSqlLiteral() const {
  switch (type()) {
    case Type::kNull: return "NULL";
    case Type::kInteger: return std::to_string(asInteger());
    case Type::kReal: return fmt::format("{}", asReal());
    case Type::kText: {
      std::string out = "'";
      for (char c : asText()) {
        if (c == '\'') out += '\'';
        out += c;
      }
      return out + "'";
    }
    case Type::kBlob: {
      std::string out = "X'";
      for (unsigned char c : asBlob()) out += fmt::format("{:02x}", c);
      return out + "'";
    }
  }
  return "NULL";
}

std::string Value::toDisplay() const { return type() == Type::kText ? asText() : toSqlLiteral(); }

}  // namespace parley
