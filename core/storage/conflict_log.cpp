#include "conflict_log.hpp"

#include <fmt/format.h>

#include "codec.hpp"

namespace parley::conflict_log {
namespace {

std::string dotsText(const Dots& dots) {
  std::string out;
  for (const auto& d : dots) out += fmt::format("{}{}:{}", out.empty() ? "" : ",", d.site.hex(), d.seq);
  return out;
}

Dot parseDot(std::string_view text) {
  auto colon = text.find(':');
  auto site = SiteId::fromHex(text.substr(0, colon));
  if (colon == std::string_view::npos || !site) throw Error(Status::corruption("parley_conflicts: bad dot"));
  return {*site, std::stoull(std::string(text.substr(colon + 1)))};
}

Dots parseDots(std::string_view text) {
  Dots out;
  while (!text.empty()) {
    auto comma = text.find(',');
    out.push_back(parseDot(text.substr(0, comma)));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

std::string keyText(const Row& pk) {
  std::string out;
  for (const auto& v : pk) out += (out.empty() ? "" : ", ") + v.toSqlLiteral();
  return out;
}

template <class Enum>
Enum parseName(const std::string& text, Enum last, std::string (*name)(Enum)) {
  for (int i = 0; i <= static_cast<int>(last); ++i)
    if (name(static_cast<Enum>(i)) == text) return static_cast<Enum>(i);
  throw Error(Status::corruption("parley_conflicts: unknown value \"" + text + "\""));
}

}  // namespace

std::string kindName(ConflictKind kind) { return toString(kind); }
std::string outcomeName(ConflictOutcome outcome) { return toString(outcome); }

void record(store::Log log, Clock& clock, const std::vector<ConflictReport>& conflicts) {
  auto& st = log.db.cached(
      "INSERT OR REPLACE INTO parley_conflicts(txn_site, txn_seq, tbl, pk, pk_key, col, kind, resolver, "
      "local_value, local_dots, local_hlc, local_site, remote_value, remote_dot, remote_hlc, remote_site, "
      "result_value, outcome, wanted_value, reason, final, detected_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, 0, ?21)");
  auto now = static_cast<std::int64_t>(clock.nowMillis());
  for (const auto& c : conflicts) {
    st.reset();
    st.bind(1, static_cast<std::int64_t>(log.sites.indexOf(log.db, c.remoteDot.site)))
        .bind(2, static_cast<std::int64_t>(c.remoteDot.seq));
    st.bindText(3, c.table).bindText(4, keyText(c.pk)).bindBlob(5, codec::encodeKey(c.pk)).bindText(6, c.column);
    st.bindText(7, kindName(c.kind)).bindText(8, c.resolver);
    st.bind(9, c.localValue).bindText(10, dotsText(c.localDots));
    st.bind(11, static_cast<std::int64_t>(c.localStamp.hlc.value)).bindText(12, c.localStamp.site.hex());
    st.bind(13, c.remoteValue).bindText(14, fmt::format("{}:{}", c.remoteDot.site.hex(), c.remoteDot.seq));
    st.bind(15, static_cast<std::int64_t>(c.remoteStamp.hlc.value)).bindText(16, c.remoteStamp.site.hex());
    st.bind(17, c.result).bindText(18, outcomeName(c.outcome));
    if (c.outcome == ConflictOutcome::kRejected) st.bind(19, c.remoteValue);
    else st.bindNull(19);
    st.bindText(20, c.reason).bind(21, now);
    st.run();
  }
}

void forget(store::Log log, const Dot& txn) {
  auto idx = log.sites.find(txn.site);
  if (!idx) return;
  auto& st = log.db.cached("DELETE FROM parley_conflicts WHERE txn_site = ?1 AND txn_seq = ?2");
  st.bind(1, static_cast<std::int64_t>(*idx)).bind(2, static_cast<std::int64_t>(txn.seq));
  st.run();
}

void markFinal(store::Log log, const SiteId& origin, std::uint64_t upTo) {
  auto idx = log.sites.find(origin);
  if (!idx) return;
  auto& st = log.db.cached("UPDATE parley_conflicts SET final = 1 WHERE final = 0 AND txn_site = ?1 AND txn_seq <= ?2");
  st.bind(1, static_cast<std::int64_t>(*idx)).bind(2, static_cast<std::int64_t>(upTo));
  st.run();
}

std::vector<ConflictReport> list(SiteState& s, const std::optional<std::string>& table) {
  auto& st = s.db.cached(
      "SELECT tbl, pk_key, col, kind, resolver, local_value, local_dots, local_hlc, local_site, remote_value, "
      "remote_dot, remote_hlc, remote_site, result_value, outcome, reason, final FROM parley_conflicts "
      "WHERE ?1 IS NULL OR tbl = ?1 ORDER BY id");
  if (table) st.bindText(1, *table);
  std::vector<ConflictReport> out;
  while (st.step()) {
    ConflictReport c;
    c.table = st.text(0);
    codec::Reader key(st.blob(1), "parley_conflicts.pk_key");
    while (!key.done()) c.pk.push_back(key.value());
    c.column = st.text(2);
    c.kind = parseName(st.text(3), ConflictKind::kSchema, kindName);
    c.resolver = st.text(4);
    c.localValue = st.value(5);
    c.localDots = parseDots(st.text(6));
    c.localStamp = {Hlc{static_cast<std::uint64_t>(st.int64(7))}, SiteId::fromHex(st.text(8)).value_or(SiteId{})};
    c.remoteValue = st.value(9);
    c.remoteDot = parseDot(st.text(10));
    c.remoteStamp = {Hlc{static_cast<std::uint64_t>(st.int64(11))}, SiteId::fromHex(st.text(12)).value_or(SiteId{})};
    c.result = st.value(13);
    c.outcome = parseName(st.text(14), ConflictOutcome::kRejected, outcomeName);
    c.remoteWon = c.outcome == ConflictOutcome::kAppliedRemote || c.outcome == ConflictOutcome::kMerged;
    c.reason = st.text(15);
    c.final = st.int64(16) != 0;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace parley::conflict_log
