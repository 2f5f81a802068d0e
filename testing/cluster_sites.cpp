// Cluster: creating the sites (ids, SiteOptions, schema, tracked tables, membership), sites that
// join late, and what a delivery applied.
#include <algorithm>

#include "cluster_impl.hpp"
#include "parley/replication.hpp"

namespace parley::testing {

SiteId simulatedSiteId(std::size_t index) {
  SiteId id;
  id.bytes.fill(static_cast<std::uint8_t>(index + 1));
  return id;
}

SiteId simulatedClusterId() {
  SiteId id;
  id.bytes.fill(0xcc);
  return id;
}

void ClusterState::createSite(std::size_t index) {
  const std::string& name = options.sites[index];
  SiteId id = index < options.ids.size() ? options.ids[index] : simulatedSiteId(index);
  for (const auto& site : sites)
    if (site->id() == id)
      fail("site " + name + " would have the id of " + site->name() + ": ids must be distinct");
  clocks.push_back(std::make_unique<ManualClock>(options.clockStartMs));
  ids.push_back(std::make_unique<FixedIdSource>(id));
  CreateOptions create{name, ids.back().get(), simulatedClusterId()};
  SiteOptions siteOptions{clocks.back().get(), options.resolvers};
  if (options.siteOptions) options.siteOptions(index, siteOptions);
  siteOptions.clock = clocks.back().get();
  siteOptions.resolvers = options.resolvers;
  auto created = Site::create(":memory:", create, siteOptions);
  if (!created) fail("creating site " + name + ": " + created.status().toString());
  sites.push_back(std::move(created).value());
  if (!options.schema.empty()) {
    auto r = sites.back()->exec(options.schema);
    if (!r) fail("schema at " + name + ": " + r.status().toString());
  }
}

void ClusterState::findTables() {
  tables = options.tables;
  if (!tables.empty() || !options.track) return;
  auto r = sites.front()->exec(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE "
      "'\\' "
      "AND name NOT LIKE 'parley\\_%' ESCAPE '\\' ORDER BY rowid");
  if (!r) fail("listing the schema's tables: " + r.status().toString());
  for (const auto& row : r->rows) tables.push_back(row.at(0).asText());
  if (tables.empty()) fail("the schema creates no table to track");
}

void ClusterState::trackTables(Site& site) {
  if (!options.track) return;
  for (const auto& table : tables) {
    auto config = options.configs.find(table);
    std::optional<TableConfig> c;
    if (config != options.configs.end()) c = config->second;
    if (auto st = site.track(table, c); !st) fail("track at " + site.name() + ": " + st.toString());
  }
  for (const auto& [table, config] : options.configs)
    if (std::find(tables.begin(), tables.end(), table) == tables.end())
      fail("configs names \"" + table + "\", which is not tracked");
}

void ClusterState::joinSite(std::size_t index) {
  Site& site = at(index);
  trackTables(site);
  if (!options.registerMembers) return;
  for (std::size_t i = 0; i < index; ++i) {
    if (auto st = site.replication().acknowledge(sites[i]->id(), {}); !st)
      fail("registering members: " + st.toString());
    if (auto st = sites[i]->replication().acknowledge(site.id(), {}); !st)
      fail("registering members: " + st.toString());
  }
}

std::vector<std::string> ClusterState::comparedTables() const {
  if (options.track) return tables;
  return sites.front()->trackedTables();
}

void addApplyResult(ApplyResult& total, ApplyResult more) {
  total.applied += more.applied;
  total.duplicates += more.duplicates;
  total.refolded += more.refolded;
  total.rejected += more.rejected;
  for (auto& c : more.conflicts) total.conflicts.push_back(std::move(c));
  for (auto& w : more.warnings) total.warnings.push_back(std::move(w));
}

Cluster::Cluster(Cluster&&) noexcept = default;
Cluster& Cluster::operator=(Cluster&&) noexcept = default;

const Options& Cluster::options() const {
  return impl_->options;
}

std::size_t Cluster::addSite(const std::string& name, std::optional<SiteId> id) {
  ClusterState& m = *impl_;
  std::size_t index = m.sites.size();
  if (index >= 255) m.fail("a cluster has 1 to 255 sites");
  if (std::find(m.options.sites.begin(), m.options.sites.end(), name) != m.options.sites.end())
    m.fail("addSite: a site is already named \"" + name + "\"");
  for (std::size_t i = m.options.ids.size(); i < index; ++i)
    m.options.ids.push_back(m.sites[i]->id());
  m.options.ids.resize(index);
  m.options.ids.push_back(id.value_or(simulatedSiteId(index)));
  m.options.sites.push_back(name);
  try {
    m.createSite(index);
  } catch (...) {
    m.options.sites.pop_back();
    m.options.ids.pop_back();
    if (m.sites.size() > index) m.sites.pop_back();
    if (m.clocks.size() > index) m.clocks.pop_back();
    if (m.ids.size() > index) m.ids.pop_back();
    throw;
  }
  // A site added during a partition is alone until heal().
  bool healed = std::all_of(m.group.begin(), m.group.end(), [](std::size_t g) { return g == 0; });
  std::size_t alone = m.group.empty() ? 0 : *std::max_element(m.group.begin(), m.group.end()) + 1;
  m.group.push_back(healed ? 0 : alone);
  m.joinSite(index);
  m.trace.push_back("add site " + name);
  return index;
}

std::pair<ApplyResult, ApplyResult> Cluster::syncPair(std::size_t a, std::size_t b) {
  ApplyResult atB = deliver(a, b);
  ApplyResult atA = deliver(b, a);
  deliver(a, b);  // a's acknowledgements, now that it holds b's transactions
  return {std::move(atB), std::move(atA)};
}

}  // namespace parley::testing
