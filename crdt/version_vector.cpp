#include "parley/crdt/version_vector.hpp"

#include <algorithm>

namespace parley {
namespace {

auto findEntry(const std::vector<VersionVector::Entry>& entries, const SiteId& site) {
  return std::lower_bound(entries.begin(), entries.end(), site,
                          [](const VersionVector::Entry& e, const SiteId& s) { return e.first < s; });
}

}  // namespace

std::uint64_t VersionVector::get(const SiteId& site) const {
  auto it = findEntry(entries_, site);
  return (it != entries_.end() && it->first == site) ? it->second : 0;
}

void VersionVector::set(const SiteId& site, std::uint64_t seq) {
  auto it = entries_.begin() + (findEntry(entries_, site) - entries_.cbegin());
  bool present = it != entries_.end() && it->first == site;
  if (seq == 0) {
    if (present) entries_.erase(it);
  } else if (present) {
    it->second = seq;
  } else {
    entries_.insert(it, {site, seq});
  }
}

void VersionVector::advance(const Dot& dot) {
  if (get(dot.site) < dot.seq) set(dot.site, dot.seq);
}

bool VersionVector::containsAll(std::span<const Dot> dots) const {
  return std::all_of(dots.begin(), dots.end(), [this](const Dot& d) { return contains(d); });
}

void VersionVector::merge(const VersionVector& other) {
  std::vector<Entry> out;
  out.reserve(entries_.size() + other.entries_.size());
  auto a = entries_.begin();
  auto b = other.entries_.begin();
  while (a != entries_.end() || b != other.entries_.end()) {
    if (b == other.entries_.end() || (a != entries_.end() && a->first < b->first)) {
      out.push_back(*a++);
    } else if (a == entries_.end() || b->first < a->first) {
      out.push_back(*b++);
    } else {
      out.push_back({a->first, std::max(a->second, b->second)});
      ++a, ++b;
    }
  }
  entries_ = std::move(out);
}

void VersionVector::meet(const VersionVector& other) {
  std::vector<Entry> out;
  out.reserve(std::min(entries_.size(), other.entries_.size()));
  auto b = other.entries_.begin();
  for (const auto& a : entries_) {
    while (b != other.entries_.end() && b->first < a.first) ++b;
    if (b == other.entries_.end()) break;
    if (b->first == a.first) out.push_back({a.first, std::min(a.second, b->second)});
  }
  entries_ = std::move(out);
}

bool VersionVector::leq(const VersionVector& other) const {
  // One walk over both sorted lists: every entry of *this must meet an entry of `other` at
  // least as high.
  auto b = other.entries_.begin();
  for (const auto& [site, seq] : entries_) {
    while (b != other.entries_.end() && b->first < site) ++b;
    if (b == other.entries_.end() || b->first != site || b->second < seq) return false;
  }
  return true;
}

CausalOrder VersionVector::compare(const VersionVector& other) const {
  bool le = leq(other);
  bool ge = other.leq(*this);
  if (le && ge) return CausalOrder::Equal;
  if (le) return CausalOrder::Before;
  if (ge) return CausalOrder::After;
  return CausalOrder::Concurrent;
}

std::uint64_t VersionVector::total() const {
  std::uint64_t sum = 0;
  for (const auto& e : entries_) sum += e.second;
  return sum;
}

std::string VersionVector::toString() const {
  std::string out = "{";
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i) out += ", ";
    out += entries_[i].first.shortHex() + ":" + std::to_string(entries_[i].second);
  }
  return out + "}";
}

}  // namespace parley
