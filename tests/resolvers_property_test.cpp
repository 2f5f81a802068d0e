// Resolver properties on random bank workloads, checked against invariants and simple oracles.
//
// Each case: 2-5 sites share a few accounts (site 0 creates them and syncs), then random steps
// run transfers, deposits, withdrawals, owner renames, note edits and bulk inserts of 20 notes
// at random sites while deliveries are whole, partial (causal prefixes), duplicated or two-way
// with acknowledgements, and partitions come and go. After a full sync, for each resolver variant:
//   1. every site holds the same accounts and notes;
//   2. a fresh site given every transaction in a random causal order ends the same, with the
//      same decisions (and, where the fold is canonical, the same conflict log);
//   3. merge and counter: each account is its initial balance plus every delta made to it, so
//      the total is initial + deposits - withdrawals; reject and merge+check: the same over
//      accepted transactions; lww: each account cell holds the write with the greatest stamp;
//   4. reject and merge+check: no balance is ever below 0, at any site, after any step;
//   5. every site makes the same decisions; the conflict logs agree wherever the site re-folds
//      late arrivals in canonical order (all variants but lww, which applies on arrival: its
//      logs are only counted, see the summary line);
//   6. a decision once reported final never changes; after the full sync all are final.
// The bounded variants (balance is a bounded counter; with owner a reject column in the same
// table for bounded+reject) also move rights at random (give, ask, and the answers a serve
// would give), and a write beyond a site's rights is refused when written (not recorded). After
// every step, at every site, no balance is below 0, every site's rights are >= 0 and they add up
// to the balance; no transaction is ever rejected for the bound (only for owner); after the full
// sync every site (and the fresh one) holds the same rights state.
// Site 0 applies each remote transaction whole and every other site in chunks of 1-3 rows
// (SiteOptions::applyChunkRows), so 1, 2 and 5 also check that chunking changes nothing.
// Every failure prints its seed. PARLEY_PROPERTY_CASES=N runs N cases per variant (default
// 500); PARLEY_PROPERTY_SEED=S runs seed S alone and prints its history on failure.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "parley/resolvers/bounded.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"
#include "support/workload.hpp"

