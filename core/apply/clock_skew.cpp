#include "clock_skew.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "causal_context.hpp"
#include "store.hpp"

namespace parley {
namespace skew {
namespace {

// How many transactions back sourceOf() follows a carried timestamp.
constexpr int kMaxTrace = 32;

std::uint64_t u64(sql::Stmt& st, int col) {
  return static_cast<std::uint64_t>(st.int64(col));
}
std::int64_t i64(std::uint64_t v) {
  return static_cast<std::int64_t>(v);
}

// The transaction of `context` with the greatest timestamp (each origin's newest has its
// greatest), if the log holds any.
std::optional<std::pair<Dot, Hlc>> newestIn(store::Log log, const VersionVector& context) {
  std::optional<std::pair<Dot, Hlc>> best;
  for (const auto& [origin, seq] : context.entries()) {
    if (seq == 0) continue;
    auto hlc = store::hlcOf(log, {origin, seq});
    if (hlc && (!best || *hlc > best->second)) best = std::pair{Dot{origin, seq}, *hlc};
  }
  return best;
}

// The site whose clock put `hlc` (of transaction `dot`, full context `context`) where it is. A
// hybrid logical clock takes the greatest time it has seen: when the newest transaction of the
// causal past is as far ahead (to the millisecond a logical overflow may add), the timestamp was
// carried from it, and its source is that transaction's. Otherwise the origin's own clock.
SiteId sourceOf(causal::Contexts past, Records& records, Dot dot, Hlc hlc, VersionVector context) {
  for (int step = 0; step < kMaxTrace; ++step) {
    auto newest = newestIn(past.log, context);
    if (!newest || newest->second.physicalMs() + 1 < hlc.physicalMs()) return dot.site;
    dot = newest->first;
    hlc = newest->second;
    if (auto known = past.log.sites.find(dot.site)) {
      auto record = records.load(*known);
      if (record && record->remoteMs + 1 >= hlc.physicalMs()) return past.log.sites.idAt(record->source);
    }
    try {
      context = causal::of(past, dot.site, dot.seq);
    } catch (const Error&) {
      return dot.site;  // its context was compacted away
    }
  }
  return dot.site;
}

// Records (or clears) what `t`, its origin's newest arrival, says of that origin's clock.
// Returns the report line if it is beyond the bound.
std::optional<std::string> note(const Transaction& t, const ContextView& context, std::uint64_t nowMs,
                                std::uint64_t bound, Records& records, causal::Contexts past) {
  std::uint32_t site = past.log.sites.indexOf(past.log.db, t.dot.site);
  std::uint64_t remoteMs = t.hlc.physicalMs();
  if (remoteMs <= nowMs + bound) {
    records.clear(site);
    return std::nullopt;
  }
  std::uint64_t aheadMs = remoteMs - nowMs;
  Stored r = records.load(site).value_or(Stored{});
  if (aheadMs >= r.aheadMs) {
    r.aheadMs = aheadMs;
    r.atMs = nowMs;
  }
  r.lastMs = nowMs;
  r.remoteMs = std::max(r.remoteMs, remoteMs);
  r.source = past.log.sites.indexOf(past.log.db, sourceOf(past, records, t.dot, t.hlc, context.full()));
  records.save(site, r);
  // The line reports this arrival's skew; the record keeps the greatest.
  return describe(
      ClockSkewRecord{t.dot.site, past.log.sites.idAt(r.source), aheadMs, nowMs, nowMs, aheadMs});
}

// Each origin's newest arrival (each origin's come in seq order), as indexes into `fresh`, in
// canonical order.
std::vector<std::size_t> newestOfEach(std::span<const Transaction* const> fresh) {
  std::unordered_map<SiteId, std::size_t, SiteIdHash> newestOf;
  for (std::size_t i = 0; i < fresh.size(); ++i) newestOf.insert_or_assign(fresh[i]->dot.site, i);
  std::vector<std::size_t> newest;
  for (const auto& [site, i] : newestOf) newest.push_back(i);
  std::sort(newest.begin(), newest.end());
  return newest;
}

std::string duration(std::uint64_t ms) {
  double seconds = static_cast<double>(ms) / 1000.0;
  if (seconds < 120) return fmt::format("{:.1f} s", seconds);
  if (seconds < 7200) return fmt::format("{:.1f} min", seconds / 60);  // up to 120 min
  return fmt::format("{:.1f} h", seconds / 3600);
}

}  // namespace

std::optional<Stored> Records::load(std::uint32_t site) {
  auto& st = db_.cached(
      "SELECT source, ahead_ms, at_ms, last_ms, remote_ms FROM parley_clock_skew WHERE site = ?1");
  st.bind(1, static_cast<std::int64_t>(site));
  std::optional<Stored> out;
  if (st.step())
    out = Stored{static_cast<std::uint32_t>(st.int64(0)), u64(st, 1), u64(st, 2), u64(st, 3),
                 u64(st, 4)};
  st.reset();
  return out;
}

void Records::save(std::uint32_t site, const Stored& r) {
  auto& st = db_.cached(
      "INSERT OR REPLACE INTO parley_clock_skew(site, source, ahead_ms, at_ms, last_ms, remote_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.bind(1, static_cast<std::int64_t>(site))
      .bind(2, static_cast<std::int64_t>(r.source))
      .bind(3, i64(r.aheadMs));
  st.bind(4, i64(r.atMs)).bind(5, i64(r.lastMs)).bind(6, i64(r.remoteMs));
  st.run();
  any_ = true;
}

void Records::clear(std::uint32_t site) {
  auto& st = db_.cached("DELETE FROM parley_clock_skew WHERE site = ?1");
  st.bind(1, static_cast<std::int64_t>(site));
  st.run();
  any_.reset();
}

bool Records::any() {
  if (!any_) {
    auto& st = db_.cached("SELECT EXISTS (SELECT 1 FROM parley_clock_skew)");
    st.step();
    any_ = st.int64(0) != 0;
    st.reset();
  }
  return *any_;
}

void Records::dropUpTo(std::uint64_t limitMs) {
  auto& st = db_.cached("DELETE FROM parley_clock_skew WHERE remote_ms <= ?1");
  st.bind(1, i64(limitMs));
  st.run();
  any_.reset();
}

void noteArrivals(const Arrivals& arrivals, Bound limit, Records& records, causal::Contexts past, ApplyResult& result) {
  if (arrivals.fresh.empty()) return;
  std::uint64_t nowMs = limit.physical.nowMillis();
  auto bound = static_cast<std::uint64_t>(limit.ahead.count());
  // fresh is in canonical order: its last transaction has the greatest timestamp.
  bool beyond = arrivals.fresh.back()->hlc.physicalMs() > nowMs + bound;
  if (!beyond && !records.any()) return;
  for (std::size_t i : newestOfEach(arrivals.fresh))
    if (auto line = note(*arrivals.fresh[i], arrivals.contexts[i], nowMs, bound, records, past))
      result.warnings.push_back({ApplyWarning::Kind::kClockSkew, std::move(*line)});
  // The records real time has caught up with (current() no longer shows them) go, so that
  // applies skip this work again once no origin is ahead.
  records.dropUpTo(nowMs + bound);
}

std::vector<ClockSkewRecord> current(ApplyState& s) {
  std::uint64_t nowMs = s.clock.nowMillis();
  auto bound = static_cast<std::uint64_t>(s.hlc.maxSkew().count());
  std::vector<ClockSkewRecord> out;
  auto& st = s.db.cached(
      "SELECT site, source, ahead_ms, at_ms, last_ms, remote_ms FROM parley_clock_skew ORDER BY "
      "ahead_ms DESC");
  while (st.step()) {
    std::uint64_t remoteMs = u64(st, 5);
    if (remoteMs <= nowMs + bound) continue;  // real time caught up
    out.push_back(ClockSkewRecord{s.sites.idAt(static_cast<std::uint32_t>(st.int64(0))),
                                  s.sites.idAt(static_cast<std::uint32_t>(st.int64(1))), u64(st, 2),
                                  u64(st, 3), u64(st, 4), remoteMs - nowMs});
  }
  return out;
}

}  // namespace skew

std::string describe(const ClockSkewRecord& r,
                     const std::function<std::string(const SiteId&)>& nameOf,
                     std::string_view here) {
  auto name = [&](const SiteId& id) { return nameOf ? nameOf(id) : id.shortHex(); };
  bool carried = r.source != r.origin;
  return fmt::format(
      "clock skew: transactions of {} arrive {} ({} ms) ahead of {}'s clock{}; fix the clock at "
      "{}: its writes{} win "
      "lww conflicts until real time catches up",
      name(r.origin), skew::duration(r.greatestAheadMs), r.greatestAheadMs, here,
      carried ? fmt::format(", carried from {}, whose clock ran ahead", name(r.source)) : "",
      name(r.source), carried ? ", and those of every site that heard from it," : "");
}

}  // namespace parley
