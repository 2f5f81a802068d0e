// Replication: the side of a Site that sync, links, the simulated cluster and operators' tools use.
//
// An application opens a Site, writes through exec() and reads its conflicts; everything here
// is how its transactions reach other sites and how a cluster is kept: handing out what a peer
// lacks and folding in what arrives (changesSince, apply), comparing histories, schemas and
// digests with a peer (divergence is never silent), acknowledgements and finality, membership
// (forget), compaction, and what `parley status` shows. Get it from site.replication(); it
// lives as long as its site and, like the site, is used by one thread at a time.
#pragma once

#include "parley/site.hpp"

namespace parley {

class Replication {
 public:
  Replication(const Replication&) = delete;
  Replication& operator=(const Replication&) = delete;

  // Recreates the guard triggers of every tracked table, after one was dropped or changed
  // outside parley (a site that finds one so refuses writes and syncs until then). Rows
  // written while a guard was missing stay as they are: verify finds them.
  // REQUIRES: no transaction open on the site.
  Status restoreGuards();
  // The short name this site gives another (its name for itself, else the id's first digits).
  std::string siteName(const SiteId& site) const;
  Hlc lastHlc() const;
  // Every held transaction `peer` lacks, from any origin, in canonical (hence causal) order,
  // each with its whole causal context.
  Result<std::vector<Transaction>> changesSince(const VersionVector& peer) const;
  // Calls `fn` with each held transaction `peer` lacks, in canonical order, as its encoded log
  // body (parley/txn_codec.hpp: its context holds what grew since its origin's previous
  // transaction), reading the log as it goes. Stops at the first error `fn`
  // returns. kNotFound if the peer lacks transactions this site has compacted away.
  using ChangeVisitor = std::function<Status(const Dot& dot, Hlc hlc, std::string_view body)>;
  Status forEachChangeSince(const VersionVector& peer, const ChangeVisitor& fn) const;
  // Whether `t` fits this site: it names only tracked tables, their columns and key arity, and
  // changes each row once. apply() refuses (whole batches) what does not fit.
  Status checkFits(const Transaction& t) const;
  // Applies remote transactions atomically: all of them or, on error, none. Ones already held
  // are ignored; ones whose causal context is not held are refused with kNotReady naming
  // what is missing, and nothing is applied.
  // REQUIRES: no transaction open on the site.
  Result<ApplyResult> apply(std::span<const Transaction> transactions);
  // apply() of transactions received encoded (sync, change-set files): bodies[i] holds the
  // bytes transactions[i] was decoded from (parley/txn_codec.hpp), which the log keeps as they
  // are instead of encoding the transaction again. kInvalidArgument if the sizes differ.
  Result<ApplyResult> applyEncoded(std::span<const Transaction> transactions,
                                   std::span<const std::string_view> bodies);
  // applyEncoded() of transactions handed out batch by batch: `next` points its arguments at
  // the next batch, transactions and their bodies (sizes equal), which stay valid until it is
  // called again, and at an empty batch at the end. Every batch is folded as one applyEncoded()
  // call would fold it, all in one SQLite transaction: all of them or, on any error (an Error
  // that `next` throws included), none. Nothing is opened if the first batch is empty. Batches
  // in canonical order fold as one batch would; a batch sorting before what the site holds
  // re-folds that, as apply() does.
  struct EncodedBatch {
    std::span<const Transaction> transactions;
    std::span<const std::string_view> bodies;
  };
  using EncodedBatches = std::function<EncodedBatch()>;
  Result<ApplyResult> applyEncodedBatches(const EncodedBatches& next);
  // Tables tracked through schema transactions (every table tracked by this version of parley)
  // reach every site by sync with their later changes (ADD and RENAME COLUMN, CREATE and DROP
  // INDEX, configure): sites compare the schema transactions they hold, not their schemas, so a
  // site that is merely behind is not refused. Tables tracked by hand at every site before
  // that are compared by this hash of everything that decides how a transaction applies to
  // them, as they were before their first replicated change: columns, types, NOT NULL,
  // collations, CHECK constraints, UNIQUE constraints and indexes, foreign keys and resolvers.
  // Sites whose fingerprints differ must not exchange transactions.
  std::string schemaFingerprint() const;
  // What the fingerprint is a hash of, one line per column, constraint, index or
  // configuration, each starting with its table's name: two sites' lines show what differs.
  Result<std::vector<std::string>> schemaDescription() const;
  // Every tracked table as it is now, in the fingerprint's lines: sites holding the same
  // schema transactions give the same lines (the order of columns added concurrently aside).
  Result<std::vector<std::string>> schemaNow() const;
  // Divergence is never silent (DESIGN.md). Per origin held, the head of its hash chain.
  Result<std::vector<ChainHead>> chainHeads() const;
  // kDiverged if a peer's heads show a history that is not this site's for some origin: a
  // transaction this site holds under one dot with another hash (a copied file or a restored
  // backup that wrote again), naming the origin, the seq and the remedy.
  Status checkHistories(const std::vector<ChainHead>& peer, std::string_view peerName) const;
  // Per tracked table, its digest as kept (sorted by table name).
  Result<std::vector<TableDigest>> digests() const;
  // kDiverged if the peer holds exactly this site's transactions (equal vectors) but other
  // digests: same transactions, different data. Ok (nothing compared) when vectors differ.
  Status checkDigests(const VersionVector& peerVector, const std::vector<TableDigest>& peer,
                      std::string_view peerName) const;
  // Recomputes every tracked table's digest from its rows and compares it with the kept one.
  // With `accept`, keeps the recomputed digests from now on: the site owns up to the rows it
  // holds, and the next sync with a peer holding the same transactions reports the difference.
  Result<std::vector<DigestCheck>> verify(bool accept = false);
  // The hash of a held transaction (empty if it has none); kNotFound if neither held nor the
  // last compacted one of its origin.
  Result<ChainHash> hashOf(const Dot& dot) const;
  // Writes again, as new transactions of this site, what `transactions` wrote (each one
  // transaction, in the order given): the remedy for a forked history, whose writes get a new
  // id. Numeric merge and counter columns get the same delta, other columns the same value; an
  // update or delete of a row that no longer exists writes nothing. Returns how many rows were
  // written.
  Result<std::uint64_t> reissue(std::span<const Transaction> transactions);
  // Summarizes a key range of a tracked table's rows, listing them when there are at most
  // `listUpTo`.
  Result<RangeSummary> summarize(std::string_view table, const KeyRange& range,
                                 std::size_t listUpTo) const;
  // Records what comparing with `peer` found (a kDiverged status), or clears it (ok), so that
  // status shows every divergence still standing.
  Status noteComparison(const SiteId& peer, std::string_view peerName, const Status& found);
  struct Divergence {
    SiteId peer;
    std::string peerName;
    std::uint64_t detectedMs = 0;
    std::string message;
  };
  Result<std::vector<Divergence>> divergences() const;
  // Records that `site` holds at least `vector`. Peers pass these on when they sync, so every
  // site learns what every other holds; decisions become final from them.
  Status acknowledge(const SiteId& site, const VersionVector& vector);
  // The same for many sites in one write transaction (a relay hearing from hundreds at once).
  Status acknowledge(std::span<const std::pair<SiteId, VersionVector>> acks);
  // What this site knows each site holds, itself included.
  Result<std::vector<std::pair<SiteId, VersionVector>>> acknowledgements();
  // Records that this site has just synced with `peer` directly; `name` is what its hello said
  // (status shows it), empty if unknown.
  Status noteSync(const SiteId& peer, std::string_view name = {});
  // Every other site this site knows of, with its lag.
  Result<std::vector<PeerStatus>> peers();
  // The origins whose transactions arrived beyond the clock skew bound and are still ahead.
  Result<std::vector<ClockSkewRecord>> clockSkews();
  // Replaces the report of the `parley serve` running on this site (parley_serve): one small
  // write transaction, for serve to make when something changes and every few seconds.
  // A clone or an adopted snapshot starts without one.
  Status recordServe(const ServeReport& report);
  // The last report of a serve on this site file, if any ever ran.
  Result<std::optional<ServeReport>> serveReport();
  // The conflict log counted per resolver (sorted by resolver).
  Result<std::vector<ConflictCount>> conflictCounts();
  // Removes `site` from the membership for good (a member that will never come back): finality
  // and compaction stop waiting for it, and every later sync with it is refused. Its
  // transactions already held stay. Peers learn of it when they sync. Never this site itself.
  Status forget(const SiteId& site);
  // The sites this site has forgotten, or learnt from peers were forgotten.
  Result<std::vector<SiteId>> forgotten();
  // kInvalidArgument, in one line naming `peer` and the remedy (clone), if `peer` is forgotten.
  Status checkNotForgotten(const SiteId& peer);
  // Drops from the log the transactions every member has acknowledged and whose decisions
  // are final (a replication slot's WAL, released). A peer that still needs one must be
  // cloned anew. Returns how many were dropped.
  Result<std::size_t> compact();
  // Where this site stands in a stream it reads (the relay's): every message up to stream
  // sequence `seq` of `source` is applied here (or is not for this site). Kept in the site
  // file, so a file restored from an older copy reads the stream again from its own position.
  Status notePosition(std::string_view source, std::uint64_t seq);
  // The position last noted for `source`; none if never noted (a new site, an older file).
  Result<std::optional<std::uint64_t>> position(std::string_view source) const;
  // Held transactions in the log, and its size in bytes.
  Result<std::pair<std::uint64_t, std::uint64_t>> logSize();

 private:
  friend class Site;
  Replication(Site& site, Site::Impl* impl) : site_(site), impl_(impl) {}
  Site& site_;
  Site::Impl* impl_;
};

}  // namespace parley
