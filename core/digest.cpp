#include "digest.hpp"

#include <algorithm>
#include <cstring>

#include <xxhash.h>

#include "catalog.hpp"

namespace parley {

void Digest128::add(const Digest128& d) {
  low += d.low;
  high += d.high + (low < d.low);
}

void Digest128::subtract(const Digest128& d) {
  std::uint64_t borrow = low < d.low;
  low -= d.low;
  high -= d.high + borrow;
}

std::string Digest128::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[static_cast<std::size_t>(15 - i)] = digits[(high >> (4 * i)) & 15];
    out[static_cast<std::size_t>(31 - i)] = digits[(low >> (4 * i)) & 15];
  }
  return out;
}

namespace digest {
namespace {

constexpr std::uint64_t kTypeStep = 0x9e3779b97f4a7c15ULL;    // spreads a value's type over the seed
constexpr std::uint64_t kColumnStep = 0xc2b2ae3d27d4eb4fULL;  // and a cell's column
constexpr std::uint64_t kExistence = 0x165667b19e3779f9ULL;   // a row's existence term

// A value's bytes as hashed: integers and reals by their 8 bytes, text and blobs as they are.
template <class F>
auto withPayload(const Value& v, F&& f) {
  switch (v.type()) {
    case Value::Type::kInteger: {
      std::int64_t i = v.asInteger();
      return f(&i, sizeof i);
    }
    case Value::Type::kReal: {
      double d = v.asReal();
      return f(&d, sizeof d);
    }
    case Value::Type::kText: return f(v.asText().data(), v.asText().size());
    case Value::Type::kBlob: return f(v.asBlob().data(), v.asBlob().size());
    case Value::Type::kNull: break;
  }
  return f(nullptr, 0);
}

std::uint64_t typeSeed(std::uint64_t seed, const Value& v) {
  return seed + (static_cast<std::uint64_t>(v.type()) + 1) * kTypeStep;
}

Digest128 cell(std::uint64_t seed, std::uint32_t column, const Value& v) {
  std::uint64_t s = typeSeed(seed + (std::uint64_t{column} + 1) * kColumnStep, v);
  XXH128_hash_t h = withPayload(v, [&](const void* data, std::size_t n) { return XXH3_128bits_withSeed(data, n, s); });
  return {h.high64, h.low64};
}

Digest128 existence(std::uint64_t seed) {
  XXH128_hash_t h = XXH3_128bits_withSeed(nullptr, 0, seed ^ kExistence);
  return {h.high64, h.low64};
}

std::uint64_t keySeed(std::uint64_t seed, const Value& v) {
  return withPayload(v, [&](const void* data, std::size_t n) { return XXH3_64bits_withSeed(data, n, typeSeed(seed, v)); });
}

std::uint64_t tableSeed(const std::string& table) { return XXH3_64bits(table.data(), table.size()); }

std::uint64_t seedOfValues(const TableInfo& t, const Row& values) {
  std::uint64_t seed = tableSeed(t.name);
  for (auto k : t.pk) seed = keySeed(seed, values[k]);
  return seed;
}

}  // namespace

std::uint64_t rowSeed(const std::string& table, const Row& pk) {
  std::uint64_t seed = tableSeed(table);
  for (const auto& v : pk) seed = keySeed(seed, v);
  return seed;
}

Digest128 ofRow(const TableInfo& t, std::uint64_t seed, const Row& values) {
  Digest128 sum = existence(seed);
  for (std::uint32_t i = 0; i < t.columns.size(); ++i)
    if (!t.isKey[i]) sum.add(cell(seed, i, values[i]));
  return sum;
}

Digest128 ofRow(const TableInfo& t, const Row& values) { return ofRow(t, seedOfValues(t, values), values); }

}  // namespace digest

void Digests::load(sql::Db& db) {
  values_.clear();
  touched_.clear();
  sql::Stmt st(db.raw(), "SELECT tbl, high, low FROM parley_digests");
  while (st.step())
    values_[st.int64(0)] = {static_cast<std::uint64_t>(st.int64(1)), static_cast<std::uint64_t>(st.int64(2))};
}

Digest128& Digests::entry(std::int64_t table) {
  if (std::find(touched_.begin(), touched_.end(), table) == touched_.end()) touched_.push_back(table);
  return values_[table];
}

void Digests::change(const TableInfo& t, const Row* before, const Row* after) {
  if (!before && !after) return;
  Digest128& d = entry(t.id);
  if (!before || !after) {  // an insert or a delete: the whole row
    Digest128 row = digest::ofRow(t, before ? *before : *after);
    before ? d.subtract(row) : d.add(row);
    return;
  }
  // An update (a key change arrives as a delete and an insert): the cells that changed.
  std::uint64_t seed = 0;
  bool seeded = false;
  for (std::uint32_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i] || (*before)[i] == (*after)[i]) continue;
    if (!seeded) seed = digest::seedOfValues(t, *after), seeded = true;
    d.subtract(digest::cell(seed, i, (*before)[i]));
    d.add(digest::cell(seed, i, (*after)[i]));
  }
}

void Digests::flush(sql::Db& db) {
  if (touched_.empty()) return;
  auto& st = db.cached(
      "INSERT INTO parley_digests(tbl, high, low) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(tbl) DO UPDATE SET high = excluded.high, low = excluded.low");
  for (auto table : touched_) {
    const Digest128& d = values_[table];
    st.bind(1, table).bind(2, static_cast<std::int64_t>(d.high)).bind(3, static_cast<std::int64_t>(d.low));
    st.run();
    st.reset();  // a statement stepped to its end takes no new bindings until reset
  }
  touched_.clear();
}

Digest128 Digests::of(std::int64_t table) const {
  auto it = values_.find(table);
  return it == values_.end() ? Digest128{} : it->second;
}

void Digests::set(std::int64_t table, const Digest128& d) { entry(table) = d; }

}  // namespace parley
