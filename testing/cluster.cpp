// Cluster: creating the sites, running SQL at them, their clocks and the partition.
#include <algorithm>
#include <set>

#include "cluster_impl.hpp"
#include "parley/resolvers/registry.hpp"

namespace parley::testing {

namespace {

std::string withSeed(const std::string& what, std::uint64_t seed) {
  return what + " (seed=" + std::to_string(seed) + ")";
}

void checkProbability(const ClusterState& impl, const char* name, double p) {
  if (!(p >= 0 && p <= 1)) impl.fail(std::string("faults: ") + name + " must be in [0, 1]");
}

}  // namespace

ClusterError::ClusterError(const std::string& what, std::uint64_t seed)
    : std::runtime_error(withSeed(what, seed)), seed_(seed) {}

void ClusterState::fail(const std::string& what) const {
  throw ClusterError(what, options.seed);
}

Site& ClusterState::at(std::size_t site) const {
  if (site >= sites.size())
    fail("no site " + std::to_string(site) + ": the cluster has " + std::to_string(sites.size()));
  return *sites[site];
}

std::string ClusterState::siteName(std::size_t site) const {
  return options.sites.at(site);
}

Cluster::Cluster(Options options) : impl_(std::make_unique<ClusterState>(std::move(options))) {
  ClusterState& m = *impl_;
  if (m.options.sites.empty() || m.options.sites.size() > 255)
    m.fail("a cluster has 1 to 255 sites");
  std::set<std::string> names(m.options.sites.begin(), m.options.sites.end());
  if (names.size() != m.options.sites.size()) m.fail("site names must be distinct");
  setFaults(m.options.faults);
  if (!m.options.resolvers) m.options.resolvers = resolvers::standard();
  for (std::size_t i = 0; i < m.options.sites.size(); ++i) m.createSite(i);
  m.findTables();
  for (std::size_t i = 0; i < m.sites.size(); ++i) m.joinSite(i);
  m.group.assign(m.sites.size(), 0);
}

Cluster::~Cluster() = default;

std::uint64_t Cluster::seed() const {
  return impl_->options.seed;
}
std::size_t Cluster::size() const {
  return impl_->sites.size();
}

const std::string& Cluster::name(std::size_t site) const {
  impl_->at(site);
  return impl_->options.sites[site];
}

std::size_t Cluster::index(std::string_view name) const {
  const auto& names = impl_->options.sites;
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) impl_->fail("no site named \"" + std::string(name) + "\"");
  return static_cast<std::size_t>(it - names.begin());
}

Site& Cluster::site(std::size_t site) {
  return impl_->at(site);
}

Result<QueryResult> Cluster::exec(std::size_t site, std::string_view sql) {
  Site& s = impl_->at(site);
  advanceClock(site, impl_->options.clockStepMs);
  return s.exec(sql);
}

Result<QueryResult> Cluster::exec(std::size_t site, std::string_view sql,
                                  const std::vector<Value>& params) {
  Site& s = impl_->at(site);
  advanceClock(site, impl_->options.clockStepMs);
  return s.exec(sql, params);
}

QueryResult Cluster::execOk(std::size_t site, std::string_view sql) {
  auto r = exec(site, sql);
  if (!r)
    impl_->fail("at " + impl_->siteName(site) + ": " + std::string(sql) + ": " +
                r.status().toString());
  return std::move(r).value();
}

QueryResult Cluster::execOk(std::size_t site, std::string_view sql,
                            const std::vector<Value>& params) {
  auto r = exec(site, sql, params);
  if (!r)
    impl_->fail("at " + impl_->siteName(site) + ": " + std::string(sql) + ": " +
                r.status().toString());
  return std::move(r).value();
}

std::vector<Row> Cluster::query(std::size_t site, std::string_view sql) {
  auto r = impl_->at(site).exec(sql);
  if (!r) impl_->fail("query at " + impl_->siteName(site) + " failed: " + r.status().toString());
  return std::move(r->rows);
}

Value Cluster::value(std::size_t site, std::string_view sql) {
  auto rows = query(site, sql);
  if (rows.size() != 1 || rows[0].size() != 1)
    impl_->fail("value at " + impl_->siteName(site) + ": \"" + std::string(sql) + "\" returned " +
                std::to_string(rows.size()) + " rows, not one value");
  return rows[0][0];
}

ManualClock& Cluster::clock(std::size_t site) {
  impl_->at(site);
  return *impl_->clocks[site];
}

void Cluster::advanceClock(std::size_t site, std::uint64_t ms) {
  clock(site).advance(ms);
}

void Cluster::partition(const std::vector<std::vector<std::size_t>>& groups) {
  ClusterState& m = *impl_;
  std::vector<std::size_t> group(m.sites.size(), 0);
  std::vector<bool> seen(m.sites.size(), false);
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t site : groups[g]) {
      m.at(site);
      if (seen[site]) m.fail("partition: site " + m.siteName(site) + " is in two groups");
      seen[site] = true;
      group[site] = g;
    }
  std::size_t alone = groups.size();
  for (std::size_t i = 0; i < group.size(); ++i)
    if (!seen[i]) group[i] = alone++;
  m.group = group;
  m.trace.push_back("partition");
}

void Cluster::heal() {
  impl_->group.assign(impl_->sites.size(), 0);
  impl_->trace.push_back("heal");
}

bool Cluster::connected(std::size_t a, std::size_t b) const {
  impl_->at(a);
  impl_->at(b);
  return impl_->group[a] == impl_->group[b];
}

void Cluster::setFaults(const Faults& faults) {
  checkProbability(*impl_, "drop", faults.drop);
  checkProbability(*impl_, "duplicate", faults.duplicate);
  checkProbability(*impl_, "reorder", faults.reorder);
  if (faults.drop >= 1 || faults.duplicate >= 1)
    impl_->fail("faults: drop and duplicate must be below 1, or the network never settles");
  impl_->options.faults = faults;
}

std::vector<ConflictReport> Cluster::conflicts(std::size_t site) {
  auto r = impl_->at(site).conflicts();
  if (!r) impl_->fail("conflicts at " + impl_->siteName(site) + ": " + r.status().toString());
  return std::move(r).value();
}

std::vector<ConflictReport> Cluster::rejected(std::size_t site) {
  auto r = impl_->at(site).rejectedWrites();
  if (!r) impl_->fail("rejected writes at " + impl_->siteName(site) + ": " + r.status().toString());
  return std::move(r).value();
}

}  // namespace parley::testing
