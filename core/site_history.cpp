// Site's log as history: what peers lack, how far behind they are, and compaction.
#include <algorithm>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "parley/replication.hpp"
#include "causal_context.hpp"
#include "codec.hpp"
#include "finality.hpp"
#include "parley/txn_codec.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

std::string_view bytesOf(const SiteId& id) { return {reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()}; }

// Peers' names as their hellos (or change-set files) said them, in a table made on first use.
void noteName(SiteState& s, const SiteId& site, std::string_view name) {
  if (name.empty()) return;
  if (!s.db.hasTable("parley_site_names"))
    s.db.exec("CREATE TABLE IF NOT EXISTS parley_site_names(site BLOB PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID");
  auto& st = s.db.cached(
      "INSERT INTO parley_site_names(site, name) VALUES (?1, ?2) "
      "ON CONFLICT(site) DO UPDATE SET name = excluded.name WHERE name IS NOT excluded.name");
  st.bindBlob(1, bytesOf(site)).bindText(2, name);
  st.run();
}

std::unordered_map<SiteId, std::string, SiteIdHash> siteNames(SiteState& s) {
  std::unordered_map<SiteId, std::string, SiteIdHash> out;
  if (!s.db.hasTable("parley_site_names")) return out;
  sql::Stmt st(s.db.raw(), "SELECT site, name FROM parley_site_names");
  while (st.step())
    if (auto bytes = st.blob(0); bytes.size() == 16) out.emplace(SiteId::fromBytes(bytes.data(), bytes.size()), st.text(1));
  return out;
}

// Per origin, the highest seq compact() has dropped.
VersionVector compactedFloor(SiteState& s) {
  VersionVector floor;
  auto& st = s.db.cached("SELECT site, seq FROM parley_compacted");
  while (st.step()) floor.set(s.sites.idAt(static_cast<std::uint32_t>(st.int64(0))), static_cast<std::uint64_t>(st.int64(1)));
  return floor;
}

Status checkNotCompacted(SiteState& s, const VersionVector& peer) {
  VersionVector floor = compactedFloor(s);
  for (const auto& [origin, seq] : floor.entries()) {
    if (peer.get(origin) < seq)
      return Status::notFound(fmt::format(
          "the peer lacks transactions of {} up to seq {}, which this site has compacted away; clone the peer "
          "anew from a site",
          origin.shortHex(), seq));
  }
  return Status::ok();
}

// One origin's log rows a peer lacks, in seq order (the log's key order), read one at a time.
// An origin's HLCs grow with its seq (the HLC respects causality), so merging the origins'
// cursors by (hlc, site) yields canonical order without sorting the rows (bodies included).
struct OriginCursor {
  sql::Stmt rows;
  std::int64_t hlc = 0, site = 0;

  bool next() {
    if (!rows.step()) return false;
    hlc = rows.int64(2);
    site = rows.int64(0);
    return true;
  }
  // The greater cursor comes first out of a max-heap: the smaller (hlc, site) is visited first.
  static bool later(const OriginCursor* a, const OriginCursor* b) {
    return std::pair{a->hlc, a->site} > std::pair{b->hlc, b->site};
  }
};

// A cursor per origin `peer` lacks transactions of, each on its first row.
std::vector<std::unique_ptr<OriginCursor>> lackingCursors(SiteState& s, const VersionVector& peer) {
  std::vector<std::unique_ptr<OriginCursor>> cursors;
  for (const auto& [origin, seq] : s.vector.entries()) {
    if (peer.get(origin) >= seq) continue;
    auto site = static_cast<std::int64_t>(*s.sites.find(origin));
    auto c = std::make_unique<OriginCursor>();
    c->rows = sql::Stmt(s.db.raw(), "SELECT site, seq, hlc, body, ctx FROM parley_log WHERE id BETWEEN ?1 AND ?2 ORDER BY id");
    c->rows.bind(1, store::logKey(site, peer.get(origin) + 1)).bind(2, store::logKey(site, store::kMaxLogSeq));
    if (c->next()) cursors.push_back(std::move(c));
  }
  return cursors;
}

