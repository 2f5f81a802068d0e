#include "parley/demo/bank.hpp"

#include <chrono>
#include <memory>
#include <random>
#include <set>

#include <fmt/format.h>

#include "parley/demo/scenario.hpp"
#include "parley/replication.hpp"
#include "parley/resolvers/bounded.hpp"
#include "parley/sync/in_process.hpp"

namespace parley::demo {
namespace {

constexpr std::int64_t kOpening = 1000;

// A set of in-memory sites of one cluster with clocks the workload moves.
class Bank {
 public:
  Bank(const std::string& resolver, const Workload& w, const Tools& tools)
      : isBounded(resolvers::bounded::boundOf(resolver).has_value()) {
    parley::TableConfig config;
    config.overrides["balance"] = resolver;
    SiteId cluster = tools.ids->newId();
    for (int i = 0; i < w.sites; ++i) {
      clocks_.push_back(std::make_unique<ManualClock>());
      std::string name = w.ops == 0 ? (i == 0 ? "new-york" : "london") : fmt::format("site{}", i + 1);
      auto site = must(Site::create(":memory:", {name, tools.ids, cluster}, {clocks_.back().get(), tools.resolvers}));
      must(site->exec("CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER NOT NULL)").status());
      must(site->track("accounts", config));
      sites_.push_back(std::move(site));
    }
    for (auto& a : sites_)
      for (auto& b : sites_)
        if (a != b) must(a->replication().acknowledge(b->id(), {}));
  }

  const bool isBounded;  // the balance column is a bounded counter: sites spend rights

  Site& operator[](std::size_t i) { return *sites_[i]; }
  ManualClock& clock(std::size_t i) { return *clocks_[i]; }
  std::size_t size() const { return sites_.size(); }

  void sync(std::size_t a, std::size_t b) { must(syncSites(*sites_[a], *sites_[b])); }
  // Everyone with everyone, twice round: any connected order converges.
  void syncAll() {
    for (int round = 0; round < 2; ++round)
      for (std::size_t a = 0; a < size(); ++a)
        for (std::size_t b = a + 1; b < size(); ++b) sync(a, b);
  }

  std::int64_t balance(std::size_t site, int account) {
    auto r = must(sites_[site]->exec("SELECT balance FROM accounts WHERE id = ?1", {Value::integer(account)}));
    return r.rows.at(0).at(0).asInteger();
  }

  std::vector<Row> accounts(std::size_t site) {
    return must(sites_[site]->exec("SELECT id, owner, balance FROM accounts ORDER BY id")).rows;
  }

 private:
  std::vector<std::unique_ptr<ManualClock>> clocks_;
  std::vector<std::unique_ptr<Site>> sites_;
};

enum class Kind { kDeposit, kWithdrawal, kTransfer };

// What a transaction did to the total, by dot, as its writer made it.
struct Effect {
  Dot dot;
  std::int64_t total;
  Kind kind;
};
using Effects = std::vector<Effect>;

Dot lastDot(Site& site) { return {site.id(), must(site.vector()).get(site.id())}; }

void exec(Bank& bank, std::size_t site, const std::string& sql, std::int64_t effect, Effects& effects,
          Kind kind = Kind::kDeposit) {
  must(bank[site].exec(sql).status());
  effects.push_back({lastDot(bank[site]), effect, kind});
}

// A withdrawal or transfer: under bounded it may be refused when written (beyond the site's
// rights); returns false then, counted in `o`.
bool spend(Bank& bank, std::size_t site, const std::string& sql, std::int64_t effect, Kind kind, Effects& effects,
           Outcome& o) {
  auto r = bank[site].exec(sql);
  if (!r.ok() && bank.isBounded && r.status().code() == Status::Code::kInvalidArgument) {
    if (o.refused++ == 0) o.refusal = r.status().message();
    return false;
  }
  must(r.status());
  effects.push_back({lastDot(bank[site]), effect, kind});
  return true;
}

// Under bounded: the first site gives every other an equal share of each account's rights.
void shareRights(Bank& bank, int accounts) {
  if (!bank.isBounded) return;
  for (int a = 1; a <= accounts; ++a) {
    Row key;  // not Row{...}: GCC 12 warns (-Wmaybe-uninitialized) copying a Value out of an initializer list
    key.push_back(Value::integer(a));
    for (std::size_t s = 1; s < bank.size(); ++s)
      must(resolvers::bounded::give(bank[0], "accounts", key, "balance", bank[s].id(),
                                    kOpening / static_cast<std::int64_t>(bank.size())));
  }
}

void fixedScenario(Bank& bank, Effects& effects, Outcome& o) {
  exec(bank, 0, fmt::format("INSERT INTO accounts VALUES (1, 'alice', {})", kOpening), kOpening, effects);
  shareRights(bank, 1);
  bank.syncAll();
  bank.clock(0).advance(10);
  bank.clock(1).advance(15);  // London's clock reads 5 ms later
  exec(bank, 0, "UPDATE accounts SET balance = balance - 100 WHERE id = 1", -100, effects, Kind::kWithdrawal);
  exec(bank, 1, "UPDATE accounts SET balance = balance - 200 WHERE id = 1", -200, effects, Kind::kWithdrawal);
  // London holds 300 of rights now: 400 more is refused when written.
  if (bank.isBounded)
    spend(bank, 1, "UPDATE accounts SET balance = balance - 400 WHERE id = 1", -400, Kind::kWithdrawal, effects, o);
}

// One random operation at a random site, never overdrawing what that site sees.
// Under bounded, a site refused for lack of rights asks for what it lacked (by itself).
void randomOperation(Bank& bank, const Workload& w, std::mt19937_64& rng, Effects& effects, Outcome& o) {
  std::size_t s = rng() % bank.size();
  bank.clock(s).advance(1 + rng() % 20);
  int from = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(w.accounts));
  int to = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(w.accounts));
  std::int64_t have = bank.balance(s, from);
  std::int64_t amount = 1 + static_cast<std::int64_t>(rng() % 300);
  switch (rng() % 3) {
    case 0:
      if (from == to || amount > have) return;
      spend(bank, s, fmt::format("BEGIN; UPDATE accounts SET balance = balance - {0} WHERE id = {1}; "
                                 "UPDATE accounts SET balance = balance + {0} WHERE id = {2}; COMMIT", amount, from, to),
            0, Kind::kTransfer, effects, o);
      return;
    case 1:
      exec(bank, s, fmt::format("UPDATE accounts SET balance = balance + {} WHERE id = {}", amount, from), amount, effects);
      return;
    default:
      if (amount > have) return;
      spend(bank, s, fmt::format("UPDATE accounts SET balance = balance - {} WHERE id = {}", amount, from), -amount,
            Kind::kWithdrawal, effects, o);
  }
}

