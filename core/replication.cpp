// The Site's replication side (parley/replication.hpp): the two classes' shared construction,
// and applying remote transactions. The rest of Replication is defined beside the Site code it
// shares (site_history.cpp, site_divergence.cpp, site_decisions.cpp, site_members.cpp, ...).
#include "parley/replication.hpp"

#include <iterator>

#include <fmt/format.h>

#include "admission.hpp"
#include "column_ids.hpp"
#include "finality.hpp"
#include "site_impl.hpp"

namespace parley {

Site::Site(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)), replication_(new Replication(*this, impl_.get())) {}
Site::~Site() = default;

Replication& Site::replication() {
  return *replication_;
}
const Replication& Site::replication() const {
  return *replication_;
}

Hlc Replication::lastHlc() const {
  return impl_->state.hlc.last();
}
Status Replication::checkFits(const Transaction& t) const {
  return guarded([&]() -> Status {
    std::optional<Transaction> scratch;
    parley::checkFits(impl_->state, withColumnPositions(impl_->state, t, scratch));
    return Status::ok();
  });
}

Result<ApplyResult> Replication::apply(std::span<const Transaction> transactions) {
  return guarded([&]() -> Result<ApplyResult> {
    return impl_->asApplier([&] {
      ApplyResult result = applyTransactions(impl_->state, transactions);
      finality::settle(impl_->state);
      return result;
    });
  });
}

Result<ApplyResult> Replication::applyEncoded(std::span<const Transaction> transactions,
                                              std::span<const std::string_view> bodies) {
  if (bodies.size() != transactions.size())
    return Status::invalidArgument(fmt::format("applyEncoded: {} transactions but {} bodies", transactions.size(),
                                               bodies.size()));
  return guarded([&]() -> Result<ApplyResult> {
    return impl_->asApplier([&] {
      ApplyResult result = applyTransactions(impl_->state, transactions, bodies);
      finality::settle(impl_->state);
      return result;
    });
  });
}

namespace {

void addTo(ApplyResult& total, ApplyResult&& r) {
  total.applied += r.applied;
  total.duplicates += r.duplicates;
  total.refolded += r.refolded;
  total.rejected += r.rejected;
  std::move(r.conflicts.begin(), r.conflicts.end(), std::back_inserter(total.conflicts));
  std::move(r.warnings.begin(), r.warnings.end(), std::back_inserter(total.warnings));
}

}  // namespace

Result<ApplyResult> Replication::applyEncodedBatches(const EncodedBatches& next) {
  return guarded([&]() -> Result<ApplyResult> {
    EncodedBatch batch = next();
    if (batch.transactions.empty()) return ApplyResult{};
    return impl_->asApplier([&] {
      ApplyResult total;
      for (; !batch.transactions.empty(); batch = next()) {
        if (batch.bodies.size() != batch.transactions.size())
          throw Error(Status::invalidArgument(fmt::format("applyEncodedBatches: {} transactions but {} bodies",
                                                          batch.transactions.size(), batch.bodies.size())));
        addTo(total, applyTransactions(impl_->state, batch.transactions, batch.bodies));
      }
      finality::settle(impl_->state);
      return total;
    });
  });
}

}  // namespace parley
