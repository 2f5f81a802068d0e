#include "undo.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "codec.hpp"
#include "log_format.hpp"

namespace parley::store {
namespace {

// The byte after an entry's metadata: what its values are.
enum ValuesForm : std::uint8_t { kAbsent = 0, kStored = 1, kFromBody = 2 };

std::int64_t siteIdx(UndoRecords u, const SiteId& id) {
  return static_cast<std::int64_t>(u.log.sites.indexOf(u.log.db, id));
}

std::int64_t keyOf(UndoRecords u, const Dot& dot) { return logKey(siteIdx(u, dot.site), dot.seq); }

Dot dotOf(UndoRecords u, std::int64_t key) {
  auto k = static_cast<std::uint64_t>(key);
  return {u.log.sites.idAt(static_cast<std::uint32_t>(k >> kLogSeqBits)), k & kMaxLogSeq};
}

// Whether the file still has format 7's table of undo records.
bool hasLegacy(UndoRecords u) {
  if (!u.cache.legacy) {
    u.cache.legacy = u.log.db.hasTable("parley_undo");
  }
  return *u.cache.legacy;
}

// The position the next saved record takes: above every position held, in the log or (format
// 7) in parley_undo. Read once per load; a rollback or another connection's commit resets it
// (SiteState::undo), and a gap left by a rollback is harmless.
std::int64_t nextPosition(UndoRecords u) {
  if (u.cache.next == 0) {
    // Each origin's newest record holds its greatest position (see the header).
    auto& st = u.log.db.cached(
        "SELECT max((SELECT applied FROM parley_log WHERE id BETWEEN idx << 40 AND (idx << 40) + 1099511627775 "
        "AND applied IS NOT NULL ORDER BY id DESC LIMIT 1)) FROM parley_sites");
    std::int64_t top = st.step() && !st.isNull(0) ? st.int64(0) : 0;
    st.reset();
    if (hasLegacy(u)) {
      auto& legacy = u.log.db.cached("SELECT max(rowid) FROM parley_undo");
      if (legacy.step() && !legacy.isNull(0)) top = std::max(top, legacy.int64(0));
      legacy.reset();
    }
    u.cache.next = top + 1;
  }
  return u.cache.next++;
}

// The position of `dot`'s record; nullopt if it has none.
std::optional<std::int64_t> positionOf(UndoRecords u, const Dot& dot) {
  auto& st = u.log.db.cached("SELECT applied FROM parley_log WHERE id = ?1");
  st.bind(1, keyOf(u, dot));
  std::optional<std::int64_t> out;
  if (st.step() && !st.isNull(0)) out = st.int64(0);
  st.reset();
  if (out || !hasLegacy(u)) return out;
  auto& legacy = u.log.db.cached("SELECT rowid FROM parley_undo WHERE site = ?1 AND seq = ?2");
  legacy.bind(1, siteIdx(u, dot.site)).bind(2, static_cast<std::int64_t>(dot.seq));
  if (legacy.step()) out = legacy.int64(0);
  legacy.reset();
  return out;
}

std::optional<std::string> takeLegacy(UndoRecords u, const Dot& dot) {
  if (!hasLegacy(u)) return std::nullopt;
  auto idx = siteIdx(u, dot.site);
  auto& st = u.log.db.cached("SELECT body FROM parley_undo WHERE site = ?1 AND seq = ?2");
  st.bind(1, idx).bind(2, static_cast<std::int64_t>(dot.seq));
  std::optional<std::string> body;
  if (st.step()) body = std::string(st.blob(0));
  st.reset();
  if (!body) return body;
  auto& del = u.log.db.cached("DELETE FROM parley_undo WHERE site = ?1 AND seq = ?2");
  del.bind(1, idx).bind(2, static_cast<std::int64_t>(dot.seq));
  del.run();
  return body;
}

}  // namespace

void undoHeader(std::string& body, std::size_t entries) { codec::Writer(body).varint(entries); }

void undoEntry(std::string& body, std::int64_t table, std::string_view key, std::optional<std::string_view> meta,
               const Row* values) {
  using codec::RawWriter;
  std::size_t bound = RawWriter::kMaxVarint + RawWriter::bytesBound(key) + 2 + (meta ? RawWriter::bytesBound(*meta) : 0) +
                      (values ? RawWriter::rowBound(*values) : 0);
  codec::appendBounded(body, bound, [&](RawWriter& w) {
    w.varint(static_cast<std::uint64_t>(table));
    w.bytes(key);
    w.byte(meta ? 1 : 0);
    if (meta) w.bytes(*meta);
    w.byte(values ? kStored : kAbsent);
    if (values) w.row(*values);
  });
}

void undoEntryFromBody(std::string& body, std::int64_t table, std::string_view key,
                       std::optional<std::string_view> meta) {
  using codec::RawWriter;
  std::size_t bound = RawWriter::kMaxVarint + RawWriter::bytesBound(key) + 2 + (meta ? RawWriter::bytesBound(*meta) : 0);
  codec::appendBounded(body, bound, [&](RawWriter& w) {
    w.varint(static_cast<std::uint64_t>(table));
    w.bytes(key);
    w.byte(meta ? 1 : 0);
    if (meta) w.bytes(*meta);
    w.byte(kFromBody);
  });
}

void undoEntryBodyUpdates(std::string& body) { undoEntry(body, 0, "", std::nullopt, nullptr); }

void saveUndoBody(UndoRecords u, const Dot& dot, std::string_view body) {
  std::int64_t key = keyOf(u, dot);
  std::int64_t position = nextPosition(u);
  auto& st = u.log.db.cached("UPDATE parley_log SET applied = ?2, undo = ?3 WHERE id = ?1");
  st.bind(1, key).bind(2, position).bindBlobUncopied(3, body);
  st.run();
  bool logged = sqlite3_changes(u.log.db.raw()) > 0;
  st.reset();  // drops the binding of `body` before it goes away
  // Not logged yet (an apply logs its new transactions once all are folded): appendLog writes it.
  if (!logged) u.cache.held.insert_or_assign(key, SiteState::HeldUndo{std::string(body), position});
}

void holdUndo(UndoRecords u, const Dot& dot, std::string&& body) {
  std::int64_t position = nextPosition(u);
  u.cache.held.insert_or_assign(keyOf(u, dot), SiteState::HeldUndo{std::move(body), position});
}

std::optional<HeldUndo> takeHeldUndo(SiteState::UndoCache& cache, std::int64_t logKey) {
  if (cache.held.empty()) return std::nullopt;
  auto node = cache.held.extract(logKey);
  if (!node) return std::nullopt;
  return HeldUndo{std::move(node.mapped().body), node.mapped().position};
}

void saveUndo(UndoRecords u, const Dot& dot, const std::vector<UndoEntry>& entries) {
  std::string body;
  undoHeader(body, entries.size());
  for (const auto& e : entries) {
    if (e.valuesFromBody) undoEntryFromBody(body, e.table, e.key, e.meta);
    else undoEntry(body, e.table, e.key, e.meta, e.values ? &*e.values : nullptr);
  }
  saveUndoBody(u, dot, body);
}

std::optional<std::string> takeUndoBody(UndoRecords u, const Dot& dot) {
  std::int64_t key = keyOf(u, dot);
  auto& st = u.log.db.cached("SELECT undo FROM parley_log WHERE id = ?1");
  st.bind(1, key);
  std::optional<std::string> body;
  if (st.step() && !st.isNull(0)) body = std::string(st.blob(0));
  st.reset();
  if (!body) return takeLegacy(u, dot);
  auto& del = u.log.db.cached("UPDATE parley_log SET applied = NULL, undo = NULL WHERE id = ?1");
  del.bind(1, key);
  del.run();
  return body;
}

std::vector<UndoEntry> takeUndo(UndoRecords u, const Dot& dot) {
  std::optional<std::string> body = takeUndoBody(u, dot);
  if (!body)
    throw Error(Status::corruption(fmt::format(
        "re-folding needs the undo record of transaction {}, which this site does not hold: its file was written "
        "by an earlier parley, which kept undo records only at order-sensitive sites, or it is damaged; "
        "clone this site anew from a current member (parley clone)",
        dot.toString())));
  codec::Reader r(*body, "undo record");
  std::vector<UndoEntry> out(r.varint());
  for (auto& e : out) {
    e.table = static_cast<std::int64_t>(r.varint());
    e.key = std::string(r.bytes());
    if (r.byte()) e.meta = std::string(r.bytes());
    switch (r.byte()) {
      case kAbsent: break;
      case kStored: e.values = r.row(); break;
      case kFromBody: e.valuesFromBody = true; break;
      default: throw Error(Status::corruption(fmt::format("undo record of {}: unknown form of values", dot.toString())));
    }
  }
  return out;
}

std::vector<Dot> undoneSince(UndoRecords u, const std::vector<Dot>& dots) {
  std::optional<std::int64_t> earliest;
  for (const Dot& dot : dots)
    if (auto at = positionOf(u, dot); at && (!earliest || *at < *earliest)) earliest = at;
  std::vector<Dot> out;
  if (!earliest) return out;
  if (hasLegacy(u)) {  // format 7's records, all placed before the log's
    auto& since = u.log.db.cached("SELECT site, seq FROM parley_undo WHERE rowid >= ?1 ORDER BY rowid");
    since.bind(1, *earliest);
    while (since.step())
      out.push_back({u.log.sites.idAt(static_cast<std::uint32_t>(since.int64(0))), static_cast<std::uint64_t>(since.int64(1))});
    since.reset();
  }
  // Each origin's log back from its newest, while its positions are not below `earliest` (a
  // row without one was applied before format 8, or is not held with a record).
  std::vector<std::pair<std::int64_t, std::int64_t>> later;  // (position, log key)
  auto& origins = u.log.db.cached("SELECT idx FROM parley_sites");
  auto& walk = u.log.db.cached("SELECT id, applied FROM parley_log WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC");
  while (origins.step()) {
    std::int64_t idx = origins.int64(0);
    walk.bind(1, logKey(idx, 1)).bind(2, logKey(idx, kMaxLogSeq));
    while (walk.step() && !walk.isNull(1) && walk.int64(1) >= *earliest) later.emplace_back(walk.int64(1), walk.int64(0));
    walk.reset();
  }
  origins.reset();
  std::sort(later.begin(), later.end());
  for (const auto& [position, key] : later) out.push_back(dotOf(u, key));
  return out;
}

void visitUndo(UndoRecords u, const std::function<void(const Dot&, std::string_view)>& visit) {
  if (hasLegacy(u)) {
    sql::Stmt all(u.log.db.raw(), "SELECT site, seq, body FROM parley_undo ORDER BY rowid");
    while (all.step())
      visit({u.log.sites.idAt(static_cast<std::uint32_t>(all.int64(0))), static_cast<std::uint64_t>(all.int64(1))}, all.blob(2));
  }
  sql::Stmt all(u.log.db.raw(), "SELECT id, undo FROM parley_log WHERE applied IS NOT NULL ORDER BY applied");
  while (all.step()) visit(dotOf(u, all.int64(0)), all.blob(1));
}

void dropUndo(sql::Db& db, std::int64_t site, std::uint64_t upTo) {
  if (!db.hasTable("parley_undo")) return;
  auto& undo = db.cached("DELETE FROM parley_undo WHERE site = ?1 AND seq <= ?2");
  undo.bind(1, site).bind(2, static_cast<std::int64_t>(upTo));
  undo.run();
}

}  // namespace parley::store