// Calls visit(dot, hlc, body, ctx) for each log row `peer` lacks, in canonical order (ties on
// HLC are concurrent, any order works); ctx is the row's stored context
// (causal_context.hpp), nullopt if NULL. Holds one row per origin, whatever the log's size.
template <class Visit>
Status visitLacking(SiteState& s, const VersionVector& peer, Visit&& visit) {
  if (auto st = checkNotCompacted(s, peer); !st) return st;
  auto cursors = lackingCursors(s, peer);
  std::vector<OriginCursor*> heap;
  for (auto& c : cursors) heap.push_back(c.get());
  std::make_heap(heap.begin(), heap.end(), OriginCursor::later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), OriginCursor::later);
    OriginCursor& c = *heap.back();
    const sql::Stmt& st = c.rows;
    Dot dot{s.sites.idAt(static_cast<std::uint32_t>(c.site)), static_cast<std::uint64_t>(st.int64(1))};
    auto ctx = st.isNull(4) ? std::nullopt : std::optional(st.blob(4));
    if (auto r = visit(dot, Hlc{static_cast<std::uint64_t>(c.hlc)}, st.blob(3), ctx); !r) return r;
    if (c.next()) std::push_heap(heap.begin(), heap.end(), OriginCursor::later);
    else heap.pop_back();
  }
  return Status::ok();
}

// The HLC of the oldest held transaction `acked` lacks, if any.
std::optional<Hlc> oldestLacking(SiteState& s, const VersionVector& acked) {
  std::optional<Hlc> oldest;
  auto& st = s.db.cached("SELECT hlc FROM parley_log WHERE id = ?1");
  for (const auto& [origin, seq] : s.vector.entries()) {
    if (acked.get(origin) >= seq) continue;
    st.reset();
    st.bind(1, store::logKey(*s.sites.find(origin), acked.get(origin) + 1));
    if (st.step()) {
      Hlc h{static_cast<std::uint64_t>(st.int64(0))};
      if (!oldest || h < *oldest) oldest = h;
    }
  }
  return oldest;
}

// Gives back to the file system the pages compaction freed (PRAGMA incremental_vacuum). Sites
// are created with incremental auto-vacuum; one made before that is converted once, here, by
// a VACUUM (which rewrites the file). Inside a caller's open transaction it waits for a later
// compact: neither can run in one.
void returnSpace(sql::Db& db) {
  if (db.inTransaction()) return;
  std::int64_t mode = 0;
  {
    sql::Stmt st(db.raw(), "PRAGMA auto_vacuum");
    if (st.step()) mode = st.int64(0);
  }
  constexpr std::int64_t kNone = 0, kIncremental = 2;
  if (mode == kNone) {
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    db.exec("VACUUM");
  } else if (mode == kIncremental) {
    db.exec("PRAGMA incremental_vacuum");
  }
}

}  // namespace

Status Replication::forEachChangeSince(const VersionVector& peer, const ChangeVisitor& fn) const {
  return guarded([&]() -> Status {
    impl_->refreshForRead();
    return visitLacking(impl_->state, peer, [&](const Dot& dot, Hlc hlc, std::string_view body, auto) {
      return fn(dot, hlc, body);
    });
  });
}

