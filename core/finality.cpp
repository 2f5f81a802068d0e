#include "finality.hpp"

#include <algorithm>

#include "codec.hpp"
#include "conflict_log.hpp"
#include "store.hpp"

namespace parley::finality {
namespace {

std::string encodeVector(SiteState& s, const VersionVector& v) {
  std::string out;
  codec::Writer w(out);
  w.varint(v.entries().size());
  for (const auto& [site, seq] : v.entries()) {
    w.varint(s.sites.indexOf(s.db, site));
    w.varint(seq);
  }
  return out;
}

VersionVector decodeVector(SiteState& s, std::string_view bytes) {
  codec::Reader r(bytes, "parley_acks.vector");
  VersionVector v;
  auto n = r.varint();
  for (std::uint64_t i = 0; i < n; ++i) {
    const SiteId& site = s.sites.idAt(static_cast<std::uint32_t>(r.varint()));
    v.set(site, r.varint());
  }
  return v;
}

// The members whose acknowledgement every decision waits for: this site, the origins it holds
// transactions from, and every site it has heard acknowledge.
std::vector<SiteId> members(SiteState& s, const std::vector<std::pair<SiteId, VersionVector>>& acks) {
  std::vector<SiteId> out{s.id};
  for (const auto& [site, seq] : s.vector.entries()) out.push_back(site);
  for (const auto& [site, v] : acks) out.push_back(site);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

void acknowledge(SiteState& s, const SiteId& site, const VersionVector& vector) {
  if (site == s.id || site.isNil()) return;
  auto idx = s.sites.indexOf(s.db, site);
  auto& read = s.db.cached("SELECT vector FROM parley_acks WHERE site = ?1");
  read.bind(1, static_cast<std::int64_t>(idx));
  VersionVector merged = vector;
  if (read.step()) merged.merge(decodeVector(s, read.blob(0)));
  read.reset();
  auto& write = s.db.cached(
      "INSERT INTO parley_acks(site, vector) VALUES (?1, ?2) ON CONFLICT(site) DO UPDATE SET vector = ?2");
  write.bind(1, static_cast<std::int64_t>(idx)).bindBlob(2, encodeVector(s, merged));
  write.run();
}

std::vector<std::pair<SiteId, VersionVector>> acknowledgements(SiteState& s) {
  std::vector<std::pair<SiteId, VersionVector>> out{{s.id, s.vector}};
  auto& st = s.db.cached("SELECT site, vector FROM parley_acks");
  while (st.step())
    out.push_back({s.sites.idAt(static_cast<std::uint32_t>(st.int64(0))), decodeVector(s, st.blob(1))});
  return out;
}

void settle(SiteState& s) {
  auto acks = acknowledgements(s);
  auto ackOf = [&](const SiteId& site) -> const VersionVector* {
    for (const auto& [id, v] : acks)
      if (id == site) return &v;
    return nullptr;
  };
  auto all = members(s, acks);
  for (const SiteId& m : all) {
    const VersionVector* ack = ackOf(m);
    if (!ack || s.vector.get(m) < ack->get(m)) return;  // waiting for m's word, or m's own writes
  }
  for (const auto& [origin, held] : s.vector.entries()) {
    std::uint64_t upTo = held;
    for (const SiteId& m : all) upTo = std::min(upTo, ackOf(m)->get(origin));
    if (upTo <= s.settled.get(origin)) continue;
    store::markFinal(s, origin, upTo);
    conflict_log::markFinal(s, origin, upTo);
    s.settled.set(origin, upTo);
  }
}

}  // namespace parley::finality
