#include "change_cursor.hpp"
#include "parley/replication.hpp"

#include <algorithm>

namespace parley::sync {

ChangeCursor::ChangeCursor(const Site& site, VersionVector since, std::size_t chunkBytes, std::size_t batchBytes)
    : site_(site), since_(std::move(since)), chunkBytes_(std::max<std::size_t>(chunkBytes, 1)), batchBytes_(batchBytes) {}

Result<bool> ChangeCursor::next(std::deque<Chunk>& out) {
  std::size_t taken = 0;
  bool full = false;
  Status st = site_.replication().forEachChangeSince(
      since_, [&](const Dot& dot, Hlc, std::string_view body) -> Status {
        if (taken > 0 && taken + body.size() > batchBytes_) {
          full = true;
          return Status::busy("batch full");  // stops the read; not an error
        }
        appendToChunks(out, body, chunkBytes_, [](std::deque<Chunk>&) { return Status::ok(); });
        taken += body.size();
        since_.advance(dot);
        ++totals_.transactions;
        totals_.bytes += body.size();
        return Status::ok();
      });
  if (!st && !full) return st;
  return taken > 0;
}

}  // namespace parley::sync
