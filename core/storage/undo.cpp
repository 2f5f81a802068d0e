#include "undo.hpp"

#include <fmt/format.h>

#include "codec.hpp"

namespace parley::store {
namespace {

std::int64_t siteIdx(SiteState& s, const SiteId& id) {
  return static_cast<std::int64_t>(s.sites.indexOf(s.db, id));
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
    w.byte(values ? 1 : 0);
    if (values) w.row(*values);
  });
}

void saveUndoBody(SiteState& s, const Dot& dot, std::string_view body) {
  auto& st = s.db.cached("INSERT OR REPLACE INTO parley_undo(site, seq, body) VALUES (?1, ?2, ?3)");
  st.bind(1, siteIdx(s, dot.site)).bind(2, static_cast<std::int64_t>(dot.seq)).bindBlobUncopied(3, body);
  st.run();
  st.reset();  // drops the binding of `body` before it goes away
}

void saveUndo(SiteState& s, const Dot& dot, const std::vector<UndoEntry>& entries) {
  std::string body;
  undoHeader(body, entries.size());
  for (const auto& e : entries)
    undoEntry(body, e.table, e.key, e.meta, e.values ? &*e.values : nullptr);
  saveUndoBody(s, dot, body);
}

std::vector<UndoEntry> takeUndo(SiteState& s, const Dot& dot) {
  auto idx = siteIdx(s, dot.site);
  auto& st = s.db.cached("SELECT body FROM parley_undo WHERE site = ?1 AND seq = ?2");
  st.bind(1, idx).bind(2, static_cast<std::int64_t>(dot.seq));
  if (!st.step())
    throw Error(Status::corruption(fmt::format(
        "re-folding needs the undo record of transaction {}, which this site does not hold: its file was written "
        "by an earlier parley, which kept undo records only at order-sensitive sites, or it is damaged; "
        "clone this site anew from a current member (parley clone)",
        dot.toString())));
  codec::Reader r(st.blob(0), "undo record");
  std::vector<UndoEntry> out(r.varint());
  for (auto& e : out) {
    e.table = static_cast<std::int64_t>(r.varint());
    e.key = std::string(r.bytes());
    if (r.byte()) e.meta = std::string(r.bytes());
    if (r.byte()) e.values = r.row();
  }
  st.reset();
  auto& del = s.db.cached("DELETE FROM parley_undo WHERE site = ?1 AND seq = ?2");
  del.bind(1, idx).bind(2, static_cast<std::int64_t>(dot.seq));
  del.run();
  return out;
}

std::vector<Dot> undoneSince(SiteState& s, const std::vector<Dot>& dots) {
  std::optional<std::int64_t> earliest;
  auto& find = s.db.cached("SELECT rowid FROM parley_undo WHERE site = ?1 AND seq = ?2");
  for (const Dot& dot : dots) {
    find.bind(1, siteIdx(s, dot.site)).bind(2, static_cast<std::int64_t>(dot.seq));
    if (find.step() && (!earliest || find.int64(0) < *earliest)) earliest = find.int64(0);
    find.reset();
  }
  std::vector<Dot> out;
  if (!earliest) return out;
  auto& since = s.db.cached("SELECT site, seq FROM parley_undo WHERE rowid >= ?1 ORDER BY rowid");
  since.bind(1, *earliest);
  while (since.step())
    out.push_back({s.sites.idAt(static_cast<std::uint32_t>(since.int64(0))), static_cast<std::uint64_t>(since.int64(1))});
  since.reset();
  return out;
}

std::optional<std::string> takeUndoBody(SiteState& s, const Dot& dot) {
  auto idx = siteIdx(s, dot.site);
  auto& st = s.db.cached("SELECT body FROM parley_undo WHERE site = ?1 AND seq = ?2");
  st.bind(1, idx).bind(2, static_cast<std::int64_t>(dot.seq));
  std::optional<std::string> body;
  if (st.step()) body = std::string(st.blob(0));
  st.reset();
  if (!body) return body;
  auto& del = s.db.cached("DELETE FROM parley_undo WHERE site = ?1 AND seq = ?2");
  del.bind(1, idx).bind(2, static_cast<std::int64_t>(dot.seq));
  del.run();
  return body;
}

void visitUndo(SiteState& s, const std::function<void(const Dot&, std::string_view)>& visit) {
  sql::Stmt all(s.db.raw(), "SELECT site, seq, body FROM parley_undo ORDER BY rowid");
  while (all.step())
    visit({s.sites.idAt(static_cast<std::uint32_t>(all.int64(0))), static_cast<std::uint64_t>(all.int64(1))}, all.blob(2));
}

void dropUndo(SiteState& s, std::int64_t site, std::uint64_t upTo) {
  auto& undo = s.db.cached("DELETE FROM parley_undo WHERE site = ?1 AND seq <= ?2");
  undo.bind(1, site).bind(2, static_cast<std::int64_t>(upTo));
  undo.run();
}

}  // namespace parley::store
