#include "finality.hpp"

#include <algorithm>

#include "conflict_log.hpp"
#include "forget.hpp"
#include "store.hpp"

namespace parley::finality {
namespace {

VersionVector decodeVector(const SiteTable& sites, std::string_view bytes) {
  return store::decodeVector(sites, bytes, "parley_acks.vector");
}

// What settle needs from the stored acknowledgements but this site's own (`self`), decoded
// once into `cache` until one is written.
ApplyState::AckDigest& digest(store::Log log, const SiteId& self, std::optional<ApplyState::AckDigest>& cache) {
  if (cache) return *cache;
  ApplyState::AckDigest d;
  auto& st = log.db.cached("SELECT site, vector FROM parley_acks");
  while (st.step()) {
    const SiteId& site = log.sites.idAt(static_cast<std::uint32_t>(st.int64(0)));
    if (site == self) continue;  // this site's own word is its vector
    VersionVector v = decodeVector(log.sites, st.blob(1));
    d.sites.push_back(site);
    d.own.set(site, v.get(site));
    if (d.floor) d.floor->meet(v);
    else d.floor = std::move(v);
  }
  std::sort(d.sites.begin(), d.sites.end());
  return cache.emplace(std::move(d));
}

}  // namespace

void acknowledge(ApplyState& s, const SiteId& site, const VersionVector& vector) {
  if (site == s.id || site.isNil() || members::isForgotten(s, site)) return;  // forgotten: no longer a member
  auto idx = s.sites.indexOf(s.db, site);
  auto& read = s.db.cached("SELECT vector FROM parley_acks WHERE site = ?1");
  read.bind(1, static_cast<std::int64_t>(idx));
  VersionVector merged = vector;
  if (read.step()) merged.merge(decodeVector(s.sites, read.blob(0)));
  read.reset();
  auto& write = s.db.cached(
      "INSERT INTO parley_acks(site, vector) VALUES (?1, ?2) ON CONFLICT(site) DO UPDATE SET vector = ?2");
  write.bind(1, static_cast<std::int64_t>(idx)).bindBlob(2, store::encodeVector(s, merged));
  write.run();
  s.ackDigest.reset();
}

std::vector<std::pair<SiteId, VersionVector>> acknowledgements(ApplyState& s) {
  std::vector<std::pair<SiteId, VersionVector>> out{{s.id, s.vector}};
  auto& st = s.db.cached("SELECT site, vector FROM parley_acks");
  while (st.step())
    out.push_back({s.sites.idAt(static_cast<std::uint32_t>(st.int64(0))), decodeVector(s.sites, st.blob(1))});
  return out;
}

// The members whose acknowledgement every decision waits for are this site, the origins it
// holds and every site it has an acknowledgement from; what is final is the pointwise minimum of
// their acknowledged vectors (this site's own: its vector). O(S) per call for S sites
// (O(S log S) when an acknowledgement or an origin is new).
void settle(Settling at) {
  auto& d = digest(at.log, at.self, at.acks);
  if (d.originsHeard != at.vector.entries().size()) {
    for (const auto& [origin, seq] : at.vector.entries())
      if (origin != at.self && !std::binary_search(d.sites.begin(), d.sites.end(), origin) &&
          !members::isForgotten(at.forgotten, origin))
        return;  // no word yet
    d.originsHeard = at.vector.entries().size();
  }
  if (!d.own.leq(at.vector)) return;  // waiting for a member's own writes
  VersionVector upTo = at.vector;
  if (d.floor) upTo.meet(*d.floor);
  for (const auto& [origin, seq] : upTo.entries()) {
    if (seq <= at.settled.get(origin)) continue;
    store::markFinal(at.log, origin, seq);
    conflict_log::markFinal(at.log, origin, seq);
    at.settled.set(origin, seq);
  }
}

}  // namespace parley::finality
