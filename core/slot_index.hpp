// SlotIndex: the capture's map from (table id, integer key) to a touched row's position, for
// the common single-column integer keys.
//
// Open addressing with linear probing in one flat array (no node per entry: a bulk UPDATE
// touches every row of a table, and a node-based map spent its time allocating, hashing into
// cold buckets and freeing). Grows at half full. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace parley {

class SlotIndex {
 public:
  // The position stored for (table, key), or `next` after storing it if there is none.
  std::size_t findOrAdd(std::int64_t table, std::int64_t key, std::size_t next) {
    if ((size_ + 1) * 2 > entries_.size()) grow();
    Entry& e = probe(entries_, table, key);
    if (e.slot) return e.slot - 1;
    e = {table, key, next + 1};
    ++size_;
    return next;
  }

  void clear() {
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

  std::vector<Entry> entries_;
  std::size_t size_ = 0;
};

}  // namespace parley
