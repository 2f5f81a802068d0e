// parley::testing::Cluster: a simulated cluster for unit-testing the merge semantics of a schema.
//
// N in-memory sites share one cluster id, one schema and one resolver configuration. Each site
// has its own ManualClock (moved by the test, and by `clockStepMs` before every exec), and a
// fixed site id: site i's id sorts after site i-1's, so when two writes carry the same HLC the
// later site wins lww. Nothing reads the wall clock or a random device: the same options (seed
// included) and the same calls give byte-identical sites, conflict logs and schedules.
//
// Replication is by messages, each one direction of the real sync session
// (parley/sync/link.hpp). send(from, to) queues one message on the link from -> to: `from`
// answers `to`'s hello and pull as a server would (its checks, chunks cut as over TCP),
// carrying every transaction `from` holds that `to` lacked when it was sent, plus what `from`
// knows every site holds (acknowledgements) and its end state. Delivering it runs `to`'s side
// of the session (runSession) over those answers: the hello checks, each chunk applied as it
// arrives, acknowledgements taken and end states compared. A message can be delivered late,
// twice, or never, and still applies: transactions already held are ignored. The scheduler
// (step, run, syncAll) picks messages with a seeded generator and injects the configured
// Faults; a partition drops whatever crosses it.
//
// Failures of the simulation (an apply that fails, a site that does not converge) throw
// ClusterError, and Divergence for assertConverged(); every message ends with "seed=N" so the
// run replays. Nothing here depends on a test framework.
//
// Thread-safety: a Cluster is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/hlc.hpp"
#include "parley/resolver.hpp"
#include "parley/site.hpp"
#include "parley/status.hpp"
#include "parley/value.hpp"

namespace parley::testing {

// A failure of the simulation itself; the message ends with "(seed=N)".
class ClusterError : public std::runtime_error {
 public:
  ClusterError(const std::string& what, std::uint64_t seed);
  std::uint64_t seed() const { return seed_; }

 protected:
  struct Verbatim {};
  ClusterError(Verbatim, const std::string& message, std::uint64_t seed)
      : std::runtime_error(message), seed_(seed) {}

