// Finding the rows two sites hold differently, without shipping whole tables: both sides
// summarize a key range (row count, digest, middle key); equal digests end the search there,
// small ranges list each row's key and digest, and other ranges are halved at the middle key
// (range hashes over the key order, as Cassandra's repair trees and Riak's AAE do).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/site.hpp"

namespace parley::sync {

// A peer's Site::summarize, over whatever reaches it (a site file, TCP).
using Summarizer = std::function<Result<RangeSummary>(std::string_view table, const KeyRange& range,
                                                      std::size_t listUpTo)>;

struct RowDifference {
  enum class Kind { kOnlyHere, kOnlyThere, kDifferent };
  Kind kind = Kind::kDifferent;
  Row key;
};

// The rows of `table` that `local` and the peer hold differently, in key order, at most `limit`.
Result<std::vector<RowDifference>> findDifferences(const Site& local, const Summarizer& peer, std::string_view table,
                                                   std::size_t limit = 100);

}  // namespace parley::sync