namespace parley {
namespace {

using test::ApplyTally;
using testing::Cluster;
using test::ClusterOptions;
using test::DeliveryOrder;
using test::describe;
using test::tableContents;

// ---------------------------------------------------------------------------------------------
// Variants

struct Variant {
  std::string name;
  TableConfig accounts;
  TableConfig notes;
  bool check = false;               // accounts has CHECK (balance >= 0)
  bool neverRejects = false;        // every transaction is accepted
  bool everyDeltaLands = false;     // balance = initial + every delta to the account
  bool acceptedDeltasLand = false;  // balance = initial + the accepted transactions' deltas
  bool lastWriterWins = false;      // each accounts cell = the greatest-stamp write to it
  bool nonNegative = false;         // no balance below 0, anywhere, ever
  bool canonicalLog = false;        // every site folds in canonical order: conflict logs agree
  bool expectRejections = false;
  bool expectRefolds = false;
  bool bounded = false;             // balance is a bounded counter: rights, refusals at write time
};

TableConfig columns(const std::string& strategy) {
  TableConfig c;
  c.columns = strategy;
  return c;
}

Variant variantNamed(const std::string& name) {
  Variant v;
  v.name = name;
  v.accounts = columns(name);
  v.notes = columns(name);
  if (name == "lww") {
    v.neverRejects = true;
    v.lastWriterWins = true;
  } else if (name == "fww") {
    for (TableConfig* c : {&v.accounts, &v.notes}) c->updateDelete = c->deleteUpdate = "fww";
    v.neverRejects = true;
    v.canonicalLog = true;
    v.expectRefolds = true;
  } else if (name == "merge" || name == "counter") {
    v.neverRejects = true;
    v.everyDeltaLands = true;
    v.canonicalLog = true;  // merge folds in canonical order (REAL sums must agree to the bit)
  } else if (name == "reject") {
    v.accounts = columns("lww");
    v.accounts.overrides["balance"] = "reject";
    v.notes = columns("lww");
    v.acceptedDeltasLand = true;
    v.nonNegative = true;
    v.canonicalLog = true;
    v.expectRejections = true;
    v.expectRefolds = true;
  } else if (name == "merge+check") {
    v.accounts = columns("lww");
    v.accounts.overrides["balance"] = "merge";
    v.notes = columns("lww");
    v.check = true;
    v.acceptedDeltasLand = true;
    v.nonNegative = true;
    v.canonicalLog = true;
    v.expectRejections = true;
    v.expectRefolds = true;
  } else if (name == "bounded" || name == "bounded+reject") {
    v.accounts = columns("lww");
    v.accounts.overrides["balance"] = "bounded";
    v.notes = columns("lww");
    v.bounded = true;
    v.nonNegative = true;
    v.canonicalLog = true;
    v.expectRefolds = true;
    if (name == "bounded") {
      v.neverRejects = true;
      v.everyDeltaLands = true;
    } else {
      v.accounts.overrides["owner"] = "reject";
      v.acceptedDeltasLand = true;
      v.expectRejections = true;
    }
  } else {
    FAIL("unknown variant " << name);
  }
  return v;
}

std::string schemaFor(const Variant& v) {
  return std::string(
             "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER NOT NULL") +
         (v.check ? " CHECK (balance >= 0)" : "") +
         ");\nCREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);";
}

void trackTables(Site& site, const Variant& v) {
  REQUIRE_OK(site.track("accounts", v.accounts));
  REQUIRE_OK(site.track("notes", v.notes));
}

// Site 0 applies remote transactions whole; the others, the fresh site included, in chunks of
// 1 to 3 rows, so that a transaction's rows fold, write and are rejected across chunks.
Cluster makeCluster(std::size_t n, const Variant& v) {
  ClusterOptions o;
  o.applyChunkRows.push_back(SiteOptions{}.applyChunkRows);
  for (std::size_t i = 1; i <= n; ++i) o.applyChunkRows.push_back(1 + i % 3);
  o.resolvers = resolvers::standard();
  o.schema = schemaFor(v);
  o.tracked = {};  // tracked below: the tables have different configurations
  Cluster c(test::clusterOptions(n, o));
  for (std::size_t i = 0; i < n; ++i) trackTables(c[i], v);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Settings and figures

struct Settings {
  std::size_t cases = 500;
  std::optional<std::uint32_t> seed;
};

std::optional<unsigned long> envNumber(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  unsigned long n = std::strtoul(text, &end, 10);
  if (*end != '\0') FAIL(name << "=" << text << " is not a number");
  return n;
}

Settings settings() {
  Settings s;
  if (auto n = envNumber("PARLEY_PROPERTY_CASES")) s.cases = *n;
  if (auto seed = envNumber("PARLEY_PROPERTY_SEED")) {
    s.seed = static_cast<std::uint32_t>(*seed);
    s.cases = 1;
  }
  return s;
}

struct Figures {
  std::size_t cases = 0;
  std::size_t transactions = 0;
  std::size_t rejectedFinal = 0;     // transactions rejected once everything was synced
  std::size_t decisionChanges = 0;   // provisional decisions seen to change (either way)
  std::size_t unrejected = 0;        // of those, rejected -> accepted
  std::size_t finalSamples = 0;      // (site, dot) decisions sampled while final
  std::size_t finalEarly = 0;        // (site, dot) decisions final before the full sync
  std::size_t logsDiffering = 0;     // cases whose conflict logs differ between sites
  std::size_t negativeBalances = 0;  // cases ending with a negative balance (lww..counter)
  std::size_t refused = 0;           // bounded: writes refused when written
  std::size_t rightsMoves = 0;       // bounded: gives and asks committed
  ApplyTally tally;
};

// ---------------------------------------------------------------------------------------------
// One case

// Account -> money a transaction added to it (transfers: one minus, one plus).
using Deltas = std::map<std::int64_t, std::int64_t>;

class BankCase {
 public:
  BankCase(std::uint32_t seed, const Variant& v, Figures& figures, bool verbose)
      : rng_(seed),
        v_(v),
        figures_(figures),
        verbose_(verbose),
        n_(2 + rng_() % 4),
        c_(makeCluster(n_, v)),
        group_(n_, 0) {}

  void run() {
    setUp();
    std::size_t steps = 8 + rng_() % 13;
    for (std::size_t s = 0; s < steps; ++s) {
      INFO((verbose_ ? "history so far:\n" + history_ : std::string()) << "step " << s);
      step();
      sample();
    }
    INFO("history:\n" << history_);
    figures_.finalEarly += firstFinal_.size();
    history_ += "full sync\n";
    test::syncUntilEqual(c_, figures_.tally);
    checkConverged();
    checkDecisions();
    checkMoney();
    checkConflictLogs();
    sample();  // every decision is final now; each must be what it was when it first became so
    checkFreshSite();
    figures_.transactions += dots_.size();
  }

 private:
  // ---- the workload ----

  void setUp() {
    std::size_t m = 2 + rng_() % 5;
    std::string sql = "INSERT INTO accounts VALUES ";
    for (std::size_t a = 1; a <= m; ++a) {
      std::int64_t balance = 100 + static_cast<std::int64_t>(rng_() % 901);
      initial_[static_cast<std::int64_t>(a)] = balance;
      sql += (a > 1 ? ", (" : "(") + std::to_string(a) + ", 'owner" + std::to_string(a) + "', " +
             std::to_string(balance) + ")";
    }
    accounts_ = m;
    commit(0, sql, {}, true);
    for (std::size_t i = 1; i < n_; ++i) c_.deliver(0, i);  // syncAll's outcome, cheaper
    history_ += "site0 delivers to every site\n";
    if (v_.bounded) shareRights();
  }

  // Bounded: site 0, which inserted the accounts, gives another site half of each account's
  // rights, once the insert is final (with a reject column in the table, an increment counts
  // only then), and every site learns of it.
  void shareRights() {
    for (int round = 0; round < 2; ++round)
      for (std::size_t i = 1; i < n_; ++i) c_.syncPair(0, i);
    std::uint64_t before = c_[0].vector().value().get(c_[0].id());
    for (const auto& [a, balance] : initial_) {
      std::size_t to = 1 + rng_() % (n_ - 1);
      REQUIRE_OK(resolvers::bounded::give(c_[0], "accounts", {Value::integer(a)}, "balance", c_[to].id(), balance / 2));
    }
    history_ += "site0 gives half of each account's rights to another site\n";
    recordOwn(0, before);
    for (std::size_t i = 1; i < n_; ++i) c_.deliver(0, i);
  }

  void step() {
    if (rng_() % 100 < 12) repartition();
    if (rng_() % 100 < 55)
      localTransaction();
    else
      delivery();
  }

  void repartition() {
    bool healed = std::all_of(group_.begin(), group_.end(), [](int g) { return g == 0; });
    std::string text = healed ? "partition:" : "heal";
    for (std::size_t i = 0; i < n_; ++i) group_[i] = healed ? static_cast<int>(rng_() % 2) : 0;
    if (healed && std::count(group_.begin(), group_.end(), group_[0]) == static_cast<long>(n_))
      group_[rng_() % n_] ^= 1;  // two sides, both inhabited
    if (healed)
      for (int g : group_) text += " " + std::to_string(g);
    history_ += text + "\n";
  }

  std::int64_t account() { return 1 + static_cast<std::int64_t>(rng_() % accounts_); }

  void localTransaction() {
    std::size_t i = rng_() % n_;
    std::uint64_t advance = rng_() % 21;
    c_.clock(i).advance(advance);
    history_ += "site" + std::to_string(i) + " +" + std::to_string(advance) + "ms: ";
    if (v_.bounded && rng_() % 100 < 20) return moveRights(i);
    std::int64_t a = account();
    std::int64_t m = static_cast<std::int64_t>(accounts_);
    std::int64_t b = (a + static_cast<std::int64_t>(rng_() % (accounts_ - 1))) % m + 1;  // not a
    std::string as = std::to_string(a), bs = std::to_string(b);
    std::int64_t balance = balanceAt(i, a);
    unsigned kind = rng_() % 100;
    if (kind < 55 && balance <= 0) kind = 55;  // nothing to take: deposit instead
    // A note of the first four, or now and then one of those bulk inserts add (10..59).
    std::string k = std::to_string(rng_() % 4 == 0 ? 10 + rng_() % 50 : 1 + rng_() % 4);
    std::string text = "'n" + std::to_string(++counter_) + "'";
    if (kind < 30) {
      std::int64_t x = 1 + static_cast<std::int64_t>(rng_() % balance);
      std::string xs = std::to_string(x);
      commit(i,
             "BEGIN; UPDATE accounts SET balance = balance - " + xs + " WHERE id = " + as +
                 "; UPDATE accounts SET balance = balance + " + xs + " WHERE id = " + bs +
                 "; COMMIT",
             {{a, -x}, {b, x}}, true);
    } else if (kind < 48) {
      std::int64_t x = 1 + static_cast<std::int64_t>(rng_() % balance);
      std::string xs = std::to_string(x);
      commit(i, "UPDATE accounts SET balance = balance - " + xs + " WHERE id = " + as, {{a, -x}},
             true);
    } else if (kind < 55) {  // a withdrawal and its receipt, atomically
      std::int64_t x = 1 + static_cast<std::int64_t>(rng_() % balance);
      std::string xs = std::to_string(x);
      commit(i,
             "BEGIN; UPDATE accounts SET balance = balance - " + xs + " WHERE id = " + as +
                 "; INSERT INTO notes VALUES (" + k + ", 'receipt " + xs +
                 "') ON CONFLICT(id) DO UPDATE SET body = excluded.body; COMMIT",
             {{a, -x}}, true);
    } else if (kind < 70) {
      std::int64_t x = 1 + static_cast<std::int64_t>(rng_() % 500);
      commit(i,
             "UPDATE accounts SET balance = balance + " + std::to_string(x) + " WHERE id = " + as,
             {{a, x}}, true);
    } else if (kind < 78 && v_.bounded && rng_() % 2) {  // the owner and the balance together
      std::int64_t x = static_cast<std::int64_t>(rng_() % 200) - 100;
      commit(i, "UPDATE accounts SET owner = " + text + ", balance = balance + " + std::to_string(x) + " WHERE id = " + as,
             {{a, x}}, true);
    } else if (kind < 78) {
      commit(i, "UPDATE accounts SET owner = " + text + " WHERE id = " + as, {}, true);
    } else if (kind < 87) {
      commit(i,
             "INSERT INTO notes VALUES (" + k + ", " + text +
                 ") ON CONFLICT(id) DO UPDATE SET body = excluded.body",
             {}, true);
    } else if (kind < 94) {
      commit(i, "UPDATE notes SET body = " + text + " WHERE id = " + k, {}, false);
    } else if (kind < 97) {
      commit(i, "DELETE FROM notes WHERE id = " + k, {}, false);
    } else {  // 20 notes at once: a local run of fresh rowids is stored as one insert range
      std::string from = std::to_string(std::vector<int>{10, 20, 25, 40}[rng_() % 4]);
      commit(i,
             "WITH RECURSIVE r(x) AS (SELECT " + from + " UNION ALL SELECT x + 1 FROM r WHERE x < " + from +
                 " + 19) INSERT INTO notes SELECT x, " + text +
                 " || x FROM r WHERE true ON CONFLICT(id) DO UPDATE SET body = excluded.body",
             {}, true);
    }
  }

  // Runs `sql` at site i; records the transaction it makes (required if `mustWrite`).
  void commit(std::size_t i, const std::string& sql, const Deltas& deltas, bool mustWrite) {
    Site& site = c_[i];
    history_ += sql + "\n";
    INFO("at site" << i << ": " << sql);
    std::uint64_t before = site.vector().value().get(site.id());
    auto r = site.exec(sql);
    if (!r.ok() && v_.bounded && r.status().message().find("bounded column") != std::string::npos) {
      history_ += "  -> refused: " + r.status().message() + "\n";
      ++figures_.refused;
      recordOwn(i, before);  // the ask for what it lacked, if any
      REQUIRE(site.vector().value().get(site.id()) <= before + 1);
      return;
    }
    if (!r.ok()) {
      INFO("-> " << r.status().toString());
      REQUIRE(r.ok());
    }
    std::uint64_t after = site.vector().value().get(site.id());
    if (after == before && !mustWrite) return;
    REQUIRE(after == before + 1);
    Dot dot{site.id(), after};
    dots_.push_back(dot);
    deltas_[dot] = deltas;
    history_ += "  -> " + dot.toString() + "\n";
  }

  // Records the transactions site i committed since its seq was `before`, with no money effect.
  void recordOwn(std::size_t i, std::uint64_t before) {
    Site& site = c_[i];
    for (std::uint64_t seq = before + 1; seq <= site.vector().value().get(site.id()); ++seq) {
      dots_.push_back({site.id(), seq});
      deltas_[dots_.back()] = {};
      history_ += "  -> " + dots_.back().toString() + "\n";
      ++figures_.rightsMoves;
    }
  }

  // A random move of rights at site i: a give to another site, an ask, or the answers a serve
  // would give to what was asked.
  void moveRights(std::size_t i) {
    Site& site = c_[i];
    std::uint64_t before = site.vector().value().get(site.id());
    std::int64_t a = account();
    unsigned kind = rng_() % 3;
    if (kind == 0) {
      std::size_t to = (i + 1 + rng_() % (n_ - 1)) % n_;
      std::int64_t amount = 1 + static_cast<std::int64_t>(rng_() % 400);
      history_ += "give " + std::to_string(amount) + " of account " + std::to_string(a) + " to site" + std::to_string(to);
      auto r = resolvers::bounded::give(site, "accounts", {Value::integer(a)}, "balance", c_[to].id(), amount);
      history_ += r.ok() ? "\n" : " -> refused: " + r.status().message() + "\n";
      if (!r.ok()) REQUIRE(r.status().code() == Status::Code::kInvalidArgument);
    } else if (kind == 1) {
      std::int64_t amount = 1 + static_cast<std::int64_t>(rng_() % 400);
      history_ += "ask " + std::to_string(amount) + " of account " + std::to_string(a) + "\n";
      REQUIRE_OK(resolvers::bounded::ask(site, "accounts", {Value::integer(a)}, "balance", amount));
    } else {
      history_ += "answer requests\n";
      REQUIRE_OK(resolvers::bounded::answerRequests(site));
    }
    recordOwn(i, before);
  }

  // Bounded: at site i, every site's rights on every account are >= 0 and add up to its balance.
  void requireRights(Site& site) {
    auto cells = resolvers::bounded::rights(site, "accounts", "balance");
    REQUIRE_OK(cells);
    for (const auto& cell : *cells) {
      std::int64_t sum = 0;
      for (const auto& r : cell.sites) {
        sum += r.rights;
        if (r.rights < 0) {
          INFO("history:\n" << history_ << "at " << site.name() << ", account " << cell.pk[0].toDisplay());
          FAIL("a site's rights are below 0: " << r.site.shortHex() << " holds " << r.rights);
        }
      }
      if (sum != cell.value.asInteger()) {
        INFO("history:\n" << history_ << "at " << site.name() << ", account " << cell.pk[0].toDisplay());
        FAIL("rights add up to " << sum << ", the balance is " << cell.value.toDisplay());
      }
    }
  }

  std::vector<Site::CellState> rightsState(Site& site) {
    auto cells = site.cellStates("accounts", "balance");
    REQUIRE_OK(cells);
    return *cells;
  }

  void checkSameRights(std::size_t i) {
    auto reference = rightsState(c_[0]);
    auto other = rightsState(c_[i]);
    REQUIRE(other.size() == reference.size());
    for (std::size_t k = 0; k < other.size(); ++k) {
      INFO("account " << other[k].pk[0].toDisplay() << ": site0 " << reference[k].state.toString() << ", site" << i
                      << " " << other[k].state.toString());
      REQUIRE(other[k].state == reference[k].state);
    }
  }

  void delivery() {
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t j = 0; j < n_; ++j)
        if (i != j && group_[i] == group_[j]) pairs.emplace_back(i, j);
    if (pairs.empty()) {
      history_ += "no delivery: partitioned\n";
      return;
    }
    auto [from, to] = pairs[rng_() % pairs.size()];
    Site& f = c_[from];
    Site& t = c_[to];
    std::string route = std::to_string(from) + " -> " + std::to_string(to);
    unsigned kind = rng_() % 100;
    if (kind < 22) {
      history_ += "deliver " + route + "\n";
      figures_.tally.add(c_.deliver(from, to));
    } else if (kind < 44) {
      auto missing = test::changesOk(f, t.vector().value());
      std::size_t k = missing.empty() ? 0 : rng_() % (missing.size() + 1);
      history_ += "deliver " + route + " first " + std::to_string(k) + " of " +
                  std::to_string(missing.size()) + "\n";
      figures_.tally.add(test::applyOk(t, std::span<const Transaction>(missing.data(), k)));
    } else if (kind < 52) {
      history_ += "deliver " + route + " everything held (with duplicates)\n";
      figures_.tally.add(test::applyOk(t, test::allTransactions(f)));
    } else if (kind < 58) {
      redeliverDuplicates(from, to);
    } else if (kind < 85) {
      history_ += "syncPair " + route + "\n";
      auto [ab, ba] = c_.syncPair(from, to);
      figures_.tally.add(ab);
      figures_.tally.add(ba);
    } else {
      history_ += "acknowledgements " + route + "\n";
      test::passAcknowledgements(f, t);
    }
  }

  // Hands `to` a random sample of transactions it already holds: nothing may change.
  void redeliverDuplicates(std::size_t from, std::size_t to) {
    auto held = test::changesOk(c_[from], VersionVector{});
    std::vector<Transaction> dups;
    for (auto& txn : held)
      if (c_[to].vector().value().contains(txn.dot) && rng_() % 2) dups.push_back(std::move(txn));
    history_ += "redeliver " + std::to_string(dups.size()) + " duplicates " + std::to_string(from) +
                " -> " + std::to_string(to) + "\n";
    auto before = contents(to);
    auto r = test::applyOk(c_[to], dups);
    INFO("redelivered duplicates to site" << to);
    REQUIRE(r.applied == 0);
    REQUIRE(r.duplicates == dups.size());
    REQUIRE(r.refolded == 0);
    REQUIRE(contents(to) == before);
  }

  // ---- reading sites ----

  std::int64_t balanceAt(std::size_t i, std::int64_t a) {
    auto r = c_[i].exec("SELECT balance FROM accounts WHERE id = ?1", {Value::integer(a)});
    if (!r.ok() || r->rows.size() != 1 || r->rows[0][0].type() != Value::Type::kInteger) {
      INFO("balance of account " << a << " at site" << i << " -> " << r.status().toString());
      FAIL("cannot read the balance");
    }
    return r->rows[0][0].asInteger();
  }

  void requireNonNegative(Site& site) {
    auto r = site.exec("SELECT id, balance FROM accounts WHERE balance < 0");
    REQUIRE_OK(r);
    if (!r->rows.empty()) {
      INFO("history:\n"
           << history_ << "accounts at " << site.name() << ":\n"
           << describe(tableContents(site, "accounts")));
      REQUIRE(r->rows.empty());
    }
  }

  std::pair<std::vector<Row>, std::vector<Row>> contents(std::size_t i) {
    return {tableContents(c_[i], "accounts"), tableContents(c_[i], "notes")};
  }

  // After every step: the overdraft invariant, and the finality record of every decision.
  void sample() {
    for (std::size_t i = 0; i < n_; ++i) {
      if (v_.nonNegative) requireNonNegative(c_[i]);
      if (v_.bounded) requireRights(c_[i]);
      VersionVector held = c_[i].vector().value();
      for (const Dot& dot : dots_)
        if (held.contains(dot)) sampleDecision(i, dot);
    }
  }

  void sampleDecision(std::size_t i, const Dot& dot) {
    Decision d = test::decisionOk(c_[i], dot);
    auto key = std::make_pair(i, dot);
    if (v_.neverRejects && d.rejected) {
      INFO("history:\n" << history_ << dot.toString() << " at site" << i);
      FAIL("a " << v_.name << " site rejected a transaction; it must accept every one");
    }
    auto seen = lastSeen_.find(key);
    if (seen != lastSeen_.end() && seen->second != d.rejected) {
      ++figures_.decisionChanges;
      if (seen->second) ++figures_.unrejected;
    }
    lastSeen_[key] = d.rejected;
    auto fixed = firstFinal_.find(key);
    if (fixed == firstFinal_.end()) {
      if (d.final) firstFinal_[key] = d.rejected;
      return;
    }
    ++figures_.finalSamples;
    if (!d.final || d.rejected != fixed->second) {
      INFO("history:\n"
           << history_ << "decision on " << dot.toString() << " at site" << i
           << " was final with rejected=" << fixed->second << "; now final=" << d.final
           << " rejected=" << d.rejected);
      FAIL("a final decision changed");
    }
  }

  // ---- checks after the full sync ----

  void checkConverged() {
    REQUIRE(c_[0].vector().value().total() == dots_.size());
    auto reference = contents(0);
    for (std::size_t i = 1; i < n_; ++i) {
      auto other = contents(i);
      INFO("site0 accounts:\n"
           << describe(reference.first) << "site" << i << " accounts:\n"
           << describe(other.first) << "site0 notes:\n"
           << describe(reference.second) << "site" << i << " notes:\n"
           << describe(other.second));
      REQUIRE(other == reference);
      if (v_.bounded) checkSameRights(i);
    }
  }

  void checkDecisions() {
    for (const Dot& dot : dots_) {
      Decision d0 = test::decisionOk(c_[0], dot);
      if (d0.rejected) ++figures_.rejectedFinal;
      for (std::size_t i = 0; i < n_; ++i) {
        Decision d = test::decisionOk(c_[i], dot);
        if (d.rejected != d0.rejected || !d.final) {
          INFO(dot.toString() << ": site0 rejected=" << d0.rejected << ", site" << i
                              << " rejected=" << d.rejected << " final=" << d.final);
          REQUIRE(d.rejected == d0.rejected);
          REQUIRE(d.final);  // every site acknowledged everything
        }
      }
    }
  }

  bool accepted(const Dot& dot) { return !test::decisionOk(c_[0], dot).rejected; }

  void checkMoney() {
    auto rows = tableContents(c_[0], "accounts");
    REQUIRE(rows.size() == accounts_);
    std::map<std::int64_t, std::int64_t> all = initial_, acceptedOnly = initial_;
    std::int64_t initialTotal = 0, net = 0, total = 0;
    for (const auto& [a, balance] : initial_) initialTotal += balance;
    for (const auto& [dot, deltas] : deltas_) {
      bool ok = accepted(dot);
      for (const auto& [a, x] : deltas) {
        all[a] += x;
        if (ok) acceptedOnly[a] += x;
        net += x;
      }
    }
    bool negative = false;
    for (const auto& row : rows) {
      std::int64_t a = row[0].asInteger(), balance = row[2].asInteger();
      total += balance;
      negative = negative || balance < 0;
      INFO("account " << a << " of\n" << describe(rows));
      if (v_.everyDeltaLands) CHECK(balance == all[a]);
      if (v_.acceptedDeltasLand) CHECK(balance == acceptedOnly[a]);
    }
    if (negative) ++figures_.negativeBalances;
    INFO("accounts:\n"
         << describe(rows) << "initial total " << initialTotal << ", deposits - withdrawals "
         << net);
    if (v_.everyDeltaLands) REQUIRE(total == initialTotal + net);
    if (v_.lastWriterWins) checkLastWriter(rows);
  }

  // lww: the cell holds the after-image of the greatest-stamp write to it (a superseding
  // write always has the greater stamp, so this is lww's whole rule when no row is deleted).
  void checkLastWriter(const std::vector<Row>& rows) {
    std::map<std::pair<std::int64_t, std::uint32_t>, std::pair<Stamp, Value>> last;
    for (const auto& t : test::allTransactions(c_[0]))
      for (const auto& r : t.rows) {
        if (r.table != "accounts") continue;
        for (const auto& w : r.columns) {
          auto& slot = last[{r.pk[0].asInteger(), w.column}];
          if (slot.first < t.stamp()) slot = {t.stamp(), w.newValue};
        }
      }
    for (const auto& row : rows)
      for (std::uint32_t col : {1u, 2u}) {
        INFO("account " << row[0].asInteger() << " column " << col << " of\n" << describe(rows));
        CHECK(row[col] == last.at({row[0].asInteger(), col}).second);
      }
  }

  void checkConflictLogs() {
    auto reference = test::conflictIdentities(c_[0]);
    bool differ = false;
    for (std::size_t i = 0; i < n_; ++i) {
      auto log = c_[i].conflicts();
      REQUIRE_OK(log);
      for (const auto& c : *log) {
        INFO("at site" << i << ": " << describe(c));
        REQUIRE(c.final);  // every decision is final, so is every conflict row
        // Nothing is rejected for the bound: only for a reject column.
        if (v_.bounded && c.outcome == ConflictOutcome::kRejected) REQUIRE(c.reason.find("\"owner\"") != std::string::npos);
      }
      auto ids = test::conflictIdentities(c_[i]);
      if (ids == reference) continue;
      differ = true;
      if (v_.canonicalLog) {
        INFO("conflict logs of site0 and site" << i << " differ; "
                                               << test::difference(reference, ids));
        REQUIRE(ids == reference);
      }
    }
    if (differ) ++figures_.logsDiffering;
  }

  // A fresh site given every transaction in a random causal order ends as the others.
  void checkFreshSite() {
    auto all = test::allTransactions(c_[0]);
    std::size_t f = test::addSite(c_);
    trackTables(c_[f], v_);
    unsigned pick = rng_() % 10;
    DeliveryOrder order = pick < 4   ? DeliveryOrder::kOriginBatches
                          : pick < 8 ? DeliveryOrder::kShuffled
                                     : DeliveryOrder::kOneBatch;
    std::string log;
    test::deliverInRandomOrder(c_[f], all, order, rng_, figures_.tally, log, [&] {
      if (v_.nonNegative) requireNonNegative(c_[f]);
      if (v_.bounded) requireRights(c_[f]);
    });
    INFO(log);
    auto reference = contents(0);
    auto fresh = contents(f);
    {
      INFO("site0 accounts:\n"
           << describe(reference.first) << "fresh accounts:\n"
           << describe(fresh.first) << "site0 notes:\n"
           << describe(reference.second) << "fresh notes:\n"
           << describe(fresh.second));
      REQUIRE(fresh == reference);
    }
    if (v_.bounded) checkSameRights(f);
    if (v_.canonicalLog) {
      auto ids = test::conflictIdentities(c_[f]);
      auto expected = test::conflictIdentities(c_[0]);
      INFO("conflict logs of site0 and the fresh site differ; " << test::difference(expected, ids));
      REQUIRE(ids == expected);
    }
    test::passAcknowledgements(c_[0], c_[f]);
    for (const Dot& dot : dots_) {
      Decision d = test::decisionOk(c_[f], dot);
      INFO(dot.toString() << " at the fresh site: rejected=" << d.rejected << " final=" << d.final);
      REQUIRE(d.rejected == !accepted(dot));
      REQUIRE(d.final);
    }
  }

  std::mt19937 rng_;
  const Variant& v_;
  Figures& figures_;
  bool verbose_;
  std::size_t n_;
  Cluster c_;
  std::vector<int> group_;  // partition group of each site; deliveries stay inside one
  std::size_t accounts_ = 0;
  std::map<std::int64_t, std::int64_t> initial_;
  std::vector<Dot> dots_;  // every transaction the workload made, in commit order
  std::map<Dot, Deltas> deltas_;
  int counter_ = 0;
  std::string history_;
  std::map<std::pair<std::size_t, Dot>, bool> lastSeen_;    // last sampled: rejected?
  std::map<std::pair<std::size_t, Dot>, bool> firstFinal_;  // when it first became final
};

void runVariant(const std::string& name) {
  Variant v = variantNamed(name);
  Settings s = settings();
  Figures figures;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t k = 0; k < s.cases; ++k) {
    std::uint32_t seed = s.seed.value_or(static_cast<std::uint32_t>(k + 1));
    INFO("variant " << name << ", seed " << seed << " (replay: PARLEY_PROPERTY_SEED=" << seed
                    << " parley_tests \"[resolvers][property]\")");
    BankCase(seed, v, figures, s.seed.has_value()).run();
    ++figures.cases;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[property] " << name << ": " << figures.cases << " cases, " << figures.transactions
            << " transactions, conflicts " << figures.tally.conflicts << ", rejected (final) "
            << figures.rejectedFinal << ", rejections in folds " << figures.tally.rejected
            << ", refolded " << figures.tally.refolded << ", decision changes "
            << figures.decisionChanges << " (" << figures.unrejected << " rejected->accepted)"
            << ", final before the full sync " << figures.finalEarly << ", final samples "
            << figures.finalSamples << ", kNotReady retries " << figures.tally.notReadyRetries
            << ", cases with differing conflict logs " << figures.logsDiffering
            << ", cases ending overdrawn " << figures.negativeBalances;
  if (v.bounded) std::cout << ", refused when written " << figures.refused << ", rights moves " << figures.rightsMoves;
  std::cout << ", " << seconds << " s\n";

  // The workload must exercise what the properties are about, or they prove little.
  if (s.seed || s.cases < 100) return;
  CHECK(figures.tally.conflicts > 0);
  CHECK(figures.finalEarly > 0);
  CHECK(figures.finalSamples > figures.finalEarly);
  if (v.expectRejections) CHECK(figures.rejectedFinal > 0);
  if (v.expectRefolds) CHECK(figures.tally.refolded > 0);
  if (v.everyDeltaLands && !v.nonNegative) CHECK(figures.negativeBalances > 0);  // concurrent withdrawals overdraw
  if (v.bounded) {
    CHECK(figures.refused > 0);
    CHECK(figures.rightsMoves > 0);
    CHECK(figures.negativeBalances == 0);
  }
}

}  // namespace

TEST_CASE("under lww, random bank workloads converge in any delivery order to the last writes",
          "[resolvers][property]") {
  runVariant("lww");
}

TEST_CASE("under fww, random bank workloads converge in any delivery order and agree on conflicts",
          "[resolvers][property]") {
  runVariant("fww");
}

TEST_CASE("under merge, random bank workloads converge and keep every deposit and withdrawal",
          "[resolvers][property]") {
  runVariant("merge");
}

TEST_CASE("under counter, random bank workloads converge and keep every deposit and withdrawal",
          "[resolvers][property]") {
  runVariant("counter");
}

TEST_CASE("under reject, random bank workloads never overdraw and agree on every rejection",
          "[resolvers][property]") {
  runVariant("reject");
}

TEST_CASE(
    "under merge with CHECK (balance >= 0), random bank workloads never overdraw and conserve "
    "accepted money",
    "[resolvers][property]") {
  runVariant("merge+check");
}

TEST_CASE(
    "under bounded, random bank workloads with rights moves never go below 0 at any site, reject nothing and "
    "converge",
    "[resolvers][property][bounded]") {
  runVariant("bounded");
}

TEST_CASE(
    "under bounded with a reject column in the same table, no site ever goes below 0 and only the reject "
    "column rejects",
    "[resolvers][property][bounded]") {
  runVariant("bounded+reject");
}

}  // namespace parley
