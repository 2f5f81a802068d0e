// Where a site stands in a stream it reads (the relay's JetStream stream): kept in the site
// file, so that a file restored from an older copy reads the stream again from where it was.
// The table is made on first use; files without it read as holding no position.
#include "parley/replication.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

}  // namespace

Status Replication::notePosition(std::string_view source, std::uint64_t seq) {
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction()) return Status::busy("a transaction is open on this site");
    impl_->writeNow([&] {
      SiteState& s = impl_->state;
      if (!s.db.hasTable("parley_relay_positions"))
        s.db.exec("CREATE TABLE IF NOT EXISTS parley_relay_positions(stream TEXT PRIMARY KEY, seq INTEGER NOT NULL) "
                  "WITHOUT ROWID");
      auto& st = s.db.cached(
          "INSERT INTO parley_relay_positions(stream, seq) VALUES (?1, ?2) "
          "ON CONFLICT(stream) DO UPDATE SET seq = excluded.seq");
      st.bindText(1, source).bind(2, static_cast<std::int64_t>(seq));
      st.run();
    });
    return Status::ok();
  });
}

Result<std::optional<std::uint64_t>> Replication::position(std::string_view source) const {
  return guarded([&]() -> Result<std::optional<std::uint64_t>> {
    impl_->refreshForRead();
    SiteState& s = impl_->state;
    if (!s.db.hasTable("parley_relay_positions")) return std::optional<std::uint64_t>{};
    auto& st = s.db.cached("SELECT seq FROM parley_relay_positions WHERE stream = ?1");
    st.bindText(1, source);
    std::optional<std::uint64_t> out;
    if (st.step()) out = static_cast<std::uint64_t>(st.int64(0));
    st.reset();
    return out;
  });
}

}  // namespace parley
