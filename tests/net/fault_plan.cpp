#include "fault_plan.hpp"

#include <fmt/format.h>

namespace parley::faultproxy {

FaultPlan::FaultPlan(const FaultOptions& options) : options_(options), rng_(options.seed) {
  cutStart_ = cutEnd_ = Clock::now();
  if (options_.cutEvery.count() > 0) cutStart_ += uniform(options_.cutEvery * 2);
  cutEnd_ = cutStart_ + options_.cutMs;
}

bool FaultPlan::chance(double p) {
  return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

Millis FaultPlan::uniform(Millis max) {
  if (max.count() <= 0) return Millis{0};
  return Millis{std::uniform_int_distribution<std::int64_t>(0, max.count())(rng_)};
}

Decision FaultPlan::onPiece(std::size_t bytes) {
  Decision d;
  if (healed_) return d;
  d.delay = uniform(options_.delayMs);
  if (chance(options_.drop)) {
    d.kind = Kind::kDrop;
    d.reset = chance(0.5);
  } else if (chance(options_.truncate)) {
    d.kind = Kind::kTruncate;
    d.keep = std::uniform_int_distribution<std::size_t>(0, bytes - 1)(rng_);
  } else if (chance(options_.stall)) {
    d.kind = Kind::kStall;
  } else if (chance(options_.hang)) {
    d.kind = Kind::kHang;
  }
  return d;
}

bool FaultPlan::cutAt(Clock::time_point now) {
  if (options_.cutEvery.count() <= 0) return false;
  while (now >= cutEnd_) {  // the cut is over: schedule the next one
    cutStart_ = cutEnd_ + uniform(options_.cutEvery * 2);
    cutEnd_ = cutStart_ + options_.cutMs;
  }
  return !healed_ && now >= cutStart_;
}

Clock::time_point FaultPlan::nextCutChange() const {
  if (options_.cutEvery.count() <= 0) return Clock::time_point::max();
  return Clock::now() < cutStart_ ? cutStart_ : cutEnd_;
}

std::string checkOptions(const FaultOptions& o) {
  for (double p : {o.drop, o.truncate, o.stall, o.hang})
    if (p < 0 || p > 1) return fmt::format("probabilities must be between 0 and 1, got {}", p);
  if (o.stallMs.count() < 0 || o.delayMs.count() < 0 || o.cutEvery.count() < 0 ||
      o.cutMs.count() < 0)
    return "durations must not be negative";
  if (o.cutEvery.count() > 0 && o.cutMs.count() == 0)
    return "--cut-every-ms needs a positive --cut-ms";
  return "";
}

}  // namespace parley::faultproxy
