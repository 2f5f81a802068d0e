// The bank-account scenarios behind `parley demo bank`: the two-site comparison and random
// workloads of transfers, deposits and withdrawals across partitioned sites, run once per
// resolver, measured the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parley/demo/scenario.hpp"

namespace parley::demo {

struct Workload {
  int sites = 2;
  int accounts = 1;
  int ops = 0;        // 0: the fixed New York / London scenario
  int partitions = 1;
  std::uint64_t seed = 1;
};

struct Outcome {
  std::string resolver;
  std::vector<std::string> siteNames;
  std::vector<std::int64_t> totals;  // per site: the sum of balances
  bool converged = false;
  bool conserved = false;     // the total equals the effect of every accepted transaction
  std::uint64_t lostUpdates = 0;   // concurrent writes discarded by a resolver
  std::uint64_t rejected = 0;      // transactions the fold rejected
  std::uint64_t bounced = 0;       // withdrawals and transfers rejected after the fact (after the writer saw them succeed)
  std::uint64_t refused = 0;       // withdrawals and transfers refused when written (bounded: beyond the site's rights)
  std::string refusal;             // the first refusal's message
  bool invariantHeld = false;      // no balance below 0 at any site
  std::uint64_t transactions = 0;
  double seconds = 0;
};

// Runs `w` once with `resolver` on the balance column. Under `bounded`, the first site (which
// inserts the accounts) gives each other site an equal share of the rights first; in the
// fixed scenario London then tries to withdraw more than its rights; in random workloads a site
// refused for lack of rights asks for them, and the sites answer at every heal., on in-memory sites made with `tools`.
Outcome runWorkload(const std::string& resolver, const Workload& w, const Tools& tools);
std::string htmlReport(const Workload& w, const std::vector<Outcome>& outcomes);

}  // namespace parley::demo
