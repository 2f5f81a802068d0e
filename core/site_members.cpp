// The Site's calls about other members: forgetting a site, the forgotten sites, and the clock
// skew seen in what they sent (apply/forget.hpp, apply/clock_skew.hpp do the work).
#include "parley/replication.hpp"
#include "clock_skew.hpp"
#include "finality.hpp"
#include "forget.hpp"
#include "site_impl.hpp"

namespace parley {

Status Replication::forget(const SiteId& site) {
  if (site == site_.id()) return Status::invalidArgument("a site cannot forget itself");
  if (site.isNil()) return Status::invalidArgument("the nil id names no site").withContext("forget");
  return guarded([&]() -> Status {
    impl_->asApplier([&] {
      members::forget(impl_->state, site);
      finality::settle(impl_->state);
      return 0;
    });
    return Status::ok();
  });
}

Result<std::vector<SiteId>> Replication::forgotten() {
  return guarded([&]() -> Result<std::vector<SiteId>> {
    impl_->refreshForRead();
    return members::forgotten(impl_->state);
  });
}

Status Replication::checkNotForgotten(const SiteId& peer) {
  return guarded([&]() -> Status {
    impl_->refreshForRead();
    if (members::isForgotten(impl_->state, peer)) return Status::invalidArgument(forgottenRefusal(peer));
    return Status::ok();
  });
}

Result<std::vector<ClockSkewRecord>> Replication::clockSkews() {
  return guarded([&]() -> Result<std::vector<ClockSkewRecord>> {
    impl_->refreshForRead();
    return skew::current(impl_->state);
  });
}

}  // namespace parley
