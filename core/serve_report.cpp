#include "serve_report.hpp"

#include <fmt/format.h>

namespace parley::serve_report {
namespace {

constexpr const char* kServe = R"sql(
CREATE TABLE IF NOT EXISTS parley_serve(id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL,
  host TEXT NOT NULL, listen TEXT NOT NULL, started_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  stopped_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS parley_serve_peers(address TEXT PRIMARY KEY, site BLOB, name TEXT NOT NULL,
  state TEXT NOT NULL, since_ms INTEGER NOT NULL, last_error TEXT NOT NULL, last_error_ms INTEGER NOT NULL,
  last_success_ms INTEGER NOT NULL, syncs_failed INTEGER NOT NULL) WITHOUT ROWID;
)sql";

std::string_view bytesOf(const SiteId& id) {
  return {reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()};
}

std::optional<SiteId> idFrom(std::string_view bytes) {
  if (bytes.size() != 16) return std::nullopt;
  return SiteId::fromBytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

std::uint64_t u64(const sql::Stmt& st, int col) { return static_cast<std::uint64_t>(st.int64(col)); }
std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

}  // namespace

void write(SiteState& s, const ServeReport& r) {
  if (!s.db.hasTable("parley_serve_peers")) s.db.exec(kServe);
  auto& serve = s.db.cached(
      "INSERT OR REPLACE INTO parley_serve(id, pid, host, listen, started_ms, updated_ms, stopped_ms) "
      "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)");
  serve.bind(1, r.pid).bindText(2, r.host).bindText(3, r.listen).bind(4, i64(r.startedMs)).bind(5, i64(r.updatedMs));
  serve.bind(6, i64(r.stoppedMs));
  serve.run();
  s.db.cached("DELETE FROM parley_serve_peers").run();
  auto& peer = s.db.cached(
      "INSERT OR REPLACE INTO parley_serve_peers(address, site, name, state, since_ms, last_error, last_error_ms, "
      "last_success_ms, syncs_failed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  for (const auto& p : r.peers) {
    peer.bindText(1, p.address);
    if (p.site) peer.bindBlob(2, bytesOf(*p.site));
    else peer.bindNull(2);
    peer.bindText(3, p.name).bindText(4, p.state).bind(5, i64(p.sinceMs)).bindText(6, p.lastError);
    peer.bind(7, i64(p.lastErrorMs)).bind(8, i64(p.lastSuccessMs)).bind(9, i64(p.syncsFailed));
    peer.run();
    peer.reset();  // binding again needs a reset statement
  }
}

std::optional<ServeReport> read(SiteState& s) {
  if (!s.db.hasTable("parley_serve") || !s.db.hasTable("parley_serve_peers")) return std::nullopt;
  sql::Stmt serve(s.db.raw(), "SELECT pid, host, listen, started_ms, updated_ms, stopped_ms FROM parley_serve");
  if (!serve.step()) return std::nullopt;
  ServeReport r{serve.int64(0), serve.text(1), serve.text(2), u64(serve, 3), u64(serve, 4), u64(serve, 5), {}};
  sql::Stmt peers(s.db.raw(),
                  "SELECT address, site, name, state, since_ms, last_error, last_error_ms, last_success_ms, "
                  "syncs_failed FROM parley_serve_peers ORDER BY address");
  while (peers.step()) {
    ServePeerRecord p;
    p.address = peers.text(0);
    if (!peers.isNull(1)) p.site = idFrom(peers.blob(1));
    p.name = peers.text(2);
    p.state = peers.text(3);
    p.sinceMs = u64(peers, 4);
    p.lastError = peers.text(5);
    p.lastErrorMs = u64(peers, 6);
    p.lastSuccessMs = u64(peers, 7);
    p.syncsFailed = u64(peers, 8);
    r.peers.push_back(std::move(p));
  }
  return r;
}

void clear(SiteState& s) { s.db.exec("DROP TABLE IF EXISTS parley_serve; DROP TABLE IF EXISTS parley_serve_peers"); }

}  // namespace parley::serve_report
