// The answering side of a sync session, whatever the link: what a site does with each request
// of a peer's runSession (parley/sync/link.hpp). TCP's server session (tcp_session.cpp, its
// pulls and live subscriptions included), the in-process link (in_process.cpp) and the
// simulated cluster (testing/network.cpp) all answer through one Responder per session.
//
// A link that can block answers a pull with pull(); one on an event loop (TCP) takes the
// stream a batch at a time from outgoing() or, for a live subscription, subscribe().
//
// A hello from the nil site id comes from a site being cloned: it may only take a snapshot.
// Not thread-safe: one Responder per session, on the thread that owns the site.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "change_cursor.hpp"
#include "parley/sync/link.hpp"

namespace parley::sync {

// A stream a peer asked for, read a batch at a time: what its vector lacks, counted in the
// Responder's sent() (which must outlive it). A subscription's never ends: it also hands out
// what the site receives later, except the subscriber's own transactions.
class Outgoing {
 public:
  Outgoing(const Site& site, VersionVector since, std::size_t chunkBytes, std::size_t batchBytes, StreamTotals& sent,
           std::optional<SiteId> subscriber = std::nullopt)
      : site_(site), cursor_(site, std::move(since), chunkBytes, batchBytes), sent_(sent), subscriber_(subscriber) {}
  // Appends the next batch (whole transactions, in chunks) to `out`; false when the site holds
  // nothing more the peer lacks (for now, for a subscription).
  Result<bool> next(std::deque<Chunk>& out);
  // What this stream sent so far.
  const StreamTotals& totals() const { return cursor_.totals(); }

 private:
  const Site& site_;
  ChangeCursor cursor_;
  StreamTotals& sent_;
  std::optional<SiteId> subscriber_;
};

class Responder {
 public:
  // `note` receives the lines a server logs (refusals, divergence); may be empty.
  using Note = std::function<void(const std::string&)>;
  explicit Responder(Site& site, Note note = {}) : site_(site), note_(std::move(note)) {}

  // Checks the peer's hello (compatible, histories, forgotten sites; divergence at equal
  // vectors is recorded and logged, the peer refuses to go on) and returns this site's. A
  // refusal is worded as the peer should read it ("this site" is the peer).
  Result<Hello> hello(const Hello& remote);
  // kInvalidArgument unless a compatible hello from a site (not a clone) came first.
  Status requireSync(const char* what) const;
  // Streams into `sink` every transaction `since` lacks, then finishes it.
  Status pull(const VersionVector& since, ChunkSink& sink, std::size_t chunkBytes);
  // The stream of a pull, for a link on an event loop: nothing is read until next().
  Result<std::unique_ptr<Outgoing>> outgoing(const VersionVector& since, std::size_t chunkBytes);
  // A live subscription: what `since` lacks, then what the site receives later; one per session.
  Result<std::unique_ptr<Outgoing>> subscribe(const VersionVector& since, std::size_t chunkBytes);
  // The sink the peer pushes into: each chunk is applied to this site as it arrives.
  Result<std::shared_ptr<ApplyingStream>> push();
  // Records the peer's acknowledgements, compares its end state with this site's (recorded;
  // logged when they differ) and returns this site's.
  Result<Goodbye> acknowledge(const Goodbye& theirs);

  const std::optional<Hello>& peer() const { return hello_; }
  std::string peerName() const;
  const StreamTotals& sent() const { return sent_; }
  StreamTotals& sent() { return sent_; }
  ApplyTotals received() const { return received_ ? received_->totals() : ApplyTotals{}; }

 private:
  void note(const std::string& line) const {
    if (note_) note_(line);
  }
  Status check(const Hello& remote);

  Site& site_;
  Note note_;
  std::optional<Hello> hello_;
  StreamTotals sent_;
  std::shared_ptr<ApplyingStream> received_;
  bool subscribed_ = false;
};

}  // namespace parley::sync