 private:
  std::uint64_t seed_;
};

// assertConverged() found sites whose tables differ; the message is Convergence::message,
// the readable diff, whose last line is "replay with seed=N".
class Divergence : public ClusterError {
 public:
  Divergence(const std::string& diff, std::uint64_t seed) : ClusterError(Verbatim{}, diff, seed) {}
};

// Probabilities, each in [0, 1], applied to every message the scheduler picks.
struct Faults {
  double drop = 0;       // the message is lost
  double duplicate = 0;  // the message is delivered and stays queued to be delivered again
  double reorder = 0;    // a random queued message is picked instead of the oldest
};

struct Options {
  // One site per name, in index order (at most 255).
  std::vector<std::string> sites = {"site0", "site1"};
  // SQL run at every site before tracking.
  std::string schema;
  // Tables to track; every table the schema creates when empty.
  std::vector<std::string> tables;
  // false: no table is tracked when the sites are created; the test tracks them itself
  // (Site::track), e.g. each with a configuration of its own, or not at all.
  bool track = true;
  // How tracked tables resolve conflicts; the resolvers' defaults for tables not listed.
  std::map<std::string, TableConfig> configs;
  // Resolves strategy names; resolvers::standard() when null.
  std::shared_ptr<const ResolverProvider> resolvers;
  std::uint64_t seed = 1;
  std::uint64_t clockStartMs = 1'700'000'000'000ULL;  // every site's clock starts here
  std::uint64_t clockStepMs = 0;                      // each exec() first advances its site's clock
  Faults faults;
  // syncAll() gives up (ClusterError) after this many anti-entropy rounds.
  std::size_t maxRounds = 1000;
  // Per site, in index order, its id (distinct): the greater id wins a tie of equal HLCs
  // under lww. Sites beyond the list get simulatedSiteId(index).
  std::vector<SiteId> ids;
  // Each site registers every other as a member (Site::acknowledge with an empty vector), so
  // decisions become final only once all of them have acknowledged. false: a site learns of
  // the others only as messages arrive.
  bool registerMembers = true;
  // Adjusts the SiteOptions each site is created with (site index, options): the clock skew
  // bound, applyChunkRows, checkCapture, cacheKiB. The clock and the resolvers are the
  // cluster's and must be left as they are.
  std::function<void(std::size_t site, SiteOptions& options)> siteOptions;
};

// The id site `index` gets unless Options::ids says otherwise: all 16 bytes equal index + 1,
// so a later site's id sorts after an earlier one's.
SiteId simulatedSiteId(std::size_t index);
// The cluster id every simulated site shares: all 16 bytes 0xcc.
SiteId simulatedClusterId();

// The result of comparing sites: ok, or the readable diff (ending with the seed).
struct Convergence {
  bool ok = true;
  std::string message;
  explicit operator bool() const { return ok; }
};

// Counts of what the network did.
struct NetworkStats {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;     // by Faults::drop
  std::uint64_t cut = 0;         // dropped because a partition separated the sites
  std::uint64_t duplicated = 0;  // kept queued for a second delivery
  std::uint64_t reordered = 0;   // picked out of order
};

struct ClusterState;  // the implementation's

class Cluster {
 public:
  // Creates the sites, runs the schema, tracks the tables and registers every site as a member
  // at every other. Throws ClusterError if the options are invalid or the schema fails.
  explicit Cluster(Options options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  // A cluster can be returned from a function that sets it up; the moved-from one is empty.
  Cluster(Cluster&&) noexcept;
  Cluster& operator=(Cluster&&) noexcept;

  std::uint64_t seed() const;
  std::size_t size() const;
  const std::string& name(std::size_t site) const;
  // The index of the site called `name`; throws ClusterError if there is none.
  std::size_t index(std::string_view name) const;
  // The underlying site, for anything the cluster does not wrap.
  Site& site(std::size_t site);
  Site& operator[](std::size_t site) { return this->site(site); }
  // The options the cluster was made with (the resolvers filled in).
  const Options& options() const;
  // Adds a site that joins late: created like the others (schema, tracked tables, members),
  // holding no transaction yet. Its id is `id`, or simulatedSiteId(its index). Returns its
  // index. Throws ClusterError if the name or the id is taken.
  std::size_t addSite(const std::string& name, std::optional<SiteId> id = std::nullopt);

  // Runs SQL at one site (after advancing its clock by clockStepMs). Errors are values:
  // a CHECK constraint refusing a local write is a result a test may expect.
  Result<QueryResult> exec(std::size_t site, std::string_view sql);
  Result<QueryResult> exec(std::size_t site, std::string_view sql,
                           const std::vector<Value>& params);
  // exec() that must succeed: throws ClusterError with the site, the SQL and the error.
  QueryResult execOk(std::size_t site, std::string_view sql);
  QueryResult execOk(std::size_t site, std::string_view sql, const std::vector<Value>& params);
  // The rows a query returns; throws ClusterError if it fails.
  std::vector<Row> query(std::size_t site, std::string_view sql);
  // The single value a query returns; throws ClusterError unless it is exactly one.
  Value value(std::size_t site, std::string_view sql);

  // The site's injected clock.
  ManualClock& clock(std::size_t site);
  void advanceClock(std::size_t site, std::uint64_t ms);

  // Cuts the network into groups: sites in different groups cannot exchange messages. A site
  // in no group is alone. Throws ClusterError on an unknown or repeated site.
  void partition(const std::vector<std::vector<std::size_t>>& groups);
  // Reconnects every site. Delivers nothing by itself.
  void heal();
  bool connected(std::size_t a, std::size_t b) const;

  void setFaults(const Faults& faults);
  // Queues one message from -> to with what `to` lacks now. Throws if the sites are cut apart.
  void send(std::size_t from, std::size_t to);
  // Sends one message from -> to, then delivers every message queued on that link, oldest
  // first, without faults. Returns what `to` did with them: Site::apply's results summed
  // (conflicts in the order they were reported). Throws ClusterError if the sites are cut
  // apart.
  ApplyResult deliver(std::size_t from, std::size_t to);
  // A sync of two sites: deliver(a, b), deliver(b, a), then a last message a -> b, so each
  // knows what the other holds. Returns (what b applied, what a applied).
  std::pair<ApplyResult, ApplyResult> syncPair(std::size_t a, std::size_t b);
  // Picks one queued message (by seed and Faults) and delivers, duplicates or drops it.
  // Returns false if nothing was queued.
  bool step();
  // Steps until nothing is queued.
  void run();
  // Anti-entropy: every connected pair exchanges messages, under the Faults, until every site
  // holds what every site it is connected to holds and knows they do. Heals nothing.
  // Throws ClusterError after Options::maxRounds rounds.
  void syncAll();
  std::size_t pending() const;
  const NetworkStats& stats() const;
  // One line per network event ("send #3 a->b: 2 txns", "drop #3 a->b", ...) and per warning
  // an apply gave (clock skew beyond the bound), for debugging.
  const std::vector<std::string>& trace() const;

  // Whether every site (or those listed) holds the same rows in every tracked table.
  Convergence converged() const;
  Convergence converged(const std::vector<std::size_t>& sites) const;
  // Throws Divergence naming each differing table, key, column and every site's value.
  void assertConverged() const;
  void assertConverged(const std::vector<std::size_t>& sites) const;

  // The site's conflict log, oldest first, and its own writes the fold rejected.
  std::vector<ConflictReport> conflicts(std::size_t site);
  std::vector<ConflictReport> rejected(std::size_t site);
  // Every tracked table of the site in key order, one row a line: for comparing runs.
  std::string dump(std::size_t site) const;

 private:
  std::unique_ptr<ClusterState> impl_;
};

// One line describing a conflict: kind, table, key, column, resolver, both values, outcome.
std::string describe(const ConflictReport& conflict);

}  // namespace parley::testing