Result<std::vector<Transaction>> Replication::changesSince(const VersionVector& peer) const {
  return guarded([&]() -> Result<std::vector<Transaction>> {
    impl_->refreshForRead();
    ApplyState& s = impl_->state;
    std::vector<Transaction> out;
    // Bodies carry contexts as encoded; each is given whole, from the row's stored context or
    // its origin's previous transaction's.
    std::unordered_map<SiteId, VersionVector, SiteIdHash> previous;
    Status st = visitLacking(s, peer, [&](const Dot& dot, Hlc, std::string_view body, std::optional<std::string_view> ctx) {
      Transaction t = valueOrThrow(decodeTransaction(body));
      auto it = previous.find(dot.site);
      if (ctx) t.context = causal::decodeStored(s.sites, *ctx);
      else t.context = causal::advanced(it != previous.end() ? it->second : causal::of(s, dot.site, dot.seq - 1),
                                        dot.site, dot.seq);
      previous.insert_or_assign(dot.site, t.context);
      out.push_back(std::move(t));
      return Status::ok();
    });
    if (!st) return st;
    return out;
  });
}

Status Replication::noteSync(const SiteId& peer, std::string_view name) {
  return guarded([&]() -> Status {
    impl_->asApplier([&] {
      finality::acknowledge(impl_->state, peer, {});
      noteName(impl_->state, peer, name);
      auto& st = impl_->state.db.cached("UPDATE parley_acks SET last_sync_ms = ?2 WHERE site = ?1");
      st.bind(1, static_cast<std::int64_t>(impl_->state.sites.indexOf(impl_->state.db, peer)))
          .bind(2, static_cast<std::int64_t>(impl_->state.clock.nowMillis()));
      st.run();
      return 0;
    });
    return Status::ok();
  });
}

Result<std::vector<PeerStatus>> Replication::peers() {
  return guarded([&]() -> Result<std::vector<PeerStatus>> {
    impl_->refreshForRead();
    ApplyState& s = impl_->state;
    std::vector<PeerStatus> out;
    std::uint64_t now = s.clock.nowMillis();
    auto names = siteNames(s);
    for (auto& [site, acked] : finality::acknowledgements(s)) {
      if (site == s.id) continue;
      PeerStatus p{site, {}, acked, {}, 0, 0};
      if (auto it = names.find(site); it != names.end()) p.name = it->second;
      for (const auto& [origin, seq] : s.vector.entries()) p.pending += seq > acked.get(origin) ? seq - acked.get(origin) : 0;
      if (auto oldest = oldestLacking(s, acked); oldest && now > oldest->physicalMs())
        p.lagSeconds = static_cast<double>(now - oldest->physicalMs()) / 1000.0;
      auto& st = s.db.cached("SELECT last_sync_ms FROM parley_acks WHERE site = ?1");
      st.bind(1, static_cast<std::int64_t>(*s.sites.find(site)));
      if (st.step() && !st.isNull(0)) p.lastSyncMs = static_cast<std::uint64_t>(st.int64(0));
      out.push_back(std::move(p));
    }
    return out;
  });
}

Result<std::size_t> Replication::compact() {
  return guarded([&]() -> Result<std::size_t> {
    std::size_t dropped = impl_->asApplier([&]() -> std::size_t {
      ApplyState& s = impl_->state;
      // The digests leave this site's newest commit, which compaction may drop.
      store::flushDigests(s);
      auto acks = finality::acknowledgements(s);
      std::size_t count = 0;
      for (const auto& [origin, held] : s.vector.entries()) {
        std::uint64_t upTo = held;
        for (const auto& [site, v] : acks) upTo = std::min(upTo, v.get(origin));
        count += store::dropFinal(s, origin, upTo);
      }
      s.compactedStamp = store::compactedStamp(s.db);
      return count;
    });
    returnSpace(impl_->state.db);
    return dropped;
  });
}

Result<std::pair<std::uint64_t, std::uint64_t>> Replication::logSize() {
  return guarded([&]() -> Result<std::pair<std::uint64_t, std::uint64_t>> {
    auto& st = impl_->state.db.cached("SELECT count(*), coalesce(sum(length(body)), 0) FROM parley_log");
    st.step();
    return std::pair{static_cast<std::uint64_t>(st.int64(0)), static_cast<std::uint64_t>(st.int64(1))};
  });
}

}  // namespace parley
