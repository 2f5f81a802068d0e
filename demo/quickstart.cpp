// parley-quickstart: the bank-account comparison. Two in-memory sites, New York and London,
// share an account with balance 1000. While partitioned, New York withdraws 100 and London
// withdraws 200 (London's clock reads later); then they sync both ways. For each resolver of
// the balance column it prints what each site holds and what became of the withdrawals.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"

namespace {

constexpr std::int64_t kOpening = 1000;
constexpr std::int64_t kNewYork = 100;
constexpr std::int64_t kLondon = 200;

struct Outcome {
  std::int64_t ny = 0, london = 0;
  std::size_t conflicts = 0, rejected = 0;
};

void check(const parley::Status& st) {
  if (!st) throw std::runtime_error(st.toString());
}

std::unique_ptr<parley::Site> makeSite(const std::string& name, parley::Clock& clock, parley::IdSource& ids,
                                       const parley::SiteId& cluster, const parley::TableConfig& config,
                                       std::shared_ptr<const parley::ResolverProvider> resolvers) {
  auto site = parley::Site::create(":memory:", {name, &ids, cluster}, {&clock, std::move(resolvers)});
  check(site.status());
  check((*site)->exec("CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)").status());
  check((*site)->track("accounts", config));
  return std::move(site.value());
}

std::int64_t balance(parley::Site& site) {
  auto r = site.exec("SELECT balance FROM accounts WHERE id = 1");
  check(r.status());
  return r->rows.at(0).at(0).asInteger();
}

Outcome run(const std::string& strategy) {
  parley::ManualClock nyClock, londonClock;
  parley::RandomIdSource ids;
  parley::SiteId cluster = ids.newId();
  auto resolvers = parley::resolvers::standard();
  parley::TableConfig config;
  config.overrides["balance"] = strategy;
  auto ny = makeSite("new-york", nyClock, ids, cluster, config, resolvers);
  auto london = makeSite("london", londonClock, ids, cluster, config, resolvers);

  check(ny->exec(fmt::format("INSERT INTO accounts VALUES (1, 'alice', {})", kOpening)).status());
  check(parley::syncSites(*ny, *london).status());

  // Partition: each site withdraws on its own; London's clock reads 5 ms later.
  nyClock.advance(10);
  londonClock.advance(15);
  check(ny->exec(fmt::format("UPDATE accounts SET balance = balance - {} WHERE id = 1", kNewYork)).status());
  check(london->exec(fmt::format("UPDATE accounts SET balance = balance - {} WHERE id = 1", kLondon)).status());

  // Heal: sync both ways.
  auto synced = parley::syncSites(*ny, *london);
  check(synced.status());
  Outcome out;
  out.ny = balance(*ny);
  out.london = balance(*london);
  out.conflicts = synced->first.conflicts.size() + synced->second.conflicts.size();
  auto nyRejected = ny->rejectedWrites();
  auto londonRejected = london->rejectedWrites();
  check(nyRejected.status());
  check(londonRejected.status());
  out.rejected = nyRejected->size() + londonRejected->size();
  return out;
}

}  // namespace

int main() {
  try {
    std::puts("Bank account: balance 1000; New York withdraws 100 while London withdraws 200.\n");
    std::puts(fmt::format("{:<9} {:>9} {:>9} {:>10} {:>8} {:>5} {:>9} {:>11}", "resolver", "New York", "London",
                          "converged", "money ok", "lost", "rejected", "balance>=0").c_str());
    for (const char* strategy : {"lww", "fww", "merge", "counter", "reject"}) {
      Outcome o = run(strategy);
      std::int64_t expected = kOpening - kNewYork - kLondon;
      // A withdrawal is lost when it left no trace in the balance and was not bounced.
      std::int64_t missing = o.ny - expected;
      int lost = missing == 0 ? 0 : (missing == kNewYork || missing == kLondon) && o.rejected == 0 ? 1 : 0;
      bool conserved = o.ny == expected || (o.rejected > 0 && (missing == kNewYork || missing == kLondon));
      std::puts(fmt::format("{:<9} {:>9} {:>9} {:>10} {:>8} {:>5} {:>9} {:>11}", strategy, o.ny, o.london,
                            o.ny == o.london ? "yes" : "NO", conserved ? "yes" : "no", lost, o.rejected,
                            o.ny >= 0 && o.london >= 0 ? "yes" : "NO")
                    .c_str());
    }
    std::puts("\nlww keeps London's later withdrawal, fww New York's earlier one: one is lost.");
    std::puts("merge and counter apply both (700); reject bounces London's and tells its writer.");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parley-quickstart: %s\n", e.what());
    return 1;
  }
}
