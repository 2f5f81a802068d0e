// The in-process link: two sites open in one process (two files, or two :memory: sites) sync
// through the same session as over TCP (parley/sync/link.hpp), the peer answering through
// the same code as a server. Chunks go straight from one site's log to the other's apply, so
// memory stays bounded by the chunk size plus the largest transaction, whatever is synced.
// `parley sync a.db b.db` uses it.
#pragma once

#include <memory>
#include <utility>

#include "parley/site.hpp"
#include "parley/sync/link.hpp"

namespace parley::sync {

class Responder;

class InProcessLink final : public Link {
 public:
  // `peer` must outlive the link; `chunkBytes` bounds the chunks the peer sends.
  explicit InProcessLink(Site& peer, std::size_t chunkBytes = kChunkBytes);
  ~InProcessLink() override;

  Result<Hello> hello(const Hello& mine) override;
  Status pull(const VersionVector& since, ChunkSink& sink) override;
  Result<std::unique_ptr<ChunkSink>> push() override;
  Result<Goodbye> acknowledge(const Goodbye& mine) override;
  std::optional<Schema> peerSchema() override;

  // What the peer applied of what this side pushed.
  ApplyTotals peerReceived() const;

 private:
  Site& peer_;
  std::size_t chunkBytes_;
  std::unique_ptr<Responder> responder_;
};

// What each of two sites applied of the other's in one in-process sync.
struct InProcessSummary {
  SyncSummary a;           // a's side: a's hello view of b, what a sent and applied
  ApplyTotals receivedByB;  // what b applied of a's
};

// Syncs `a` with `b`, both open in this process: a's session over an InProcessLink to b.
Result<InProcessSummary> syncInProcess(Site& a, Site& b, const SessionOptions& options = {});

}  // namespace parley::sync

namespace parley {

// Syncs two sites in one process (sync::syncInProcess): each applies what it lacks of the
// other's transactions, then they exchange acknowledgements and compare end states. Returns
// (what b applied, what a applied).
Result<std::pair<sync::ApplyTotals, sync::ApplyTotals>> syncSites(Site& a, Site& b);

}  // namespace parley
