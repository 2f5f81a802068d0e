// Value: one SQLite value (NULL, INTEGER, REAL, TEXT or BLOB), as captured and replicated.
//
// Equality is exact: same storage class and same bits (1 and 1.0 differ, as they do in
// SQLite's record format). Row: the values of one row, in a table's column order.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace parley {

struct Blob {
  std::string bytes;
  friend bool operator==(const Blob&, const Blob&) = default;
};

class Value {
 public:
  enum class Type : std::uint8_t { kNull = 0, kInteger = 1, kReal = 2, kText = 3, kBlob = 4 };

  Value() = default;
  static Value null() { return {}; }
  static Value integer(std::int64_t v) { return Value(Storage(v)); }
  static Value real(double v) { return Value(Storage(v)); }
  static Value text(std::string v) { return Value(Storage(std::move(v))); }
  static Value blob(std::string bytes) { return Value(Storage(Blob{std::move(bytes)})); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool isNull() const { return type() == Type::kNull; }
  bool isNumeric() const { return type() == Type::kInteger || type() == Type::kReal; }
  // REQUIRES: the matching type().
  std::int64_t asInteger() const { return std::get<std::int64_t>(v_); }
  double asReal() const { return std::get<double>(v_); }
  const std::string& asText() const { return std::get<std::string>(v_); }
  const std::string& asBlob() const { return std::get<Blob>(v_).bytes; }

  // An SQL literal: NULL, 42, 1.5, 'it''s', X'00ff'.
  std::string toSqlLiteral() const;
  // For humans: like toSqlLiteral but text unquoted.
  std::string toDisplay() const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  using Storage = std::variant<std::monostate, std::int64_t, double, std::string, Blob>;
  explicit Value(Storage v) : v_(std::move(v)) {}
  Storage v_;
};

using Row = std::vector<Value>;

}  // namespace parley
