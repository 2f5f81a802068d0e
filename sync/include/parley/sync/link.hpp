// A sync session over a Link: the protocol written once, whatever carries it.
//
// A Link is how one site (the caller of runSession, "this side") reaches a peer: four requests
// in the order a session makes them.
//   hello        both sides say who they are (Hello: cluster, protocol, fingerprint, vector,
//                chain heads, digests, forgotten sites); the peer refuses an incompatible hello
//   pull         the peer streams every transaction this side's vector lacks, in bounded
//                chunks, into a sink that applies each as it arrives
//   push         this side streams what the peer's vector lacks into a sink the peer applies
//   acknowledge  both record what the other holds (finality) and compare end states
//                (vectors and digests): equal vectors with other rows are divergence, loudly
// The peer's side of each request is the same code whatever the link (sync/responder.hpp).
// Links: TCP (tcp.hpp; Cap'n Proto RPC), in-process (in_process.hpp), change-set files
// (file_link.hpp: the exporter's hello, chunks and goodbye, read one way from the file), the
// simulated cluster (parley/testing/cluster.hpp: recorded answers, replayed one way when a
// message is delivered).
//
// Memory stays bounded by the chunk size plus the largest transaction on every link: chunks
// are read from the log as they are sent and applied (each in one commit) as they arrive, so
// a session cut anywhere keeps what arrived whole and the next one resumes from there.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "parley/site.hpp"
#include "parley/sync/session.hpp"

namespace parley::sync {

// A stream the receiver reads a chunk at a time (a file's): Link::source().
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // The next chunk; nullopt at the end of the stream (verified whole, for a file).
  virtual Result<std::optional<Chunk>> next() = 0;
};

// The receiving end of a stream of chunks.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  virtual Status write(Chunk&& chunk) = 0;
  // The stream ended. kCorruption if it ended inside a transaction.
  virtual Status finish() = 0;
  // Takes a whole stream from `source`: by default, write() of each chunk, then finish(). A
  // sink that must ask for its chunks itself (one SQLite transaction around all of them)
  // overrides it.
  virtual Status drain(ChunkSource& source);
  // What the receiver did with the stream so far (empty when it does not apply).
  virtual ApplyTotals totals() const { return {}; }
};

// A sink that applies each chunk to a site as it arrives (ChunkApplier), counting complete
// transactions and calling `progress` after each chunk. A progress callback that throws stops
// the stream: write() returns kIOError "interrupted: <what it threw>".
class ApplyingStream final : public ChunkSink {
 public:
  explicit ApplyingStream(Site& site, Progress progress = {}) : applier_(site), progress_(std::move(progress)) {}
  // Also tells `observer` after each chunk (transactions, rows, bytes; `expected`: the
  // transactions the stream should carry, 0 when not known). With `keepConflicts`, totals()
  // lists every conflict the applies reported (ChunkApplier).
  ApplyingStream(Site& site, Progress progress, TransferObserver observer, std::uint64_t expected,
                 bool keepConflicts = false)
      : applier_(site, keepConflicts), progress_(std::move(progress)), observer_(std::move(observer)) {
    seen_.totalTransactions = expected;
  }
  Status write(Chunk&& chunk) override;
  Status finish() override;
  ApplyTotals totals() const override { return applier_.totals(); }
  std::uint64_t transactions() const { return transactions_; }
  bool finished() const { return finished_; }

 private:
  ChunkApplier applier_;
  Progress progress_;
  TransferObserver observer_;
  TransferProgress seen_;
  std::uint64_t transactions_ = 0;
  bool finished_ = false;
};

// A site's state as a session ends: equal vectors must come with equal digests.
struct EndState {
  VersionVector vector;
  std::vector<TableDigest> digests;
};
Result<EndState> endStateOf(Site& site);

// What each side says as a session ends.
struct Goodbye {
  Acks acks;                     // the acknowledged vectors it knows of
  std::optional<EndState> state;  // absent: nothing said (an older peer)
};

