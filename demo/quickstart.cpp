// parley-quickstart: two sites, New York and London, share an account with balance 1000.
// While partitioned, New York withdraws 100 and London withdraws 200; then they sync in both
// directions. Prints what each site holds afterwards under each resolver parley has so far.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"

namespace {

struct Outcome {
  std::string ny, london;
  std::size_t conflicts = 0;
};

std::unique_ptr<parley::Site> makeSite(const std::string& name, parley::Clock& clock,
                                       parley::IdSource& ids, const parley::SiteId& cluster,
                                       std::shared_ptr<const parley::ResolverProvider> resolvers) {
  auto site = parley::Site::create(":memory:", {name, &ids, cluster}, {&clock, std::move(resolvers)});
  if (!site) throw std::runtime_error(site.status().toString());
  return std::move(site.value());
}

void check(const parley::Status& st) {
  if (!st) throw std::runtime_error(st.toString());
}

std::string balance(parley::Site& site) {
  auto r = site.exec("SELECT balance FROM accounts WHERE id = 1");
  check(r.status());
  return r->rows.at(0).at(0).toDisplay();
}

// Sends everything `from` has that `to` lacks.
std::size_t deliver(parley::Site& from, parley::Site& to) {
  auto changes = from.changesSince(to.vector());
  check(changes.status());
  auto applied = to.apply(*changes);
  check(applied.status());
  return applied->conflicts.size();
}

Outcome run(std::shared_ptr<const parley::ResolverProvider> resolvers) {
  parley::ManualClock nyClock, londonClock;
  parley::RandomIdSource ids;
  parley::SiteId cluster = ids.newId();
  auto ny = makeSite("new-york", nyClock, ids, cluster, resolvers);
  auto london = makeSite("london", londonClock, ids, cluster, resolvers);

  check(ny->exec("CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)").status());
  check(ny->exec("INSERT INTO accounts VALUES (1, 'alice', 1000)").status());
  check(ny->track("accounts"));
  check(london->exec("CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)").status());
  check(london->track("accounts"));
  deliver(*ny, *london);

  // Partition: each site withdraws on its own; London's clock reads 5 ms later.
  nyClock.advance(10);
  londonClock.advance(15);
  check(ny->exec("UPDATE accounts SET balance = balance - 100 WHERE id = 1").status());
  check(london->exec("UPDATE accounts SET balance = balance - 200 WHERE id = 1").status());

  // Heal: sync both ways.
  Outcome out;
  out.conflicts += deliver(*ny, *london);
  out.conflicts += deliver(*london, *ny);
  out.ny = balance(*ny);
  out.london = balance(*london);
  return out;
}

}  // namespace

int main() {
  try {
    std::puts("Bank account: balance 1000; New York withdraws 100 while London withdraws 200.\n");
    std::puts(fmt::format("{:<9} {:>10} {:>10} {:>10} {:>10}", "resolver", "New York", "London", "converged",
                          "conflicts").c_str());
    for (auto& [name, provider] : {std::pair{"lww", parley::resolvers::lwwEverywhere()},
                                   std::pair{"fww", parley::resolvers::fwwEverywhere()}}) {
      Outcome o = run(provider);
      std::puts(fmt::format("{:<9} {:>10} {:>10} {:>10} {:>10}", name, o.ny, o.london,
                            o.ny == o.london ? "yes" : "NO", o.conflicts).c_str());
    }
    std::puts("\nlww keeps London's later withdrawal (800), fww New York's earlier one (900):");
    std::puts("either way one withdrawal is lost. merge, counter and reject are not built yet.");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parley-quickstart: %s\n", e.what());
    return 1;
  }
}
