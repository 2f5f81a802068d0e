#include "parley/sync/in_process.hpp"

#include <fmt/format.h>

#include "parley/replication.hpp"
#include "responder.hpp"

namespace parley::sync {
namespace {

// The peer's push sink, shared with its Responder (which reports what it applied).
class SharedSink final : public ChunkSink {
 public:
  explicit SharedSink(std::shared_ptr<ApplyingStream> to) : to_(std::move(to)) {}
  Status write(Chunk&& chunk) override { return to_->write(std::move(chunk)); }
  Status finish() override { return to_->finish(); }
  ApplyTotals totals() const override { return to_->totals(); }

 private:
  std::shared_ptr<ApplyingStream> to_;
};

}  // namespace

InProcessLink::InProcessLink(Site& peer, std::size_t chunkBytes)
    : peer_(peer), chunkBytes_(chunkBytes), responder_(std::make_unique<Responder>(peer)) {}

InProcessLink::~InProcessLink() = default;

Result<Hello> InProcessLink::hello(const Hello& mine) { return responder_->hello(mine); }

Status InProcessLink::pull(const VersionVector& since, ChunkSink& sink) {
  return responder_->pull(since, sink, chunkBytes_);
}

Result<std::unique_ptr<ChunkSink>> InProcessLink::push() {
  auto sink = responder_->push();
  if (!sink) return sink.status();
  return std::unique_ptr<ChunkSink>(std::make_unique<SharedSink>(std::move(*sink)));
}

Result<Goodbye> InProcessLink::acknowledge(const Goodbye& mine) { return responder_->acknowledge(mine); }

std::optional<Link::Schema> InProcessLink::peerSchema() {
  auto lines = peer_.replication().schemaDescription();
  if (!lines) return std::nullopt;
  return Schema{peer_.name(), peer_.clusterId(), peer_.replication().schemaFingerprint(),
                std::move(*lines)};
}

ApplyTotals InProcessLink::peerReceived() const { return responder_->received(); }

Result<InProcessSummary> syncInProcess(Site& a, Site& b, const SessionOptions& options) {
  if (&a == &b) return Status::invalidArgument("cannot sync a site with itself");
  InProcessLink link(b, options.chunkBytes);
  auto summary = runSession(a, link, options);
  if (!summary) return summary.status();
  return InProcessSummary{std::move(*summary), link.peerReceived()};
}

}  // namespace parley::sync

namespace parley {

Result<std::pair<sync::ApplyTotals, sync::ApplyTotals>> syncSites(Site& a, Site& b) {
  auto r = sync::syncInProcess(a, b);
  if (!r) return r.status();
  return std::pair{std::move(r->receivedByB), std::move(r->a.received)};
}

}  // namespace parley