class Link {
 public:
  virtual ~Link() = default;
  // Sends this side's hello; returns the peer's, or the peer's refusal in one line.
  virtual Result<Hello> hello(const Hello& mine) = 0;
  // The peer streams every transaction `since` lacks into `sink`, then finishes it.
  virtual Status pull(const VersionVector& since, ChunkSink& sink) = 0;
  // The same stream, for this side to read a chunk at a time, if the link can give it so (a
  // file); null: the link only pushes, through pull(). The session drains a source into its sink.
  virtual Result<std::unique_ptr<ChunkSource>> source(const VersionVector& since) {
    (void)since;
    return std::unique_ptr<ChunkSource>();
  }
  // Opens the stream to the peer: each chunk written is applied there as it arrives.
  virtual Result<std::unique_ptr<ChunkSink>> push() = 0;
  // Sends this side's acknowledgements and end state; returns the peer's.
  virtual Result<Goodbye> acknowledge(const Goodbye& mine) = 0;
  // The peer's name, cluster, fingerprint and schema, one line per item
  // (Site::schemaDescription), to name what differs when fingerprints do; nullopt when the
  // link cannot tell.
  struct Schema {
    std::string site;
    SiteId cluster;
    std::string fingerprint;
    std::vector<std::string> lines;
  };
  virtual std::optional<Schema> peerSchema() { return std::nullopt; }
};

struct SessionOptions {
  std::size_t chunkBytes = kChunkBytes;
  Progress progress;  // optional: transactions received so far
  TransferObserver observer = nullptr;  // optional: both directions, with totals (session.hpp)
  // false: a session in one direction, over a link that carries nothing back (the simulated
  // cluster's messages, a change-set file): this side pulls and takes the peer's goodbye, and
  // pushes nothing.
  bool push = true;
  // true: the received totals list every conflict (ApplyTotals::conflictReports), for a
  // caller that reports what one session applied (the simulated cluster's deliver()).
  bool keepConflicts = false;
  // true: the peer may say this site's own id. A live peer saying it is a copy of this site's
  // file and is refused; a record this site wrote (its own change-set file) may be read back.
  bool sameSite = false;
  // false: a session that applied nothing is not recorded as a sync with the peer (a file
  // read again is no exchange), nor is one with this site itself.
  bool noteEmpty = true;
  // The sink the pull applies through, made once the peer's hello is checked (`peer`: what it
  // said). Empty: an ApplyingStream (each chunk in a commit of its own, told `progress`,
  // `observer` and `keepConflicts`). A caller's sink chooses how what arrives is applied: all
  // of it in one SQLite transaction (draining the link's source), or checked whole before any
  // of it (change-set files: importOptions, changeset.hpp); its totals() are the session's
  // received totals.
  using SinkFactory = std::function<Result<std::unique_ptr<ChunkSink>>(Site& site, const Hello& peer)>;
  SinkFactory sink = nullptr;
};

struct SyncSummary {
  Hello peer;             // what the peer said of itself
  StreamTotals sent;      // transactions this side sent
  ApplyTotals received;   // what this side applied of the peer's
};

// The steps of a session, for a link that runs them apart: a live subscription (tcp.hpp)
// greets, then streams, and exchanges goodbyes now and then while it lasts.
//
// Sends this site's hello and checks the peer's (compatibility, naming what differs when the
// link can tell the peer's schema; histories; digests when both hold the same transactions,
// recorded; forgotten sites, which this site then forgets too). Returns the peer's hello, or
// the refusal in one line.
Result<Hello> greet(Site& site, Link& link);
// What this site says as a session ends: its acknowledgements and end state.
Result<Goodbye> goodbyeOf(Site& site);
// Takes the peer's goodbye: records its acknowledgements, the sync (unless `synced` is false:
// a replayed change-set file brought nothing), and the comparison of end states, which it
// returns (kDiverged: the same transactions, other rows).
Status takeGoodbye(Site& site, const Hello& peer, const Goodbye& theirs, bool synced = true);

// One sync of `site` with the peer at the end of `link`: hello and its checks (compatibility,
// histories, digests when both hold the same transactions, forgotten sites), pull (then this
// site forgets what the peer forgot), push, acknowledge. Any refusal or failure is one line
// naming the problem and the remedy; what arrived before a failure stays applied (each chunk
// commits, unless options.sink applies otherwise). Until the pull has ended the site is only
// changed by what the sink applied and by the record of a divergence found at hello.
Result<SyncSummary> runSession(Site& site, Link& link, const SessionOptions& options = {});

}  // namespace parley::sync
