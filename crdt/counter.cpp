#include "parley/crdt/counter.hpp"

#include <algorithm>
#include <stdexcept>

namespace parley {
namespace {

using Entries = std::vector<GCounter::Entry>;

Entries::const_iterator findEntry(const Entries& entries, const SiteId& site) {
  return std::lower_bound(entries.begin(), entries.end(), site,
                          [](const GCounter::Entry& e, const SiteId& s) { return e.first < s; });
}

std::int64_t checkedAdd(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) throw std::overflow_error(what);
  return sum;
}

void requireNonNegative(std::int64_t amount, const char* what) {
  if (amount < 0)
    throw std::invalid_argument(what + std::string(": negative amount ") + std::to_string(amount));
}

// -delta for a negative delta; INT64_MIN has no positive counterpart.
std::int64_t magnitudeOfNegative(std::int64_t delta) {
  std::int64_t magnitude;
  if (__builtin_sub_overflow(std::int64_t{0}, delta, &magnitude)) {
    throw std::overflow_error("PNCounter::add: delta INT64_MIN cannot be negated");
  }
  return magnitude;
}

Entries pointwiseMax(const Entries& a, const Entries& b) {
  Entries out;
  out.reserve(a.size() + b.size());
  auto x = a.begin();
  auto y = b.begin();
  while (x != a.end() || y != b.end()) {
    if (y == b.end() || (x != a.end() && x->first < y->first)) {
      out.push_back(*x++);
    } else if (x == a.end() || y->first < x->first) {
      out.push_back(*y++);
    } else {
      out.push_back({x->first, std::max(x->second, y->second)});
      ++x, ++y;
    }
  }
  return out;
}

// Totals in any order; a site listed twice keeps its larger total, as merge would.
GCounter counterOfTotals(Entries totals) {
  for (const auto& e : totals) requireNonNegative(e.second, "PNCounter::fromTotals");
  std::sort(totals.begin(), totals.end());  // sorted input appends at the end
  GCounter counter;
  for (const auto& [site, total] : totals) {
    std::int64_t have = counter.get(site);
    if (total > have) counter.add(site, total - have);
  }
  return counter;
}

// Every site with a nonzero increment or decrement total, sorted.
std::vector<SiteId> sitesOf(const GCounter& p, const GCounter& n) {
  std::vector<SiteId> sites;
  for (const auto& e : p.entries()) sites.push_back(e.first);
  for (const auto& e : n.entries()) sites.push_back(e.first);
  std::sort(sites.begin(), sites.end());
  sites.erase(std::unique(sites.begin(), sites.end()), sites.end());
  return sites;
}

}  // namespace

void GCounter::add(const SiteId& site, std::int64_t amount) {
  requireNonNegative(amount, "GCounter::add");
  if (amount == 0) return;
  auto it = entries_.begin() + (findEntry(entries_, site) - entries_.cbegin());
  if (it != entries_.end() && it->first == site) {
    it->second = checkedAdd(it->second, amount, "GCounter::add: site total overflows int64");
  } else {
    entries_.insert(it, {site, amount});
  }
}

std::int64_t GCounter::get(const SiteId& site) const {
  auto it = findEntry(entries_, site);
  return (it != entries_.end() && it->first == site) ? it->second : 0;
}

std::int64_t GCounter::value() const {
  std::int64_t sum = 0;
  for (const auto& e : entries_)
    sum = checkedAdd(sum, e.second, "GCounter::value: sum overflows int64");
  return sum;
}

void GCounter::merge(const GCounter& other) {
  entries_ = pointwiseMax(entries_, other.entries_);
}

void PNCounter::add(const SiteId& site, std::int64_t delta) {
  if (delta > 0) p_.add(site, delta);
  if (delta < 0) n_.add(site, magnitudeOfNegative(delta));
}

std::int64_t PNCounter::contribution(const SiteId& site) const {
  return p_.get(site) - n_.get(site);
}

// Both totals lie in [0, INT64_MAX], so the difference cannot overflow.
std::int64_t PNCounter::value() const {
  return p_.value() - n_.value();
}

void PNCounter::merge(const PNCounter& other) {
  p_.merge(other.p_);
  n_.merge(other.n_);
}

PNCounter PNCounter::fromTotals(const std::vector<GCounter::Entry>& p,
                                const std::vector<GCounter::Entry>& n) {
  PNCounter counter;
  counter.p_ = counterOfTotals(p);
  counter.n_ = counterOfTotals(n);
  return counter;
}

std::string PNCounter::toString() const {
  std::string out;
  for (const auto& site : sitesOf(p_, n_)) {
    if (!out.empty()) out += ", ";
    out +=
        site.shortHex() + ":+" + std::to_string(p_.get(site)) + "-" + std::to_string(n_.get(site));
  }
  return "{" + out + "}";
}

}  // namespace parley
