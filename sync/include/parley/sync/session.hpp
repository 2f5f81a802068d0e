// The transport-independent parts of a sync: the handshake's messages and checks, cutting a
// stream of transactions into bounded chunks, and applying chunks as they arrive. The session
// over a Link (link.hpp) is made of them, over every link, change-set files included.
//
// Memory stays bounded by the chunk size plus the largest transaction: the sender reads the
// log as it goes, and the receiver applies each chunk's complete transactions before the next.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "parley/site.hpp"

namespace parley::sync {

// 2: transactions in the compact encoding (parley/txn_codec.hpp); peers speaking 1 are refused.
// 3: transactions in format 4 (a hash chain per origin); hellos carry chain heads and digests.
inline constexpr std::uint32_t kProtocolVersion = 3;
inline constexpr std::size_t kChunkBytes = 1 << 20;

struct Piece {
  std::string body;  // a transaction's encoded body, or a part of one
  bool last = true;  // this piece completes the transaction
};

struct Chunk {
  std::vector<Piece> pieces;
  std::size_t bytes = 0;
};

using Acks = std::vector<std::pair<SiteId, VersionVector>>;

struct Hello {
  std::uint32_t protocolVersion = kProtocolVersion;
  SiteId cluster;
  SiteId site;
  std::string name;
  std::string fingerprint;
  VersionVector vector;
  Acks acks;
  std::vector<ChainHead> heads;
  std::vector<TableDigest> digests;
  std::vector<SiteId> forgotten;  // sites removed for good (Site::forget)
};

// What a site says of itself, in a session's hello or a change-set file's header.
Result<Hello> helloOf(Site& site);
// Whether `local` may exchange transactions with the site that said `remote`: same protocol,
// cluster and fingerprint, another site id (unless `sameSite`: a record `local` wrote, read
// back), and no origin whose history differs (kDiverged).
Status checkCompatible(const Site& local, const Hello& remote, bool sameSite = false);
// kDiverged if `remote` holds the same transactions as `local` (equal vectors) but other
// digests: checked after checkCompatible by a client, which then refuses to go on.
Status checkConverged(const Site& local, const Hello& remote);
// After checkCompatible: refuses a forgotten peer, and a peer that says `local` was forgotten,
// each in one line naming the site and the remedy. Changes nothing.
Status checkForgotten(Site& local, const SiteId& peer, const std::vector<SiteId>& peerForgot);
// checkForgotten, then `local` forgets what the peer forgot.
Status takeForgotten(Site& local, const SiteId& peer, const std::vector<SiteId>& peerForgot);

struct StreamTotals {
  std::uint64_t transactions = 0;
  std::uint64_t bytes = 0;
};

// Emits, in chunks of about `chunkBytes`, every transaction `since` lacks.
Status streamChanges(const Site& site, const VersionVector& since, const std::function<Status(Chunk&&)>& emit,
                     StreamTotals* totals = nullptr, std::size_t chunkBytes = kChunkBytes);

// What a receiver did with a stream.
struct ApplyTotals {
  std::uint64_t applied = 0, duplicates = 0, refolded = 0, rejected = 0, conflicts = 0;
  std::uint64_t rows = 0;  // row changes in the transactions received (applied or not)
  std::vector<ApplyWarning> warnings;
  // The conflicts themselves, only from a ChunkApplier asked to keep them (a test looking at
  // what one delivery did); a large sync keeps just the count.
  std::vector<ConflictReport> conflictReports;
  void add(const ApplyResult& r);
  // The totals as one apply's result: the counts, the warnings and the conflicts kept.
  ApplyResult result() const;
};

// Applies a stream of chunks to a site: each chunk's complete transactions in one apply().
class ChunkApplier {
 public:
  // With `keepConflicts`, totals() also lists every conflict the applies reported.
  explicit ChunkApplier(Site& site, bool keepConflicts = false)
      : site_(site), keepConflicts_(keepConflicts) {}
  Status apply(const Chunk& chunk);
  // REQUIRES: the stream ended. kCorruption if it ended inside a transaction.
  Status finish();
  const ApplyTotals& totals() const { return totals_; }

 private:
  Site& site_;
  bool keepConflicts_ = false;
  std::string partial_;
  ApplyTotals totals_;
};

// Progress callbacks for long transfers: transactions so far.
using Progress = std::function<void(std::uint64_t transactions)>;

// What a transfer has done so far, for a progress display: called after each chunk (so as
// often as every few milliseconds; a display limits its redraws by time).
struct TransferProgress {
  enum class Phase : std::uint8_t {
    kReceiving,  // transactions arriving and being applied (sync, import)
    kSending,    // transactions read from the log and sent or written (sync, export)
    kSnapshot,   // a snapshot's bytes arriving (clone)
    kVerifying,  // a change-set file read and checked before it is applied (import)
  };
  Phase phase = Phase::kReceiving;
  std::uint64_t transactions = 0;       // complete transactions so far in this phase
  std::uint64_t rows = 0;               // their row changes, where known (0 otherwise)
  std::uint64_t bytes = 0;              // bytes so far in this phase
  std::uint64_t totalTransactions = 0;  // what the phase will carry, 0 when not known
  std::uint64_t totalBytes = 0;         // 0 when not known
};
using TransferObserver = std::function<void(const TransferProgress&)>;

// How many transactions `from` holds that `to` lacks, by their vectors.
std::uint64_t transactionsLacking(const VersionVector& from, const VersionVector& to);

}  // namespace parley::sync
