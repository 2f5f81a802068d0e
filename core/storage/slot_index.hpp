// SlotIndex: the capture's map from (table id, integer key) to a touched row's position, for
// the common single-column integer keys.
//
// Bulk statements touch rows in key order (an UPDATE or INSERT scans or fills the table by
// rowid): per table, keys greater than every key seen so far are appended to a sorted run,
// which needs no lookup to know they are new and is searched by bisection. Other keys go to
// an open-addressing hash table with linear probing in one flat array (no node per entry),
// which grows at half full. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace parley {

class SlotIndex {
 public:
  // The position stored for (table, key), or `next` after storing it if there is none.
  std::size_t findOrAdd(std::int64_t table, std::int64_t key, std::size_t next) {
    auto& run = runOf(table);
    if (run.empty() || key > run.back().key) {
      run.push_back({key, next});
      return next;
    }
    auto at = std::lower_bound(run.begin(), run.end(), key, [](const Keyed& k, std::int64_t v) { return k.key < v; });
    if (at != run.end() && at->key == key) return at->slot;
    if ((size_ + 1) * 2 > entries_.size()) grow();
    Entry& e = probe(entries_, table, key);
    if (e.slot) return e.slot - 1;
    e = {table, key, next + 1};
    ++size_;
    return next;
  }

  void clear() {
    runs_.clear();
    // A big transaction's table is released rather than kept (and scanned) for the next.
    if (entries_.size() > kKeep) entries_ = {};
    else if (size_) entries_.assign(entries_.size(), Entry{});
    size_ = 0;
  }

 private:
  struct Entry {
    std::int64_t table = 0;
    std::int64_t key = 0;
    std::size_t slot = 0;  // position + 1; 0: empty
  };
  static constexpr std::size_t kKeep = 4096;
  struct Keyed {
    std::int64_t key;
    std::size_t slot;
  };

  std::vector<Keyed>& runOf(std::int64_t table) {
    for (auto& [id, run] : runs_)
      if (id == table) return run;
    return runs_.emplace_back(table, std::vector<Keyed>{}).second;
  }

  static std::size_t hash(std::int64_t table, std::int64_t key) {
    auto h = (static_cast<std::uint64_t>(key) ^ static_cast<std::uint64_t>(table) << 48) * 0x9E3779B97F4A7C15ULL;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }

  static Entry& probe(std::vector<Entry>& entries, std::int64_t table, std::int64_t key) {
    std::size_t mask = entries.size() - 1;
    for (std::size_t i = hash(table, key) & mask;; i = (i + 1) & mask) {
      Entry& e = entries[i];
      if (!e.slot || (e.key == key && e.table == table)) return e;
    }
  }

  void grow() {
    std::vector<Entry> bigger(entries_.empty() ? 64 : entries_.size() * 2);
    for (const Entry& e : entries_)
      if (e.slot) probe(bigger, e.table, e.key) = e;
    entries_.swap(bigger);
  }

  std::vector<std::pair<std::int64_t, std::vector<Keyed>>> runs_;  // per table id
  std::vector<Entry> entries_;
  std::size_t size_ = 0;
};

}  // namespace parley
