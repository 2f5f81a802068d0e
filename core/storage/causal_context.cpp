#include "causal_context.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "log_format.hpp"
#include "parley/txn_codec.hpp"

namespace parley::causal {
namespace {

using Cached = SiteState::CachedContext;

void remember(Contexts known, const SiteId& origin, std::uint64_t seq, const VersionVector& full) {
  auto& entry = known.cache[origin];
  entry.seq = seq;
  // In place while no view shares it: the entry keeps its storage (no allocation per commit).
  if (entry.base && entry.base.use_count() == 1) *entry.base = full;
  else entry.base = std::make_shared<VersionVector>(full);
  entry.above = VersionVector{};
}

Cached* cached(Contexts known, const SiteId& origin, std::uint64_t seq) {
  auto it = known.cache.find(origin);
  return it != known.cache.end() && it->second.seq == seq && it->second.base ? &it->second : nullptr;
}

VersionVector fullOf(const Cached& c) {
  VersionVector out = *c.base;
  for (const auto& [site, seq] : c.above.entries()) out.set(site, seq);
  return out;
}

// The newest stored context of `origin` at or before `seq`: the log's, else compaction's; an
// empty one (before its first transaction) when neither stores one.
VersionVector newestStored(Contexts known, std::int64_t idx, const Dot& dot) {
  std::optional<VersionVector> out;
  auto& log = known.log.db.cached(
      "SELECT ctx FROM parley_log WHERE id BETWEEN ?1 AND ?2 AND ctx IS NOT NULL ORDER BY id DESC LIMIT 1");
  log.bind(1, store::logKey(idx, 1)).bind(2, store::logKey(idx, dot.seq));
  if (log.step()) out = decodeStored(known.log.sites, log.blob(0));
  log.reset();
  if (out) return *out;
  auto& compacted = known.log.db.cached("SELECT seq, context FROM parley_compacted WHERE site = ?1");
  compacted.bind(1, idx);
  bool usable = true;
  if (compacted.step()) {
    usable = static_cast<std::uint64_t>(compacted.int64(0)) <= dot.seq && !compacted.isNull(1);
    if (usable) out = decodeStored(known.log.sites, compacted.blob(1));
  }
  compacted.reset();
  if (!usable)
    throw Error(Status::corruption(
        fmt::format("the log holds no causal context for transaction {}: compacted", dot.toString())));
  return out.value_or(VersionVector{});
}

}  // namespace

VersionVector advanced(VersionVector context, const SiteId& origin, std::uint64_t seq) {
  context.set(origin, seq > 0 ? seq - 1 : 0);
  return context;
}

VersionVector of(Contexts known, const SiteId& origin, std::uint64_t seq) {
  if (seq == 0) return {};
  if (const Cached* hit = cached(known, origin, seq)) return fullOf(*hit);
  auto idx = known.log.sites.find(origin);
  if (!idx)
    throw Error(Status::corruption(fmt::format("no causal context for transaction {}: its origin is unknown here",
                                               Dot{origin, seq}.toString())));
  VersionVector full = advanced(newestStored(known, *idx, {origin, seq}), origin, seq);
  remember(known, origin, seq, full);
  return full;
}

bool complete(Contexts known, const Transaction& t, ContextView& out) {
  const SiteId& origin = t.dot.site;
  Cached* c = cached(known, origin, t.dot.seq - 1);
  if (!c) {
    remember(known, origin, t.dot.seq - 1, of(known, origin, t.dot.seq - 1));
    c = cached(known, origin, t.dot.seq - 1);
  }
  // The cached context becomes t's, in place: the own entry advanced (advanced()), the entries
  // t carries raised.
  VersionVector& above = c->above;
  above.set(origin, t.dot.seq - 1);
  bool grew = false;
  for (const auto& [site, seq] : t.context.entries()) {
    if (site == origin) continue;  // the own entry is implied
    std::uint64_t have = above.get(site);
    if (seq <= (have ? have : c->base->get(site))) continue;
    above.set(site, seq);
    grew = true;
  }
  c->seq = t.dot.seq;
  if (above.entries().size() > kMaxAbove) {  // a new shared vector (the old one in place if unshared)
    std::shared_ptr<VersionVector> base = c->base.use_count() == 1 ? c->base : std::make_shared<VersionVector>(*c->base);
    for (const auto& [site, seq] : above.entries()) base->set(site, seq);
    c->base = std::move(base);
    above = VersionVector{};
  }
  if (c->base->entries().size() <= kCopiedContext) out.assignWhole(*c->base, c->above);
  else out.assign(c->base, c->above);
  return grew;
}

std::vector<bool> completeAll(Contexts known, std::span<const Transaction* const> batch,
                              std::vector<ContextView>& out) {
  if (out.size() < batch.size()) out.resize(batch.size());
  std::vector<bool> grew(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) grew[i] = complete(known, *batch[i], out[i]);
  return grew;
}

Encoded forCommit(Contexts kept, const Dot& dot, const VersionVector& full) {
  Encoded out;
  const Cached* previous = dot.seq == 1 ? nullptr : cached(kept, dot.site, dot.seq - 1);
  VersionVector before = previous ? advanced(fullOf(*previous), dot.site, dot.seq) : VersionVector{};
  bool known = dot.seq == 1 || (previous && before.leq(full));
  for (const auto& [site, seq] : full.entries())
    if (site != dot.site && (!known || seq > before.get(site))) out.entries.set(site, seq);
  out.grew = !known || full != before;
  remember(kept, dot.site, dot.seq, full);
  return out;
}

std::vector<Transaction> heldAfter(Contexts known, const VersionVector& vector, const Stamp& from) {
  // Each origin's HLCs grow with its seqs (apply refuses a transaction whose HLC is not after
  // its predecessor's), so its transactions at or after `from` are a suffix: read each
  // origin's log backwards until an older HLC.
  // Their bodies carry contexts as encoded (causal_context.hpp); the fold needs them full.
  std::vector<Transaction> out;
  auto& st = known.log.db.cached("SELECT hlc, body, ctx FROM parley_log WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC");
  for (const auto& [origin, seq] : vector.entries()) {
    auto site = static_cast<std::int64_t>(known.log.sites.indexOf(known.log.db, origin));
    std::vector<Transaction> newestFirst;
    std::vector<std::optional<VersionVector>> contexts;
    st.bind(1, store::logKey(site, 1)).bind(2, store::logKey(site, store::kMaxLogSeq));
    while (st.step() && static_cast<std::uint64_t>(st.int64(0)) >= from.hlc.value) {
      newestFirst.push_back(valueOrThrow(decodeTransaction(st.blob(1))));
      contexts.push_back(st.isNull(2) ? std::nullopt : std::optional(decodeStored(known.log.sites, st.blob(2))));
    }
    st.reset();
    std::optional<VersionVector> previous;
    for (std::size_t i = newestFirst.size(); i-- > 0;) {
      Transaction& t = newestFirst[i];
      if (contexts[i]) t.context = std::move(*contexts[i]);
      else t.context = advanced(previous ? *previous : of(known, origin, t.dot.seq - 1), origin, t.dot.seq);
      previous = t.context;
      if (t.stamp() > from) out.push_back(std::move(t));
    }
  }
  std::sort(out.begin(), out.end(), [](const Transaction& a, const Transaction& b) { return a.stamp() < b.stamp(); });
  return out;
}

VersionVector decodeStored(const SiteTable& sites, std::string_view bytes) {
  return store::decodeVector(sites, bytes, "stored causal context");
}

}  // namespace parley::causal
