#include "parley/crdt/bounded_counter.hpp"

#include <algorithm>
#include <stdexcept>

namespace parley {
namespace {

std::int64_t checkedAdd(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) throw std::overflow_error(what);
  return sum;
}

// Sorted (key, total) entries: the total of `key`, 0 if absent.
template <class K>
std::int64_t totalOf(const std::vector<std::pair<K, std::int64_t>>& entries, const K& key) {
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const auto& e, const K& k) { return e.first < k; });
  return it != entries.end() && it->first == key ? it->second : 0;
}

// Sets `key`'s total to f(old total) in sorted `entries`.
template <class K, class F>
void update(std::vector<std::pair<K, std::int64_t>>& entries, const K& key, F&& f) {
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const auto& e, const K& k) { return e.first < k; });
  if (it != entries.end() && it->first == key) it->second = f(it->second);
  else {
    std::int64_t v = f(0);
    if (v != 0) entries.insert(it, {key, v});
  }
}

template <class K>
std::vector<std::pair<K, std::int64_t>> pointwiseMax(const std::vector<std::pair<K, std::int64_t>>& a,
                                                     const std::vector<std::pair<K, std::int64_t>>& b) {
  std::vector<std::pair<K, std::int64_t>> out;
  out.reserve(a.size() + b.size());
  auto x = a.begin(), y = b.begin();
  while (x != a.end() || y != b.end()) {
    if (y == b.end() || (x != a.end() && x->first < y->first)) out.push_back(*x++);
    else if (x == a.end() || y->first < x->first) out.push_back(*y++);
    else out.push_back({x->first, std::max(x->second, y->second)}), ++x, ++y;
  }
  return out;
}

void requireNonNegative(std::int64_t amount, const char* what) {
  if (amount < 0) throw std::invalid_argument(what + std::string(": negative amount ") + std::to_string(amount));
}

}  // namespace

void RightsMoves::transfer(const SiteId& from, const SiteId& to, std::int64_t amount) {
  requireNonNegative(amount, "RightsMoves::transfer");
  if (amount == 0) return;
  update(transfers_, Pair{from, to},
         [&](std::int64_t old) { return checkedAdd(old, amount, "RightsMoves::transfer: total overflows int64"); });
}

void RightsMoves::want(const SiteId& site, std::int64_t total) {
  update(wanted_, site, [&](std::int64_t old) { return std::max(old, total); });
}

std::int64_t RightsMoves::transferred(const SiteId& from, const SiteId& to) const {
  return totalOf(transfers_, Pair{from, to});
}

std::int64_t RightsMoves::received(const SiteId& site) const {
  std::int64_t sum = 0;
  for (const auto& [pair, total] : transfers_)
    if (pair.second == site) sum = checkedAdd(sum, total, "RightsMoves::received: overflows int64");
  return sum;
}

std::int64_t RightsMoves::sent(const SiteId& site) const {
  std::int64_t sum = 0;
  for (const auto& [pair, total] : transfers_)
    if (pair.first == site) sum = checkedAdd(sum, total, "RightsMoves::sent: overflows int64");
  return sum;
}

std::int64_t RightsMoves::wanted(const SiteId& site) const { return totalOf(wanted_, site); }

void RightsMoves::merge(const RightsMoves& other) {
  transfers_ = pointwiseMax(transfers_, other.transfers_);
  wanted_ = pointwiseMax(wanted_, other.wanted_);
}

RightsMoves RightsMoves::fromTotals(std::vector<Transfer> transfers, std::vector<Want> wants) {
  RightsMoves out;
  for (const auto& [pair, total] : transfers) {
    requireNonNegative(total, "RightsMoves::fromTotals");
    std::int64_t most = total;  // a lambda may not capture a structured binding before C++20's clang 16
    update(out.transfers_, pair, [&](std::int64_t old) { return std::max(old, most); });
  }
  for (const auto& [site, total] : wants) {
    requireNonNegative(total, "RightsMoves::fromTotals");
    out.want(site, total);
  }
  return out;
}

void BoundedCounter::ask(const SiteId& site, std::int64_t amount) {
  requireNonNegative(amount, "BoundedCounter::ask");
  moves_.want(site, checkedAdd(moves_.received(site), amount, "BoundedCounter::ask: overflows int64"));
}

bool BoundedCounter::tryAdd(const SiteId& site, std::int64_t delta) {
  if (delta < 0 && rights(site) < -delta) return false;
  add(site, delta);
  return true;
}

bool BoundedCounter::tryMove(const SiteId& from, const SiteId& to, std::int64_t amount) {
  if (amount < 0 || from == to || rights(from) < amount) return false;
  move(from, to, amount);
  return true;
}

std::int64_t BoundedCounter::rights(const SiteId& site) const {
  std::int64_t own = deltas_.contribution(site);
  std::int64_t net;
  if (__builtin_sub_overflow(moves_.received(site), moves_.sent(site), &net))
    throw std::overflow_error("BoundedCounter::rights: overflows int64");
  return checkedAdd(own, net, "BoundedCounter::rights: overflows int64");
}

std::int64_t BoundedCounter::outstanding(const SiteId& site) const {
  return std::max<std::int64_t>(0, moves_.wanted(site) - moves_.received(site));
}

std::vector<SiteId> BoundedCounter::sites() const {
  std::vector<SiteId> out;
  for (const auto& e : deltas_.increments().entries()) out.push_back(e.first);
  for (const auto& e : deltas_.decrements().entries()) out.push_back(e.first);
  for (const auto& [pair, total] : moves_.transfers()) out.push_back(pair.first), out.push_back(pair.second);
  for (const auto& e : moves_.wants()) out.push_back(e.first);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void BoundedCounter::merge(const BoundedCounter& other) {
  deltas_.merge(other.deltas_);
  moves_.merge(other.moves_);
}

std::string BoundedCounter::toString() const {
  std::string out;
  for (const auto& site : sites()) out += (out.empty() ? "" : ", ") + site.shortHex() + ":" + std::to_string(rights(site));
  return "{" + out + "}";
}

}  // namespace parley