// Heals a partition; under bounded, every site then answers the requests it holds and the
// answers travel too.
void heal(Bank& bank) {
  bank.syncAll();
  if (!bank.isBounded) return;
  for (std::size_t s = 0; s < bank.size(); ++s) must(resolvers::bounded::answerRequests(bank[s]));
  bank.syncAll();
}

// Sites split into two groups that sync only inside their group.
void syncWithinGroups(Bank& bank, std::mt19937_64& rng) {
  std::vector<int> group(bank.size());
  for (auto& g : group) g = static_cast<int>(rng() % 2);
  for (std::size_t a = 0; a < bank.size(); ++a)
    for (std::size_t b = a + 1; b < bank.size(); ++b)
      if (group[a] == group[b] && rng() % 2) bank.sync(a, b);
}

void randomScenario(Bank& bank, const Workload& w, Effects& effects, Outcome& o) {
  std::mt19937_64 rng(w.seed);
  for (int a = 1; a <= w.accounts; ++a)
    exec(bank, 0, fmt::format("INSERT INTO accounts VALUES ({}, 'owner{}', {})", a, a, kOpening), kOpening, effects);
  shareRights(bank, w.accounts);
  bank.syncAll();
  int phase = std::max(1, w.ops / std::max(1, w.partitions));
  for (int op = 0; op < w.ops; ++op) {
    randomOperation(bank, w, rng, effects, o);
    if (op % 7 == 6) syncWithinGroups(bank, rng);
    if ((op + 1) % phase == 0) heal(bank);  // between partitions
  }
}

void measure(Bank& bank, const Effects& effects, Outcome& o) {
  auto reference = bank.accounts(0);
  o.converged = true;
  o.invariantHeld = true;
  for (std::size_t s = 0; s < bank.size(); ++s) {
    auto rows = bank.accounts(s);
    o.converged = o.converged && rows == reference;
    std::int64_t total = 0;
    for (const auto& r : rows) {
      total += r[2].asInteger();
      o.invariantHeld = o.invariantHeld && r[2].asInteger() >= 0;
    }
    o.siteNames.push_back(bank[s].name());
    o.totals.push_back(total);
  }
  std::int64_t expected = 0;
  for (const auto& e : effects) {
    bool rejected = must(bank[0].decision(e.dot)).rejected;
    o.rejected += rejected;
    o.bounced += rejected && e.kind != Kind::kDeposit;
    if (!rejected) expected += e.total;
  }
  o.expected = expected;
  o.conserved = o.converged && o.totals[0] == expected;
  for (const auto& c : must(bank[0].conflicts()))
    o.lostUpdates += c.kind == ConflictKind::kCell &&
                     (c.outcome == ConflictOutcome::kAppliedRemote || c.outcome == ConflictOutcome::kKeptLocal);
  o.transactions = effects.size();
}

}  // namespace

Outcome runWorkload(const std::string& resolver, const Workload& w, const Tools& tools) {
  auto start = std::chrono::steady_clock::now();
  Bank bank(resolver, w, tools);
  Effects effects;
  Outcome o;
  if (w.ops == 0) fixedScenario(bank, effects, o);
  else randomScenario(bank, w, effects, o);
  bank.syncAll();
  o.resolver = resolver;
  measure(bank, effects, o);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return o;
}

}  // namespace parley::demo
