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

// A cell of column `i` of `t`: hashed under its column id, so renames and drops of other
// columns leave it as it is; an added column's cell holding its default counts nothing, so
// adding a column changes no row's digest.
Digest128 cellOf(const TableInfo& t, std::uint64_t seed, std::uint32_t i, const Value& v) {
  if (!t.addedDefaults.empty() && t.addedDefaults[i] && *t.addedDefaults[i] == v) return {};
  return cell(seed, t.idAt(i), v);
}

// splitmix64's finalizer: the row's seed is already a hash of its table and key.
std::uint64_t mix(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Digest128 existence(std::uint64_t seed) { return {mix(seed ^ kExistence), mix(seed + kExistence)}; }

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
    if (!t.isKey[i]) sum.add(cellOf(t, seed, i, values[i]));
  return sum;
}

Digest128 ofRow(const TableInfo& t, const Row& values) { return ofRow(t, seedOfValues(t, values), values); }

}  // namespace digest

namespace {

void put64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::uint64_t get64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])} << (8 * i);
  return v;
}

void addEncoded(std::unordered_map<std::int64_t, Digest128>& into, std::string_view encoded) {
  for (std::size_t at = 0; at + 24 <= encoded.size(); at += 24)
    into[static_cast<std::int64_t>(get64(encoded, at))].add({get64(encoded, at + 8), get64(encoded, at + 16)});
}

}  // namespace

void Digests::load(sql::Db& db) {
  values_.clear();
  delta_.clear();
  sinceBase_ = 0;
  stale_ = false;
  auto& base = db.cached("SELECT tbl, high, low FROM parley_digests");
  while (base.step())
    values_[base.int64(0)] = {static_cast<std::uint64_t>(base.int64(1)), static_cast<std::uint64_t>(base.int64(2))};
  base.reset();
  // Per origin, its transactions after the base: a key range of the log each.
  auto& after = db.cached(
      "SELECT l.digests FROM parley_sites s JOIN parley_log l ON l.id BETWEEN (s.idx << 40) + 1 + "
      "coalesce((SELECT seq FROM parley_digest_base b WHERE b.site = s.idx), 0) AND (s.idx << 40) + 1099511627775 "
      "WHERE l.digests IS NOT NULL");
  while (after.step()) {
    addEncoded(values_, after.blob(0));
    ++sinceBase_;
  }
  after.reset();
}

void Digests::change(const TableInfo& t, const Row* before, const Row* after) {
  if (!before && !after) return;
  Digest128& d = values_[t.id];
  Digest128& delta = delta_[t.id];
  if (!before || !after) {  // an insert or a delete: the whole row
    Digest128 row = digest::ofRow(t, before ? *before : *after);
    before ? d.subtract(row) : d.add(row);
    before ? delta.subtract(row) : delta.add(row);
    return;
  }
  // An update (a key change arrives as a delete and an insert): the cells that changed.
  std::uint64_t seed = 0;
  bool seeded = false;
  for (std::uint32_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i] || (*before)[i] == (*after)[i]) continue;
    if (!seeded) seed = digest::seedOfValues(t, *after), seeded = true;
    Digest128 old = digest::cellOf(t, seed, i, (*before)[i]), now = digest::cellOf(t, seed, i, (*after)[i]);
    d.subtract(old);
    d.add(now);
    delta.subtract(old);
    delta.add(now);
  }
}

std::string Digests::takeDelta() {
  std::string out;
  for (const auto& [table, d] : delta_) {
    if (d == Digest128{}) continue;
    put64(out, static_cast<std::uint64_t>(table));
    put64(out, d.high);
    put64(out, d.low);
  }
  delta_.clear();
  sinceBase_ += !out.empty();
  return out;
}

void Digests::flush(sql::Db& db, const std::vector<std::pair<std::int64_t, std::uint64_t>>& held) {
  auto& st = db.cached(
      "INSERT INTO parley_digests(tbl, high, low) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(tbl) DO UPDATE SET high = excluded.high, low = excluded.low");
  for (const auto& [table, d] : values_) {
    st.bind(1, table).bind(2, static_cast<std::int64_t>(d.high)).bind(3, static_cast<std::int64_t>(d.low));
    st.run();
    st.reset();  // a statement stepped to its end takes no new bindings until reset
  }
  auto& base = db.cached(
      "INSERT INTO parley_digest_base(site, seq) VALUES (?1, ?2) ON CONFLICT(site) DO UPDATE SET seq = excluded.seq");
  for (const auto& [site, seq] : held) {
    base.bind(1, site).bind(2, static_cast<std::int64_t>(seq));
    base.run();
    base.reset();
  }
  sinceBase_ = 0;
  stale_ = false;
}

Digest128 Digests::of(std::int64_t table) const {
  auto it = values_.find(table);
  return it == values_.end() ? Digest128{} : it->second;
}

void Digests::set(std::int64_t table, const Digest128& d) {
  values_[table] = d;
  stale_ = true;  // the base must take it: no delta says so
}

}  // namespace parley
