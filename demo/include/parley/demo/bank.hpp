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
  std::int64_t expected = 0;  // the total every accepted transaction's effect gives
  std::uint64_t lostUpdates = 0;   // concurrent writes discarded by a resolver
  std::uint64_t rejected = 0;      // transactions the fold rejected
  bool invariantHeld = false;      // no balance below 0 at any site
  std::uint64_t transactions = 0;
  double seconds = 0;
};

// Runs `w` once with `resolver` on the balance column, on in-memory sites made with `tools`.
Outcome runWorkload(const std::string& resolver, const Workload& w, const Tools& tools);

// Money the resolver created (> 0) or destroyed (< 0) at the first site: its total minus the
// total the accepted transactions give. 0 whenever money is conserved.
std::int64_t deviation(const Outcome& o);

// The comparison as text, one row per outcome, shared by the terminal and the HTML report.
// Sites that agree share one cell ("800"; "800 at 15 sites, 790 at site16" when they do not),
// so the table is as wide at 16 sites as at 2. Each column is one entry of a list
// (report.cpp): a new measure of Outcome is a new entry, a new resolver a new row.
struct TextTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};
TextTable comparison(const std::vector<Outcome>& outcomes, bool withRate);

// One comparison of the report: a workload and what each resolver made of it.
struct ReportSection {
  Workload workload;
  std::vector<Outcome> outcomes;
};
// What the report says of how it was made.
struct ReportInfo {
  std::string command;  // the command line that wrote it
  std::string version;  // parley's version
};
// A self-contained HTML page (no scripts): per section the table and one bar chart per
// measure (money created or destroyed, lost updates, rejected transactions), a bar per resolver.
std::string htmlReport(const std::vector<ReportSection>& sections, const ReportInfo& info);

}  // namespace parley::demo
