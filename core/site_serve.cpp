// Site's reports for operators: what a `parley serve` said of its peers, and the conflict log
// counted per resolver (core/serve_report.hpp).
#include "parley/replication.hpp"
#include "serve_report.hpp"
#include "site_impl.hpp"

namespace parley {

Status Replication::recordServe(const ServeReport& report) {
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction()) return Status::busy("a transaction is open on this site");
    impl_->writeNow([&] { serve_report::write(impl_->state, report); });
    return Status::ok();
  });
}

Result<std::optional<ServeReport>> Replication::serveReport() {
  return guarded([&]() -> Result<std::optional<ServeReport>> {
    impl_->refreshForRead();
    return serve_report::read(impl_->state);
  });
}

Result<std::vector<ConflictCount>> Replication::conflictCounts() {
  return guarded([&]() -> Result<std::vector<ConflictCount>> {
    impl_->refreshForRead();
    sql::Stmt st(impl_->state.db.raw(),
                 "SELECT resolver, count(*), sum(outcome = 'rejected') FROM parley_conflicts GROUP BY resolver "
                 "ORDER BY resolver");
    std::vector<ConflictCount> out;
    while (st.step())
      out.push_back({st.text(0), static_cast<std::uint64_t>(st.int64(1)), static_cast<std::uint64_t>(st.int64(2))});
    return out;
  });
}

}  // namespace parley
