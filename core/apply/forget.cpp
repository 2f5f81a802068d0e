#include "forget.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace parley {
namespace members {
namespace {

constexpr const char* kCreate =
    "CREATE TABLE IF NOT EXISTS parley_forgotten(id BLOB PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID";

}  // namespace

const std::vector<SiteId>& forgotten(Forgotten known) {
  if (known.cache) return *known.cache;
  std::vector<SiteId> ids;
  if (known.db.hasTable("parley_forgotten")) {
    sql::Stmt st(known.db.raw(), "SELECT id FROM parley_forgotten");
    while (st.step()) {
      auto bytes = st.blob(0);
      if (bytes.size() != 16) throw Error(Status::corruption("parley_forgotten: an id is not 16 bytes"));
      ids.push_back(SiteId::fromBytes(bytes.data(), bytes.size()));
    }
  }
  std::sort(ids.begin(), ids.end());
  return known.cache.emplace(std::move(ids));
}

bool isForgotten(Forgotten known, const SiteId& site) {
  const auto& ids = forgotten(known);
  return std::binary_search(ids.begin(), ids.end(), site);
}

void forget(ApplyState& s, const SiteId& site) {
  if (site == s.id || site.isNil() || isForgotten(s, site)) return;
  s.db.exec(kCreate);
  sql::Stmt insert(s.db.raw(), "INSERT OR IGNORE INTO parley_forgotten(id, at_ms) VALUES (?1, ?2)");
  insert.bindBlob(1, std::string_view(reinterpret_cast<const char*>(site.bytes.data()), site.bytes.size()))
      .bind(2, static_cast<std::int64_t>(s.clock.nowMillis()));
  insert.run();
  if (auto idx = s.sites.find(site)) {
    auto& drop = s.db.cached("DELETE FROM parley_acks WHERE site = ?1");
    drop.bind(1, static_cast<std::int64_t>(*idx));
    drop.run();
  }
  s.forgotten.reset();
  s.ackDigest.reset();
}

}  // namespace members

std::string forgottenRefusal(const SiteId& site) {
  return fmt::format("site {} was forgotten by this cluster (parley forget) and may no longer sync; clone a new "
                     "site from a current member (parley clone)",
                     site.shortHex());
}

}  // namespace parley
