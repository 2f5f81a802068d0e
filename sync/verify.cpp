#include "parley/sync/verify.hpp"
#include "parley/replication.hpp"

#include <map>

namespace parley::sync {
namespace {

// Ranges this small are listed row by row instead of halved.
constexpr std::size_t kListRows = 32;

std::string keyText(const Row& key) {
  std::string out;
  for (const auto& v : key) out += v.toSqlLiteral() + ",";
  return out;
}

class Search {
 public:
  Search(const Site& local, const Summarizer& peer, std::string_view table, std::size_t limit)
      : local_(local), peer_(peer), table_(table), limit_(limit) {}

  Status run(const KeyRange& range) {
    if (found_.size() >= limit_) return Status::ok();
    auto mine = local_.replication().summarize(table_, range, kListRows);
    if (!mine) return mine.status();
    auto theirs = peer_(table_, range, kListRows);
    if (!theirs) return theirs.status();
    if (mine->rows == theirs->rows && mine->digest == theirs->digest) return Status::ok();
    if (mine->rows <= kListRows && theirs->rows <= kListRows) {
      compareRows(*mine, *theirs);
      return Status::ok();
    }
    const auto& middle = mine->rows >= theirs->rows ? mine->middle : theirs->middle;
    // A range whose middle is its first key cannot be halved: list it.
    if (!middle || *middle == range.lo) return listWhole(range);
    if (auto st = run({range.lo, *middle}); !st) return st;
    return run({*middle, range.hi});
  }

  std::vector<RowDifference> take() { return std::move(found_); }

 private:
  Status listWhole(const KeyRange& range) {
    auto mine = local_.replication().summarize(table_, range, SIZE_MAX);
    if (!mine) return mine.status();
    auto theirs = peer_(table_, range, SIZE_MAX);
    if (!theirs) return theirs.status();
    compareRows(*mine, *theirs);
    return Status::ok();
  }

  struct Sides {
    const Row* key = nullptr;
    const std::string* here = nullptr;
    const std::string* there = nullptr;
  };

  void compareRows(const RangeSummary& mine, const RangeSummary& theirs) {
    std::map<std::string, Sides> rows;  // by the key's SQL text
    for (const auto& [key, d] : mine.keys) rows[keyText(key)] = {&key, &d, nullptr};
    for (const auto& [key, d] : theirs.keys) {
      Sides& s = rows[keyText(key)];
      if (!s.key) s.key = &key;
      s.there = &d;
    }
    for (const auto& [text, sides] : rows) {
      if (found_.size() >= limit_) return;
      const Row& key = *sides.key;
      const std::string* here = sides.here;
      const std::string* there = sides.there;
      if (here && there && *here == *there) continue;
      auto kind = !there ? RowDifference::Kind::kOnlyHere
                  : !here ? RowDifference::Kind::kOnlyThere
                          : RowDifference::Kind::kDifferent;
      found_.push_back({kind, key});
    }
  }

  const Site& local_;
  const Summarizer& peer_;
  std::string table_;
  std::size_t limit_;
  std::vector<RowDifference> found_;
};

}  // namespace

Result<std::vector<RowDifference>> findDifferences(const Site& local, const Summarizer& peer, std::string_view table,
                                                   std::size_t limit) {
  Search search(local, peer, table, limit);
  if (auto st = search.run({}); !st) return st;
  return search.take();
}

}  // namespace parley::sync
