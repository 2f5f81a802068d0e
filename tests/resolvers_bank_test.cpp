// The resolvers on the bank-account scenario and its variations, each against the value the
// contract in DESIGN.md ("Resolvers", "Provisional and final", "Conflict log") predicts.
//
// The scenario: account 1 opens with 1000 at New York (site 0) and reaches London (site 1);
// then, partitioned, NY withdraws 100 at +100 ms and LDN withdraws 200 at +200 ms, so LDN's
// stamp is the later one in canonical order. Every expectation below follows from that.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/in_process.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::applyOk;
using testing::Cluster;
using test::ClusterOptions;
using test::describe;
using test::execOk;
using test::Int;
using test::queryInt;
using test::tableContents;
using test::Txt;

constexpr const char* kAccounts =
    "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER);";
constexpr const char* kCheckedAccounts =
    "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER CHECK (balance >= 0));";

constexpr std::size_t kNy = 0;
constexpr std::size_t kLdn = 1;

// ---- reading results -------------------------------------------------------------------

const char* outcomeName(ConflictOutcome o) {
  switch (o) {
    case ConflictOutcome::kAppliedRemote: return "applied-remote";
    case ConflictOutcome::kKeptLocal: return "kept-local";
    case ConflictOutcome::kMerged: return "merged";
    case ConflictOutcome::kRejected: return "rejected";
  }
  return "?";
}

std::string pkText(const Row& pk) {
  std::string out = "(";
  for (std::size_t i = 0; i < pk.size(); ++i) out += (i ? ", " : "") + pk[i].toSqlLiteral();
  return out + ")";
}

std::string dotsText(const Dots& dots) {
  std::string out = "[";
  for (std::size_t i = 0; i < dots.size(); ++i) out += (i ? " " : "") + dots[i].toString();
  return out + "]";
}

// Every field a test might be puzzled by, on one line.
std::string show(const ConflictReport& c) {
  std::ostringstream out;
  out << toString(c.kind) << " " << c.table << pkText(c.pk) << "." << c.column << " [" << c.resolver
      << "] local " << c.localValue.toSqlLiteral() << " " << dotsText(c.localDots) << " remote "
      << c.remoteValue.toSqlLiteral() << " " << c.remoteDot.toString() << " -> "
      << c.result.toSqlLiteral() << " " << outcomeName(c.outcome)
      << (c.final ? " final" : " provisional") << (c.reason.empty() ? "" : " (" + c.reason + ")");
  return out.str();
}

std::string show(const std::vector<ConflictReport>& cs) {
  std::string out;
  for (const auto& c : cs) out += "  " + show(c) + "\n";
  return out.empty() ? "  (none)\n" : out;
}

std::string show(const ApplyResult& r) {
  return "applied " + std::to_string(r.applied) + ", duplicates " + std::to_string(r.duplicates) +
         ", refolded " + std::to_string(r.refolded) + ", rejected " + std::to_string(r.rejected) +
         "\n" + show(r.conflicts);
}

// New York and London both hold exactly `expected` in accounts.
void checkBothHold(Cluster& c, const std::vector<Row>& expected) {
  CHECK(tableContents(c[kNy], "accounts") == expected);
  CHECK(tableContents(c[kLdn], "accounts") == expected);
}

std::vector<ConflictReport> conflictsOk(Site& site, std::optional<std::string> table = std::nullopt) {
  auto r = site.conflicts(std::move(table));
  REQUIRE_OK(r);
  return std::move(r).value();
}

std::vector<ConflictReport> rejectedOk(Site& site) {
  auto r = site.rejectedWrites();
  REQUIRE_OK(r);
  return std::move(r).value();
}

Decision decisionOk(Site& site, const Dot& dot) {
  auto r = site.decision(dot);
  INFO("decision(" << dot.toString() << ") at " << site.name());
  REQUIRE_OK(r);
  return *r;
}

std::vector<ConflictReport> withOutcome(const std::vector<ConflictReport>& cs, ConflictOutcome o) {
  std::vector<ConflictReport> out;
  for (const auto& c : cs)
    if (c.outcome == o) out.push_back(c);
  return out;
}

// What a conflict log decided, independent of which version a site had in place: the set of
// (transaction decided, table, key, column, outcome).
std::set<std::string> decisions(Site& site) {
  std::set<std::string> out;
  for (const auto& c : conflictsOk(site))
    out.insert(c.remoteDot.toString() + " " + c.table + pkText(c.pk) + "." + c.column + " " +
               outcomeName(c.outcome));
  return out;
}

void requireSameContents(Site& a, Site& b, const char* table) {
  auto ca = tableContents(a, table);
  auto cb = tableContents(b, table);
  INFO(a.name() << ":\n" << describe(ca) << b.name() << ":\n" << describe(cb));
  REQUIRE(ca == cb);
}

// ---- the scenario ----------------------------------------------------------------------

// Strategies the bank tests use: the standard ones plus two callbacks.
//   callback:deltas  local + remote - base: both withdrawals count (like merge)
//   callback:max     the larger balance: the smaller withdrawal survives
std::shared_ptr<resolvers::Registry> bankRegistry() {
  auto registry = resolvers::standard();
  auto allIntegers = [](const resolvers::CallbackArgs& a) {
    return a.local.value.type() == Value::Type::kInteger &&
           a.remote.value.type() == Value::Type::kInteger && a.base.type() == Value::Type::kInteger;
  };
  REQUIRE_OK(registry->addCallback("deltas", [allIntegers](const resolvers::CallbackArgs& a) {
    if (!allIntegers(a)) return a.remote.value;
    return Value::integer(a.local.value.asInteger() + a.remote.value.asInteger() -
                          a.base.asInteger());
  }));
  REQUIRE_OK(registry->addCallback("max", [allIntegers](const resolvers::CallbackArgs& a) {
    if (!allIntegers(a)) return a.remote.value;
    return Value::integer(std::max(a.local.value.asInteger(), a.remote.value.asInteger()));
  }));
  return registry;
}

TableConfig balanceConfig(const std::string& strategy) {
  TableConfig c;
  c.overrides["balance"] = strategy;
  return c;
}

ClusterOptions bankOptions(const std::string& balanceStrategy, const char* schema = kAccounts) {
  ClusterOptions o;
  o.resolvers = bankRegistry();
  o.schema = schema;
  o.tracked = {"accounts"};
  o.config = balanceConfig(balanceStrategy);
  return o;
}

Dot lastDot(Site& site) { return Dot{site.id(), site.vector().value().get(site.id())}; }

// Account 1 ('alice', `balance`) opened at site 0 and delivered to every other site.
Cluster openBank(ClusterOptions options, std::size_t sites = 2, std::int64_t balance = 1000) {
  Cluster c(test::clusterOptions(sites, std::move(options)));
  execOk(c[0], "INSERT INTO accounts VALUES (1, 'alice', ?1)", {Int(balance)});
  for (std::size_t i = 1; i < sites; ++i) c.deliver(0, i);
  return c;
}

Dot withdraw(Site& site, std::int64_t amount, std::int64_t account = 1) {
  execOk(site, "UPDATE accounts SET balance = balance - ?1 WHERE id = ?2", {Int(amount), Int(account)});
  return lastDot(site);
}

std::int64_t balanceOf(Site& site, std::int64_t account = 1) {
  return queryInt(site, "SELECT balance FROM accounts WHERE id = " + std::to_string(account));
}

struct Withdrawals {
  Dot ny;
  Dot ldn;
};

// NY withdraws 100 at +100 ms, LDN 200 at +200 ms, neither seeing the other.
Withdrawals concurrentWithdrawals(Cluster& c) {
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  Withdrawals w{withdraw(c[kNy], 100), withdraw(c[kLdn], 200)};
  REQUIRE(balanceOf(c[kNy]) == 900);
  REQUIRE(balanceOf(c[kLdn]) == 800);
  auto ny = test::transactionWithDot(c[kNy], w.ny);
  auto ldn = test::transactionWithDot(c[kLdn], w.ldn);
  REQUIRE(ny.stamp() < ldn.stamp());
  return w;
}

struct BankCase {
  const char* strategy;
  std::int64_t expected;
  const char* why;
};

const std::vector<BankCase>& bankCases() {
  static const std::vector<BankCase> cases{
      {"lww", 800, "the later write (LDN's) wins; NY's withdrawal is lost"},
      {"fww", 900, "the earlier write (NY's) stays; LDN's withdrawal is lost"},
      {"merge", 700, "both deltas apply"},
      {"counter", 700, "both sites' contributions add up"},
      {"reject", 900, "NY's withdrawal is first; LDN's read a stale balance and bounces"},
      {"callback:deltas", 700, "the callback adds both withdrawals"},
      {"callback:max", 900, "the callback keeps the larger balance"},
  };
  return cases;
}

}  // namespace

// ---- 1. the bank scenario per strategy ---------------------------------------------------

TEST_CASE("concurrent withdrawals of 100 and 200 from 1000 end at each balance resolver's value",
          "[resolvers][bank]") {
  BankCase bank = GENERATE(from_range(bankCases()));
  INFO("balance=" << bank.strategy << ": expected " << bank.expected << " because " << bank.why);
  Cluster c = openBank(bankOptions(bank.strategy));
  concurrentWithdrawals(c);
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  CHECK(balanceOf(c[kNy]) == bank.expected);
  CHECK(balanceOf(c[kLdn]) == bank.expected);
  requireSameContents(c[kNy], c[kLdn], "accounts");
  CHECK(tableContents(c[kNy], "accounts") ==
        std::vector<Row>{{Int(1), Txt("alice"), Int(bank.expected)}});
  CHECK(c[kNy].vector().value() == c[kLdn].vector().value());
}

TEST_CASE("under reject the later withdrawal bounces and both sites log it as the same rejection",
          "[resolvers][bank][reject]") {
  Cluster c = openBank(bankOptions("reject"));
  Withdrawals w = concurrentWithdrawals(c);
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  CHECK(atNy.rejected == 1);  // LDN's withdrawal, arriving after NY's
  CHECK(atLdn.rejected == 1);  // LDN's own withdrawal, re-folded after NY's earlier one
  CHECK(atLdn.refolded == 1);

  for (std::size_t i : {kNy, kLdn}) {
    Site& site = c[i];
    INFO("at " << site.name());
    CHECK(balanceOf(site) == 900);
    CHECK(decisionOk(site, w.ny).rejected == false);
    CHECK(decisionOk(site, w.ldn).rejected == true);

    auto log = conflictsOk(site);
    INFO("conflict log:\n" << show(log));
    REQUIRE(log.size() == 1);
    const ConflictReport& r = log[0];
    CHECK(r.kind == ConflictKind::kRejected);
    CHECK(r.outcome == ConflictOutcome::kRejected);
    CHECK(r.remoteWon == false);
    CHECK(r.table == "accounts");
    CHECK(r.pk == Row{Int(1)});
    CHECK(r.column == "balance");
    CHECK(r.resolver == "reject");
    CHECK(r.remoteDot == w.ldn);
    CHECK(r.remoteValue == Int(800));  // what LDN wanted
    CHECK(r.localValue == Int(900));   // what was in place: NY's withdrawal
    CHECK(r.localDots == Dots{w.ny});
    CHECK(r.result == Int(900));
    CHECK(r.reason.find("balance") != std::string::npos);
    CHECK(conflictsOk(site, "accounts").size() == 1);
    CHECK(conflictsOk(site, "no_such_table").empty());
  }

  // The origin of the bounced withdrawal can list it, with the value it wanted.
  auto ldnRejected = rejectedOk(c[kLdn]);
  INFO("LDN's rejected writes:\n" << show(ldnRejected));
  REQUIRE(ldnRejected.size() == 1);
  CHECK(ldnRejected[0].remoteDot == w.ldn);
  CHECK(ldnRejected[0].remoteValue == Int(800));
  CHECK(ldnRejected[0].column == "balance");
  CHECK(ldnRejected[0].pk == Row{Int(1)});
  auto nyRejected = rejectedOk(c[kNy]);
  INFO("NY's rejected writes:\n" << show(nyRejected));
  CHECK(nyRejected.empty());
}

TEST_CASE("a callback resolver decides the bank conflict with the user's function at both sites",
          "[resolvers][bank][callback]") {
  struct Case {
    const char* strategy;
    std::int64_t expected;
    ConflictOutcome outcome;  // at both sites, for LDN's later write meeting NY's in place
  };
  Case k = GENERATE(values<Case>({{"callback:deltas", 700, ConflictOutcome::kMerged},
                                  {"callback:max", 900, ConflictOutcome::kKeptLocal}}));
  INFO(k.strategy);
  Cluster c = openBank(bankOptions(k.strategy));
  Withdrawals w = concurrentWithdrawals(c);
  c.syncPair(kNy, kLdn);
  for (std::size_t i : {kNy, kLdn}) {
    INFO("at " << c[i].name());
    CHECK(balanceOf(c[i]) == k.expected);
    auto log = conflictsOk(c[i]);
    INFO(show(log));
    REQUIRE(log.size() == 1);
    CHECK(log[0].kind == ConflictKind::kCell);
    CHECK(log[0].resolver == k.strategy);
    CHECK(log[0].column == "balance");
    CHECK(log[0].remoteDot == w.ldn);  // a callback folds in canonical order at every site
    CHECK(log[0].localValue == Int(900));
    CHECK(log[0].remoteValue == Int(800));
    CHECK(log[0].result == Int(k.expected));
    CHECK(log[0].outcome == k.outcome);
    CHECK(rejectedOk(c[i]).empty());
  }
}

TEST_CASE("a callback sees the version in place, the incoming write and what that write overwrote",
          "[resolvers][callback]") {
  auto registry = resolvers::standard();
  struct Seen {
    std::string table, column;
    Row pk;
    Value base, local, remote;
    Dots localDots, remoteDots;
  };
  auto seen = std::make_shared<std::vector<Seen>>();
  REQUIRE_OK(registry->addCallback("spy", [seen](const resolvers::CallbackArgs& a) {
    seen->push_back({std::string(a.table), std::string(a.column), a.pk, a.base, a.local.value,
                     a.remote.value, a.local.dots, a.remote.dots});
    return a.remote.value;
  }));
  ClusterOptions o = bankOptions("callback:spy");
  o.resolvers = registry;
  Cluster c = openBank(o);
  Withdrawals w = concurrentWithdrawals(c);
  c.deliver(kLdn, kNy);  // NY: LDN's later write meets NY's in place
  REQUIRE(seen->size() == 1);
  const Seen& s = seen->at(0);
  CHECK(s.table == "accounts");
  CHECK(s.column == "balance");
  CHECK(s.pk == Row{Int(1)});
  CHECK(s.base == Int(1000));
  CHECK(s.local == Int(900));
  CHECK(s.remote == Int(800));
  CHECK(s.localDots == Dots{w.ny});
  CHECK(s.remoteDots == Dots{w.ldn});
  CHECK(balanceOf(c[kNy]) == 800);
}

TEST_CASE("duplicate callback names and malformed ones are refused by the registry",
          "[resolvers][callback][config]") {
  auto registry = resolvers::standard();
  auto keep = [](const resolvers::CallbackArgs& a) { return a.local.value; };
  REQUIRE_OK(registry->addCallback("mine", keep));
  auto again = registry->addCallback("mine", keep);
  CHECK_FALSE(again.isOk());
  CHECK(again.message().find("mine") != std::string::npos);
  CHECK_FALSE(registry->addCallback("", keep).isOk());
  CHECK_FALSE(registry->addCallback("has space", keep).isOk());
  CHECK_FALSE(registry->addCallback("a=b", keep).isOk());
  CHECK_FALSE(registry->addCallback("nofn", resolvers::Callback{}).isOk());
  CHECK(registry->column("callback:mine") != nullptr);
  CHECK(registry->column("callback:other") == nullptr);
}

// ---- 2. delivery order -----------------------------------------------------------------

TEST_CASE("the bank scenario ends the same whichever withdrawal is delivered first",
          "[resolvers][bank][order]") {
  BankCase bank = GENERATE(from_range(bankCases()));
  bool nyFirst = GENERATE(true, false);
  INFO("balance=" << bank.strategy << ", " << (nyFirst ? "NY's" : "LDN's")
                  << " withdrawal delivered first");
  // Site 2 only watches: it receives the two withdrawals one at a time, in this order too.
  Cluster c = openBank(bankOptions(bank.strategy), 3);
  Withdrawals w = concurrentWithdrawals(c);
  Transaction ny = test::transactionWithDot(c[kNy], w.ny);
  Transaction ldn = test::transactionWithDot(c[kLdn], w.ldn);
  if (nyFirst) {
    c.deliver(kNy, kLdn);
    c.deliver(kLdn, kNy);
  } else {
    c.deliver(kLdn, kNy);
    c.deliver(kNy, kLdn);
  }
  std::vector<Transaction> first{nyFirst ? ny : ldn};
  std::vector<Transaction> second{nyFirst ? ldn : ny};
  applyOk(c[2], first);
  applyOk(c[2], second);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("at " << c[i].name());
    CHECK(balanceOf(c[i]) == bank.expected);
    CHECK(c[i].vector().value() == c[0].vector().value());
  }
  requireSameContents(c[0], c[2], "accounts");
  // The decisions agree too.
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("at " << c[i].name());
    CHECK(decisionOk(c[i], w.ny).rejected == false);
    CHECK(decisionOk(c[i], w.ldn).rejected == (std::string(bank.strategy) == "reject"));
  }
}

TEST_CASE("after the bank scenario syncs, every site's conflict log records the same decisions",
          "[resolvers][bank][conflict-log]") {
  // DESIGN.md, "Conflict log": once all sites hold the same transactions the logs agree; and
  // ConflictReport: "remote" is the incoming write in canonical order, so every site names the
  // later withdrawal (LDN's) as the one decided. A resolver applied on arrival (not re-folded)
  // would instead log, at LDN, NY's earlier write as the remote one.
  BankCase bank = GENERATE(from_range(bankCases()));
  INFO("balance=" << bank.strategy);
  Cluster c = openBank(bankOptions(bank.strategy), 3);
  Withdrawals w = concurrentWithdrawals(c);
  c.syncAll();
  auto reference = decisions(c[0]);
  for (std::size_t i = 0; i < 3; ++i) {
    auto log = conflictsOk(c[i]);
    INFO("at " << c[i].name() << ":\n" << show(log));
    CHECK(decisions(c[i]) == reference);
    // The decided transaction is the later one: LDN's withdrawal.
    REQUIRE(log.size() == 1);
    CHECK(log[0].remoteDot == w.ldn);
  }
}

// ---- 3. merge ----------------------------------------------------------------------------

TEST_CASE("under merge, concurrent changes to different columns of a row are both kept",
          "[resolvers][merge]") {
  ClusterOptions o = bankOptions("merge");
  o.config->columns = "merge";
  Cluster c = openBank(o);
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  execOk(c[kNy], "UPDATE accounts SET owner = 'Alice A.' WHERE id = 1");
  withdraw(c[kLdn], 50);
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  CHECK(atLdn.conflicts.empty());
  CHECK(atNy.conflicts.empty());
  std::vector<Row> expected{{Int(1), Txt("Alice A."), Int(950)}};
  checkBothHold(c, expected);
  CHECK(conflictsOk(c[kNy]).empty());
  CHECK(conflictsOk(c[kLdn]).empty());
}

TEST_CASE("under merge, concurrent text writes to one column fall back to lww, or fww for merge/fww",
          "[resolvers][merge]") {
  struct Case {
    const char* strategy;
    const char* expected;
  };
  Case k = GENERATE(values<Case>({{"merge", "ldn"}, {"merge/fww", "ny"},
                                  {"counter", "ldn"}, {"counter/fww", "ny"}}));
  INFO("owner=" << k.strategy);
  ClusterOptions o = bankOptions("merge");
  o.config->overrides["owner"] = k.strategy;
  Cluster c = openBank(o);
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  execOk(c[kNy], "UPDATE accounts SET owner = 'ny' WHERE id = 1");
  execOk(c[kLdn], "UPDATE accounts SET owner = 'ldn' WHERE id = 1");
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  std::vector<Row> expected{{Int(1), Txt(k.expected), Int(1000)}};
  checkBothHold(c, expected);
  for (std::size_t i : {kNy, kLdn}) {
    auto log = conflictsOk(c[i]);
    INFO("at " << c[i].name() << ":\n" << show(log));
    REQUIRE(log.size() == 1);
    CHECK(log[0].kind == ConflictKind::kCell);
    CHECK(log[0].column == "owner");
    CHECK(log[0].resolver == k.strategy);
    CHECK(log[0].result == Txt(k.expected));
  }
}

TEST_CASE("under merge, identical concurrent text writes are not a conflict", "[resolvers][merge]") {
  ClusterOptions o = bankOptions("merge");
  o.config->columns = "merge";
  Cluster c = openBank(o);
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  execOk(c[kNy], "UPDATE accounts SET owner = 'same' WHERE id = 1");
  execOk(c[kLdn], "UPDATE accounts SET owner = 'same' WHERE id = 1");
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  CHECK(atLdn.conflicts.empty());
  CHECK(atNy.conflicts.empty());
  std::vector<Row> expected{{Int(1), Txt("same"), Int(1000)}};
  checkBothHold(c, expected);
  CHECK(conflictsOk(c[kNy]).empty());
  CHECK(conflictsOk(c[kLdn]).empty());
}

TEST_CASE("under merge, identical concurrent inserts of one key converge with no cell conflict",
          "[resolvers][merge]") {
  ClusterOptions o = bankOptions("merge");
  o.config->columns = "merge";
  Cluster c(test::clusterOptions(2, o));
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  execOk(c[kNy], "INSERT INTO accounts VALUES (2, 'bob', 50)");
  execOk(c[kLdn], "INSERT INTO accounts VALUES (2, 'bob', 50)");
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  std::vector<Row> expected{{Int(2), Txt("bob"), Int(50)}};
  checkBothHold(c, expected);
  for (std::size_t i : {kNy, kLdn}) {
    auto log = conflictsOk(c[i]);
    INFO("at " << c[i].name() << ":\n" << show(log));
    for (const auto& conflict : log) {
      CHECK(conflict.kind != ConflictKind::kCell);
      CHECK(conflict.outcome != ConflictOutcome::kRejected);
    }
  }
}

TEST_CASE("under merge a numeric cell written by both sides keeps both deltas, real numbers too",
          "[resolvers][merge]") {
  ClusterOptions o = bankOptions("merge");
  o.schema = "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance REAL);";
  Cluster c(test::clusterOptions(2, o));
  execOk(c[kNy], "INSERT INTO accounts VALUES (1, 'alice', 10.5)");
  c.deliver(kNy, kLdn);
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  execOk(c[kNy], "UPDATE accounts SET balance = balance + 0.25 WHERE id = 1");
  execOk(c[kLdn], "UPDATE accounts SET balance = balance - 2.5 WHERE id = 1");
  c.syncPair(kNy, kLdn);
  std::vector<Row> expected{{Int(1), Txt("alice"), test::Real(8.25)}};  // exact in binary
  checkBothHold(c, expected);
}

// ---- 4. counter ----------------------------------------------------------------------------

TEST_CASE("a counter balance is the initial value plus every site's deltas, counted once each",
          "[resolvers][counter]") {
  Cluster c = openBank(bankOptions("counter"), 3);
  c.clock(0).advance(10);
  c.clock(1).advance(20);
  c.clock(2).advance(30);
  execOk(c[0], "UPDATE accounts SET balance = balance + 50 WHERE id = 1");
  withdraw(c[1], 30);
  execOk(c[2], "UPDATE accounts SET balance = balance + 200 WHERE id = 1");
  withdraw(c[2], 20);
  const std::int64_t expected = 1000 + 50 - 30 + 200 - 20;

  // Deliveries with duplicates and forwarding: site 2 gets site 0's deposit directly, then
  // again through site 1; site 1 gets site 0's log twice.
  c.deliver(0, 1);
  applyOk(c[1], test::allTransactions(c[0]));
  c.deliver(0, 2);
  c.deliver(1, 2);
  applyOk(c[2], test::allTransactions(c[1]));
  c.syncAll();
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("at " << c[i].name());
    CHECK(balanceOf(c[i]) == expected);
  }

  // Re-delivering everything everywhere changes nothing and is counted as duplicates.
  for (std::size_t from = 0; from < 3; ++from) {
    auto all = test::allTransactions(c[from]);
    for (std::size_t to = 0; to < 3; ++to) {
      auto r = applyOk(c[to], all);
      INFO(c[from].name() << " -> " << c[to].name() << ": " << show(r));
      CHECK(r.applied == 0);
      CHECK(r.duplicates == all.size());
      CHECK(r.conflicts.empty());
    }
  }
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("at " << c[i].name());
    CHECK(balanceOf(c[i]) == expected);
  }
}

TEST_CASE("random deposits and withdrawals with duplicated, reordered delivery conserve money",
          "[resolvers][counter][merge][random]") {
  std::string strategy = GENERATE(as<std::string>{}, "counter", "merge");
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    INFO("balance=" << strategy << " seed " << seed);
    std::mt19937_64 rng(seed);
    Cluster c = openBank(bankOptions(strategy), 3);
    std::int64_t expected = 1000;
    for (int step = 0; step < 40; ++step) {
      std::size_t at = rng() % 3;
      std::size_t from = rng() % 3;
      switch (rng() % 3) {
        case 0: {
          auto delta = static_cast<std::int64_t>(rng() % 401) - 200;
          c.clock(at).advance(rng() % 50);
          execOk(c[at], "UPDATE accounts SET balance = balance + ?1 WHERE id = 1", {Int(delta)});
          expected += delta;
          break;
        }
        case 1: if (from != at) c.deliver(from, at); break;  // a site holds its own
        default: applyOk(c[at], test::allTransactions(c[from])); break;  // with duplicates
      }
    }
    c.syncAll();
    for (std::size_t i = 0; i < 3; ++i) {
      INFO("at " << c[i].name());
      REQUIRE(balanceOf(c[i]) == expected);
    }
  }
}

// ---- 5. reject -----------------------------------------------------------------------------

TEST_CASE("under reject a transfer whose other account changed concurrently is rejected in full",
          "[resolvers][reject][atomicity]") {
  Cluster c(test::clusterOptions(2, bankOptions("reject")));
  execOk(c[kNy], "INSERT INTO accounts VALUES (1, 'alice', 1000), (2, 'bob', 500)");
  c.deliver(kNy, kLdn);
  c.clock(kLdn).advance(100);  // LDN's withdrawal from bob sorts first
  c.clock(kNy).advance(200);
  Dot bob = withdraw(c[kLdn], 50, 2);
  execOk(c[kNy],
         "BEGIN; UPDATE accounts SET balance = balance - 100 WHERE id = 1;"
         "UPDATE accounts SET balance = balance + 100 WHERE id = 2; COMMIT;");
  Dot transfer = lastDot(c[kNy]);
  REQUIRE(test::transactionWithDot(c[kNy], transfer).rows.size() == 2);

  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  // No half transfer, no money created: alice keeps 1000, bob has 500 - 50.
  std::vector<Row> expected{{Int(1), Txt("alice"), Int(1000)}, {Int(2), Txt("bob"), Int(450)}};
  for (std::size_t i : {kNy, kLdn}) {
    INFO("at " << c[i].name());
    CHECK(tableContents(c[i], "accounts") == expected);
    CHECK(queryInt(c[i], "SELECT sum(balance) FROM accounts") == 1450);
    CHECK(decisionOk(c[i], transfer).rejected);
    CHECK_FALSE(decisionOk(c[i], bob).rejected);
    auto rejected = withOutcome(conflictsOk(c[i]), ConflictOutcome::kRejected);
    INFO(show(rejected));
    REQUIRE(rejected.size() == 2);  // both of the transfer's writes
    for (const auto& r : rejected) CHECK(r.remoteDot == transfer);
  }
  auto own = rejectedOk(c[kNy]);
  INFO("NY's rejected writes:\n" << show(own));
  REQUIRE(own.size() == 2);
  std::set<std::pair<std::int64_t, std::int64_t>> wanted;  // (account, balance wanted)
  for (const auto& r : own) {
    CHECK(r.column == "balance");
    REQUIRE(r.pk.size() == 1);
    wanted.insert({r.pk[0].asInteger(), r.remoteValue.asInteger()});
  }
  CHECK(wanted == std::set<std::pair<std::int64_t, std::int64_t>>{{1, 900}, {2, 600}});
  CHECK(rejectedOk(c[kLdn]).empty());
}

TEST_CASE("under reject a withdrawal built on a rejected withdrawal is rejected too",
          "[resolvers][reject]") {
  Cluster c = openBank(bankOptions("reject"));
  Withdrawals w = concurrentWithdrawals(c);
  c.clock(kLdn).advance(100);
  Dot again = withdraw(c[kLdn], 50);  // reads LDN's own, still provisional, 800
  REQUIRE(balanceOf(c[kLdn]) == 750);
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  for (std::size_t i : {kNy, kLdn}) {
    INFO("at " << c[i].name());
    CHECK(balanceOf(c[i]) == 900);
    CHECK_FALSE(decisionOk(c[i], w.ny).rejected);
    CHECK(decisionOk(c[i], w.ldn).rejected);
    CHECK(decisionOk(c[i], again).rejected);
    auto rejected = withOutcome(conflictsOk(c[i]), ConflictOutcome::kRejected);
    INFO(show(rejected));
    REQUIRE(rejected.size() == 2);
  }
  auto own = rejectedOk(c[kLdn]);
  INFO("LDN's rejected writes:\n" << show(own));
  REQUIRE(own.size() == 2);
  std::set<std::pair<std::uint64_t, std::int64_t>> wanted;  // (seq, balance wanted)
  for (const auto& r : own) wanted.insert({r.remoteDot.seq, r.remoteValue.asInteger()});
  CHECK(wanted == std::set<std::pair<std::uint64_t, std::int64_t>>{{w.ldn.seq, 800}, {again.seq, 750}});
  CHECK(rejectedOk(c[kNy]).empty());

  // Later writes read the accepted balance again and go through.
  c.clock(kLdn).advance(100);
  Dot after = withdraw(c[kLdn], 10);
  c.syncPair(kNy, kLdn);
  CHECK(balanceOf(c[kNy]) == 890);
  CHECK(balanceOf(c[kLdn]) == 890);
  CHECK_FALSE(decisionOk(c[kNy], after).rejected);
}

TEST_CASE("under reject a late, earlier withdrawal from an offline site flips an accepted one",
          "[resolvers][reject][late]") {
  Cluster c = openBank(bankOptions("reject"), 3);
  const std::size_t kOffline = 2;
  c.clock(kOffline).advance(50);
  Dot early = withdraw(c[kOffline], 300);  // earliest stamp, but reaches the others last
  Withdrawals w = concurrentWithdrawals(c);

  c.syncPair(kNy, kLdn);
  for (std::size_t i : {kNy, kLdn}) {
    INFO("before the offline site returns, at " << c[i].name());
    CHECK(balanceOf(c[i]) == 900);
    CHECK_FALSE(decisionOk(c[i], w.ny).rejected);
    CHECK(decisionOk(c[i], w.ldn).rejected);
    CHECK_FALSE(decisionOk(c[i], w.ny).final);  // the offline site may still have something
  }
  CHECK(rejectedOk(c[kNy]).empty());

  auto [atOffline, atNy] = c.syncPair(kNy, kOffline);
  INFO("at NY: " << show(atNy) << "at offline: " << show(atOffline));
  CHECK(atNy.refolded == 2);
  c.syncAll();
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("after full sync, at " << c[i].name());
    CHECK(balanceOf(c[i]) == 700);
    CHECK_FALSE(decisionOk(c[i], early).rejected);
    CHECK(decisionOk(c[i], w.ny).rejected);  // flipped: it read 1000, the balance was 700
    CHECK(decisionOk(c[i], w.ldn).rejected);
  }
  auto nyOwn = rejectedOk(c[kNy]);
  INFO("NY's rejected writes:\n" << show(nyOwn));
  REQUIRE(nyOwn.size() == 1);
  CHECK(nyOwn[0].remoteDot == w.ny);
  CHECK(nyOwn[0].remoteValue == Int(900));
  CHECK(rejectedOk(c[kOffline]).empty());

  std::set<std::string> expected{
      w.ny.toString() + " accounts(1).balance rejected",
      w.ldn.toString() + " accounts(1).balance rejected",
  };
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("at " << c[i].name() << ":\n" << show(conflictsOk(c[i])));
    CHECK(decisions(c[i]) == expected);
    CHECK(conflictsOk(c[i]).size() == 2);  // updated, not duplicated
  }
}

TEST_CASE("under reject a late arrival can also turn a rejected transaction into an accepted one",
          "[resolvers][reject][late]") {
  // Accounts 1 and 2. LDN transfers 100 from 1 to 2 (+150 ms); NY withdraws 50 from 1 (+200 ms)
  // and bounces off the transfer. Then an offline site's earlier withdrawal from account 2
  // (+100 ms) arrives: the transfer now read a stale account 2 and is rejected, so account 1
  // never changed under NY's withdrawal, which is accepted after all.
  Cluster c(test::clusterOptions(3, bankOptions("reject")));
  const std::size_t kOffline = 2;
  execOk(c[kNy], "INSERT INTO accounts VALUES (1, 'alice', 1000), (2, 'bob', 500)");
  c.syncAll();
  c.clock(kOffline).advance(100);
  c.clock(kLdn).advance(150);
  c.clock(kNy).advance(200);
  Dot bob = withdraw(c[kOffline], 300, 2);
  execOk(c[kLdn],
         "BEGIN; UPDATE accounts SET balance = balance - 100 WHERE id = 1;"
         "UPDATE accounts SET balance = balance + 100 WHERE id = 2; COMMIT;");
  Dot transfer = lastDot(c[kLdn]);
  Dot alice = withdraw(c[kNy], 50, 1);

  c.syncPair(kNy, kLdn);
  std::vector<Row> before{{Int(1), Txt("alice"), Int(900)}, {Int(2), Txt("bob"), Int(600)}};
  for (std::size_t i : {kNy, kLdn}) {
    INFO("before the offline site returns, at " << c[i].name());
    CHECK(tableContents(c[i], "accounts") == before);
    CHECK_FALSE(decisionOk(c[i], transfer).rejected);
    CHECK(decisionOk(c[i], alice).rejected);
  }
  CHECK(rejectedOk(c[kNy]).size() == 1);

  c.syncAll();
  std::vector<Row> after{{Int(1), Txt("alice"), Int(950)}, {Int(2), Txt("bob"), Int(200)}};
  std::set<std::string> expectedLog{
      transfer.toString() + " accounts(1).balance rejected",
      transfer.toString() + " accounts(2).balance rejected",
  };
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("after full sync, at " << c[i].name() << ":\n" << show(conflictsOk(c[i])));
    CHECK(tableContents(c[i], "accounts") == after);
    CHECK_FALSE(decisionOk(c[i], bob).rejected);
    CHECK(decisionOk(c[i], transfer).rejected);
    CHECK_FALSE(decisionOk(c[i], alice).rejected);  // flipped back: accepted
    CHECK(decisions(c[i]) == expectedLog);
  }
  CHECK(rejectedOk(c[kNy]).empty());  // NY's earlier rejection is withdrawn from its log
  CHECK(rejectedOk(c[kLdn]).size() == 2);
}

// ---- 6. constraints --------------------------------------------------------------------------

TEST_CASE("merge with CHECK (balance >= 0) gives 700 when both withdrawals fit",
          "[resolvers][constraints][merge]") {
  Cluster c = openBank(bankOptions("merge", kCheckedAccounts));
  Withdrawals w = concurrentWithdrawals(c);
  c.syncPair(kNy, kLdn);
  for (std::size_t i : {kNy, kLdn}) {
    INFO("at " << c[i].name() << ":\n" << show(conflictsOk(c[i])));
    CHECK(balanceOf(c[i]) == 700);
    CHECK_FALSE(decisionOk(c[i], w.ny).rejected);
    CHECK_FALSE(decisionOk(c[i], w.ldn).rejected);
    CHECK(withOutcome(conflictsOk(c[i]), ConflictOutcome::kRejected).empty());
  }
}

TEST_CASE("merge with CHECK (balance >= 0) rejects the later withdrawal that would overdraw",
          "[resolvers][constraints][merge]") {
  Cluster c = openBank(bankOptions("merge", kCheckedAccounts), 2, 100);
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  Dot ny = withdraw(c[kNy], 80);
  Dot ldn = withdraw(c[kLdn], 50);
  REQUIRE(balanceOf(c[kNy]) == 20);
  REQUIRE(balanceOf(c[kLdn]) == 50);
  auto [atLdn, atNy] = c.syncPair(kNy, kLdn);
  INFO("at LDN: " << show(atLdn) << "at NY: " << show(atNy));
  for (std::size_t i : {kNy, kLdn}) {
    auto log = conflictsOk(c[i]);
    INFO("at " << c[i].name() << ":\n" << show(log));
    CHECK(balanceOf(c[i]) == 20);
    CHECK_FALSE(decisionOk(c[i], ny).rejected);
    CHECK(decisionOk(c[i], ldn).rejected);
    auto rejected = withOutcome(log, ConflictOutcome::kRejected);
    REQUIRE(rejected.size() == 1);
    CHECK(rejected[0].remoteDot == ldn);
    CHECK(rejected[0].column == "balance");
    CHECK(rejected[0].remoteValue == Int(50));  // what LDN wrote
    CHECK(rejected[0].reason.find("CHECK") != std::string::npos);
  }
  auto own = rejectedOk(c[kLdn]);
  REQUIRE(own.size() == 1);
  CHECK(own[0].remoteDot == ldn);
  CHECK(rejectedOk(c[kNy]).empty());
}

TEST_CASE("concurrent inserts colliding on a UNIQUE column reject the later one at every site",
          "[resolvers][constraints]") {
  bool nyFirst = GENERATE(true, false);
  INFO((nyFirst ? "NY's insert delivered first" : "LDN's insert delivered first"));
  ClusterOptions o;
  o.schema = "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE);";
  o.tracked = {"users"};
  Cluster c(test::clusterOptions(2, o));
  c.clock(kNy).advance(100);
  c.clock(kLdn).advance(200);
  execOk(c[kNy], "INSERT INTO users VALUES (1, 'x@example.com')");
  execOk(c[kLdn], "INSERT INTO users VALUES (2, 'x@example.com')");
  Dot ny = lastDot(c[kNy]), ldn = lastDot(c[kLdn]);
  if (nyFirst) {
    c.deliver(kNy, kLdn);
    c.deliver(kLdn, kNy);
  } else {
    c.deliver(kLdn, kNy);
    c.deliver(kNy, kLdn);
  }
  std::vector<Row> expected{{Int(1), Txt("x@example.com")}};
  for (std::size_t i : {kNy, kLdn}) {
    auto log = conflictsOk(c[i]);
    INFO("at " << c[i].name() << ":\n" << show(log));
    CHECK(tableContents(c[i], "users") == expected);
    CHECK_FALSE(decisionOk(c[i], ny).rejected);
    CHECK(decisionOk(c[i], ldn).rejected);
    auto rejected = withOutcome(log, ConflictOutcome::kRejected);
    REQUIRE(rejected.size() == 1);
    CHECK(rejected[0].remoteDot == ldn);
    CHECK(rejected[0].pk == Row{Int(2)});
    CHECK(rejected[0].remoteValue == Txt("x@example.com"));
    CHECK(rejected[0].reason.find("UNIQUE") != std::string::npos);
  }
  CHECK(rejectedOk(c[kLdn]).size() == 1);
  CHECK(rejectedOk(c[kNy]).empty());
}

// ---- 7. row policies -------------------------------------------------------------------------

TEST_CASE("a concurrent update and delete follow the table's update/delete and delete/update policies",
          "[resolvers][rows]") {
  struct Case {
    const char* updateDelete;  // consulted when the update is the later (incoming) one
    const char* deleteUpdate;  // consulted when the delete is the later one
    bool updateLater;
    bool rowSurvives;
    bool laterRejected;
  };
  Case k = GENERATE(values<Case>({
      {"lww", "lww", true, true, false},
      {"lww", "lww", false, false, false},
      {"fww", "fww", true, false, false},
      {"fww", "fww", false, true, false},
      {"delete-wins", "delete-wins", true, false, false},
      {"delete-wins", "delete-wins", false, false, false},
      {"update-wins", "update-wins", true, true, false},
      {"update-wins", "update-wins", false, true, false},
      {"update-wins", "delete-wins", true, true, false},
      {"update-wins", "delete-wins", false, false, false},
      {"reject", "reject", true, false, true},
      {"reject", "reject", false, true, true},
  }));
  INFO("update/delete=" << k.updateDelete << " delete/update=" << k.deleteUpdate << "; the "
                        << (k.updateLater ? "update" : "delete") << " is later");
  ClusterOptions o;
  TableConfig config;
  config.updateDelete = k.updateDelete;
  config.deleteUpdate = k.deleteUpdate;
  o.config = config;
  Cluster c(test::clusterOptions(2, o));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a0', 100)");
  c.deliver(0, 1);
  c.clock(0).advance(k.updateLater ? 200 : 100);
  c.clock(1).advance(k.updateLater ? 100 : 200);
  execOk(c[0], "UPDATE t SET a = 'A' WHERE id = 1");
  execOk(c[1], "DELETE FROM t WHERE id = 1");
  Dot update = lastDot(c[0]), del = lastDot(c[1]);
  auto [at1, at0] = c.syncPair(0, 1);
  INFO("at site1: " << show(at1) << "at site0: " << show(at0));
  std::vector<Row> expected;
  if (k.rowSurvives) expected = {{Int(1), Txt("A"), Int(100)}};
  Dot later = k.updateLater ? update : del;
  Dot earlier = k.updateLater ? del : update;
  for (std::size_t i = 0; i < 2; ++i) {
    INFO("at " << c[i].name());
    CHECK(tableContents(c[i], "t") == expected);
    CHECK(decisionOk(c[i], later).rejected == k.laterRejected);
    CHECK_FALSE(decisionOk(c[i], earlier).rejected);
  }
}

TEST_CASE("insert/insert under the lww row policy takes the whole later row, merge goes by column",
          "[resolvers][rows]") {
  struct Case {
    const char* insertInsert;
    Row expected;
  };
  // Columns are fww, so merging column by column keeps the earlier insert's values.
  Case k = GENERATE(values<Case>({{"lww", {Int(7), Txt("y"), Int(2)}},
                                  {"fww", {Int(7), Txt("x"), Int(1)}},
                                  {"merge", {Int(7), Txt("x"), Int(1)}}}));
  INFO("insert/insert=" << k.insertInsert);
  ClusterOptions o;
  TableConfig config;
  config.columns = "fww";
  config.insertInsert = k.insertInsert;
  o.config = config;
  Cluster c(test::clusterOptions(2, o));
  c.clock(0).advance(100);
  c.clock(1).advance(200);
  execOk(c[0], "INSERT INTO t VALUES (7, 'x', 1)");
  execOk(c[1], "INSERT INTO t VALUES (7, 'y', 2)");
  auto [at1, at0] = c.syncPair(0, 1);
  INFO("at site1: " << show(at1) << "at site0: " << show(at0));
  for (std::size_t i = 0; i < 2; ++i) {
    INFO("at " << c[i].name());
    CHECK(tableContents(c[i], "t") == std::vector<Row>{k.expected});
  }
}

TEST_CASE("insert/insert under the reject row policy rejects the later transaction, all of it",
          "[resolvers][rows][reject]") {
  bool laterFirst = GENERATE(true, false);
  INFO((laterFirst ? "the later insert is delivered first" : "the earlier insert is delivered first"));
  ClusterOptions o;
  TableConfig config;
  config.insertInsert = "reject";
  o.config = config;
  Cluster c(test::clusterOptions(2, o));
  c.clock(0).advance(100);
  c.clock(1).advance(200);
  execOk(c[0], "INSERT INTO t VALUES (7, 'x', 1)");
  execOk(c[1], "INSERT INTO t VALUES (7, 'y', 2), (8, 'z', 3)");  // one transaction
  Dot earlier = lastDot(c[0]), later = lastDot(c[1]);
  if (laterFirst) {
    c.deliver(1, 0);
    c.deliver(0, 1);
  } else {
    c.deliver(0, 1);
    c.deliver(1, 0);
  }
  std::vector<Row> expected{{Int(7), Txt("x"), Int(1)}};
  for (std::size_t i = 0; i < 2; ++i) {
    auto log = conflictsOk(c[i]);
    INFO("at " << c[i].name() << ":\n" << show(log));
    CHECK(tableContents(c[i], "t") == expected);  // row 8 went with the rejected transaction
    CHECK(decisionOk(c[i], later).rejected);
    CHECK_FALSE(decisionOk(c[i], earlier).rejected);
    auto rejected = withOutcome(log, ConflictOutcome::kRejected);
    CHECK(rejected.size() == 4);  // both rows' two columns
    for (const auto& r : rejected) {
      CHECK(r.remoteDot == later);
      if (r.pk == Row{Int(7)}) CHECK(r.reason.find("insert/insert") != std::string::npos);
    }
  }
  CHECK(rejectedOk(c[1]).size() == 4);
  CHECK(rejectedOk(c[0]).empty());
}

// ---- 8. configuration ------------------------------------------------------------------------

TEST_CASE("sites with different resolver configurations have different fingerprints and refuse to sync",
          "[resolvers][config]") {
  ClusterOptions lww = bankOptions("lww");
  ClusterOptions merge = bankOptions("merge");
  merge.idBytes = {2};
  Cluster a(test::clusterOptions(1, lww));
  Cluster b(test::clusterOptions(1, merge));
  execOk(a[0], "INSERT INTO accounts VALUES (1, 'alice', 1000)");
  CHECK(a[0].replication().schemaFingerprint() != b[0].replication().schemaFingerprint());

  auto refused = syncSites(a[0], b[0]);
  INFO(refused.status().toString());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  CHECK(refused.status().message().find("resolver configuration") != std::string::npos);
  CHECK(refused.status().message().find('\n') == std::string::npos);
  CHECK(b[0].vector().value().empty());
  CHECK(tableContents(b[0], "accounts").empty());

  // The same configuration at both sites makes them agree again. (b holds nothing yet, so
  // it may switch freely; a holds a provisional transaction and could not become
  // order-sensitive, which merge is.)
  REQUIRE_OK(b[0].configure("accounts", balanceConfig("lww")));
  CHECK(a[0].replication().schemaFingerprint() == b[0].replication().schemaFingerprint());
  auto synced = syncSites(a[0], b[0]);
  REQUIRE_OK(synced);
  CHECK(tableContents(b[0], "accounts") == tableContents(a[0], "accounts"));
}

TEST_CASE("sites of different clusters refuse to sync even with the same configuration",
          "[resolvers][config]") {
  Cluster a(test::clusterOptions(1, bankOptions("merge")));
  test::Stranger made(a.options().resolvers);
  Site& stranger = *made;
  execOk(stranger, kAccounts);
  REQUIRE_OK(stranger.track("accounts", balanceConfig("merge")));
  REQUIRE(stranger.replication().schemaFingerprint() == a[0].replication().schemaFingerprint());
  execOk(a[0], "INSERT INTO accounts VALUES (1, 'alice', 1000)");
  auto refused = syncSites(a[0], stranger);
  INFO(refused.status().toString());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("cluster") != std::string::npos);
  CHECK(stranger.vector().value().empty());
}

TEST_CASE("configure changes a table's resolvers and the change survives reopening the site",
          "[resolvers][config][persist]") {
  test::TempDir dir;
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(1));
  auto registry = bankRegistry();
  SiteOptions options{&clock, registry};
  std::string path = dir.file("ny.db");
  TableConfig configured;
  configured.columns = "merge";
  configured.overrides["owner"] = "lww";
  configured.overrides["balance"] = "counter";
  configured.insertInsert = "lww";
  configured.updateDelete = "lww";
  configured.deleteUpdate = "lww";
  std::string fingerprint;
  {
    auto created = Site::create(path, CreateOptions{"ny", &ids, test::testClusterId()}, options);
    REQUIRE_OK(created);
    Site& site = **created;
    execOk(site, kAccounts);
    REQUIRE_OK(site.track("accounts"));
    auto initial = site.config("accounts");
    REQUIRE_OK(initial);
    CHECK(*initial == registry->defaults());
    std::string before = site.replication().schemaFingerprint();
    REQUIRE_OK(site.configure("accounts", configured));
    auto now = site.config("accounts");
    REQUIRE_OK(now);
    CHECK(*now == configured);
    fingerprint = site.replication().schemaFingerprint();
    CHECK(fingerprint != before);
    execOk(site, "INSERT INTO accounts VALUES (1, 'alice', 1000)");
  }
  auto reopened = Site::open(path, options);
  REQUIRE_OK(reopened);
  auto config = (*reopened)->config("accounts");
  REQUIRE_OK(config);
  CHECK(*config == configured);
  CHECK(config->toString() == configured.toString());
  CHECK((*reopened)->replication().schemaFingerprint() == fingerprint);
  CHECK((*reopened)->config("no_such_table").status().code() == Status::Code::kNotFound);
}

TEST_CASE("unknown strategies, policies and columns in a resolver configuration are refused by name",
          "[resolvers][config]") {
  struct Case {
    const char* what;
    TableConfig config;
    std::vector<std::string> named;  // the message must mention each
  };
  auto with = [](auto change) {
    TableConfig c;
    change(c);
    return c;
  };
  std::vector<Case> cases{
      {"unknown column strategy", with([](TableConfig& c) { c.columns = "lwwz"; }), {"lwwz"}},
      {"unknown override strategy", with([](TableConfig& c) { c.overrides["balance"] = "bogus"; }),
       {"bogus", "balance"}},
      {"override of an unknown column", with([](TableConfig& c) { c.overrides["balanse"] = "merge"; }),
       {"balanse"}},
      {"override of the key column", with([](TableConfig& c) { c.overrides["id"] = "merge"; }),
       {"id"}},
      {"unregistered callback", with([](TableConfig& c) { c.overrides["balance"] = "callback:nope"; }),
       {"callback:nope"}},
      {"unknown row policy", with([](TableConfig& c) { c.updateDelete = "delete-win"; }),
       {"delete-win"}},
      {"merge outside insert/insert", with([](TableConfig& c) { c.deleteUpdate = "merge"; }),
       {"merge", "delete/update"}},
  };
  Cluster c = openBank(bankOptions("merge"));
  TableConfig before = *c[kNy].config("accounts");
  std::string fingerprint = c[kNy].replication().schemaFingerprint();
  for (const auto& k : cases) {
    INFO(k.what << ": " << k.config.toString());
    Status configured = c[kNy].configure("accounts", k.config);
    INFO("configure -> " << configured.toString());
    REQUIRE_FALSE(configured.isOk());
    for (const auto& name : k.named) CHECK(configured.message().find(name) != std::string::npos);
    CHECK(*c[kNy].config("accounts") == before);
    CHECK(c[kNy].replication().schemaFingerprint() == fingerprint);

    // track refuses it the same way and leaves the table untracked.
    Cluster fresh(test::clusterOptions(1, bankOptions("merge")));
    execOk(fresh[0], "CREATE TABLE other(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)");
    Status tracked = fresh[0].track("other", k.config);
    INFO("track -> " << tracked.toString());
    REQUIRE_FALSE(tracked.isOk());
    for (const auto& name : k.named) CHECK(tracked.message().find(name) != std::string::npos);
    auto trackedTables = fresh[0].trackedTables();
    CHECK(std::find(trackedTables.begin(), trackedTables.end(), "other") == trackedTables.end());
  }
  CHECK(c[kNy].configure("no_such_table", before).code() == Status::Code::kNotFound);
}

TEST_CASE("opening a site whose configuration names a callback the program did not register fails clearly",
          "[resolvers][config][callback][persist]") {
  test::TempDir dir;
  ManualClock clock;
  test::FixedIdSource ids(test::testSiteId(1));
  std::string path = dir.file("ny.db");
  auto withCallback = bankRegistry();
  {
    auto created = Site::create(path, CreateOptions{"ny", &ids, test::testClusterId()},
                                SiteOptions{&clock, withCallback});
    REQUIRE_OK(created);
    execOk(**created, kAccounts);
    REQUIRE_OK((*created)->track("accounts", balanceConfig("callback:deltas")));
    execOk(**created, "INSERT INTO accounts VALUES (1, 'alice', 1000)");
  }
  auto without = Site::open(path, SiteOptions{&clock, resolvers::standard()});
  INFO(without.status().toString());
  REQUIRE_FALSE(without.ok());
  const std::string& message = without.status().message();
  CHECK(message.find("callback:deltas") != std::string::npos);
  CHECK(message.find("accounts") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);

  // With the callback registered again it opens and still holds its data.
  auto with = Site::open(path, SiteOptions{&clock, withCallback});
  REQUIRE_OK(with);
  CHECK(balanceOf(**with) == 1000);
}

TEST_CASE("switching a table to an order-sensitive resolver waits until every held transaction is final",
          "[resolvers][config]") {
  Cluster c = openBank(bankOptions("lww"));  // lww alone applies writes on arrival
  Status early = c[kNy].configure("accounts", balanceConfig("reject"));
  INFO(early.toString());
  CHECK_FALSE(early.isOk());
  CHECK(early.message().find("final") != std::string::npos);
  CHECK(*c[kNy].config("accounts") == balanceConfig("lww"));

  c.syncPair(kNy, kLdn);  // both hold everything and know it: all final
  REQUIRE(decisionOk(c[kNy], Dot{c[kNy].id(), 1}).final);
  REQUIRE_OK(c[kNy].configure("accounts", balanceConfig("reject")));
  REQUIRE_OK(c[kLdn].configure("accounts", balanceConfig("reject")));
  CHECK(c[kNy].replication().schemaFingerprint() == c[kLdn].replication().schemaFingerprint());

  // And the new resolver governs what follows.
  Withdrawals w = concurrentWithdrawals(c);
  REQUIRE_OK(syncSites(c[kNy], c[kLdn]));
  CHECK(balanceOf(c[kNy]) == 900);
  CHECK(balanceOf(c[kLdn]) == 900);
  CHECK(decisionOk(c[kNy], w.ldn).rejected);
}

// ---- 9. conflict-log idempotence -----------------------------------------------------------

TEST_CASE("re-delivering transactions already held adds nothing to the conflict log",
          "[resolvers][conflict-log][idempotence]") {
  BankCase bank = GENERATE(from_range(bankCases()));
  INFO("balance=" << bank.strategy);
  Cluster c = openBank(bankOptions(bank.strategy));
  concurrentWithdrawals(c);
  c.syncPair(kNy, kLdn);
  std::vector<std::string> nyLog, ldnLog;
  for (const auto& r : conflictsOk(c[kNy])) nyLog.push_back(show(r));
  for (const auto& r : conflictsOk(c[kLdn])) ldnLog.push_back(show(r));
  REQUIRE_FALSE(nyLog.empty());
  REQUIRE_FALSE(ldnLog.empty());

  for (int round = 0; round < 2; ++round) {
    auto fromNy = test::allTransactions(c[kNy]);
    auto fromLdn = test::allTransactions(c[kLdn]);
    for (std::size_t i : {kNy, kLdn}) {
      for (const auto* batch : {&fromNy, &fromLdn}) {
        auto r = applyOk(c[i], *batch);
        INFO("re-delivery at " << c[i].name() << ": " << show(r));
        CHECK(r.applied == 0);
        CHECK(r.conflicts.empty());
      }
    }
    c.syncPair(kNy, kLdn);
    REQUIRE_OK(syncSites(c[kNy], c[kLdn]));
  }
  std::vector<std::string> nyAfter, ldnAfter;
  for (const auto& r : conflictsOk(c[kNy])) nyAfter.push_back(show(r));
  for (const auto& r : conflictsOk(c[kLdn])) ldnAfter.push_back(show(r));
  CHECK(nyAfter == nyLog);
  CHECK(ldnAfter == ldnLog);
  CHECK(balanceOf(c[kNy]) == bank.expected);
}

TEST_CASE("re-folding after late arrivals updates conflict-log rows instead of duplicating them",
          "[resolvers][conflict-log][idempotence][late]") {
  // Four sites withdraw concurrently, each with an earlier stamp than the last, and their
  // withdrawals reach site 0 latest-first, so every arrival re-folds what came before.
  std::string strategy = GENERATE(as<std::string>{}, "reject", "fww", "callback:deltas");
  INFO("balance=" << strategy);
  Cluster c = openBank(bankOptions(strategy), 5);
  std::vector<Dot> dots;
  for (std::size_t i = 1; i < 5; ++i) {
    c.clock(i).advance(500 - 100 * i);
    dots.push_back(withdraw(c[i], static_cast<std::int64_t>(10 * i)));
  }
  for (std::size_t i = 1; i < 5; ++i) c.deliver(i, 0);
  c.syncAll();
  c.syncAll();
  for (std::size_t i = 0; i < 5; ++i) {
    auto log = conflictsOk(c[i]);
    INFO("at " << c[i].name() << ":\n" << show(log));
    std::set<std::string> keys;
    for (const auto& r : log)
      keys.insert(r.remoteDot.toString() + " " + toString(r.kind) + " " + r.column);
    CHECK(keys.size() == log.size());
    CHECK(decisions(c[i]) == decisions(c[0]));
    CHECK(balanceOf(c[i]) == balanceOf(c[0]));
  }
  // The earliest stamp is site 4's withdrawal of 40.
  if (strategy == "reject") {
    CHECK(balanceOf(c[0]) == 960);
    for (std::size_t i = 0; i < dots.size(); ++i) {
      INFO("withdrawal " << dots[i].toString());
      CHECK(decisionOk(c[0], dots[i]).rejected == (i + 1 < dots.size()));
    }
  }
  if (strategy == "fww") CHECK(balanceOf(c[0]) == 960);
  if (strategy == "callback:deltas") CHECK(balanceOf(c[0]) == 900);
}

// ---- 10. finality --------------------------------------------------------------------------

TEST_CASE("decisions are provisional until every member acknowledged, then final at every site",
          "[resolvers][finality]") {
  Cluster c = openBank(bankOptions("reject"), 3);
  const std::size_t kThird = 2;
  Withdrawals w = concurrentWithdrawals(c);

  // Both withdrawals at both sites, but no acknowledgements yet.
  c.deliver(kNy, kLdn);
  c.deliver(kLdn, kNy);
  for (std::size_t i : {kNy, kLdn}) {
    INFO("before acknowledgements, at " << c[i].name());
    CHECK(decisionOk(c[i], w.ldn).rejected);
    CHECK_FALSE(decisionOk(c[i], w.ldn).final);
    CHECK_FALSE(decisionOk(c[i], w.ny).final);
    for (const auto& r : conflictsOk(c[i])) CHECK_FALSE(r.final);
    for (const auto& r : rejectedOk(c[i])) CHECK_FALSE(r.final);
  }

  // NY and LDN acknowledge each other, but the third member has not: still provisional.
  c.syncPair(kNy, kLdn);
  for (std::size_t i : {kNy, kLdn}) {
    INFO("third site silent, at " << c[i].name());
    CHECK_FALSE(decisionOk(c[i], w.ldn).final);
    for (const auto& r : conflictsOk(c[i])) CHECK_FALSE(r.final);
  }

  c.syncAll();
  c.syncAll();  // the third site's acknowledgement travels on
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("after full sync, at " << c[i].name() << ":\n" << show(conflictsOk(c[i])));
    CHECK_FALSE(decisionOk(c[i], w.ny).rejected);
    CHECK(decisionOk(c[i], w.ny).final);
    CHECK(decisionOk(c[i], w.ldn).rejected);
    CHECK(decisionOk(c[i], w.ldn).final);
    auto log = conflictsOk(c[i]);
    REQUIRE(log.size() == 1);
    CHECK(log[0].final);
  }
  auto own = rejectedOk(c[kLdn]);
  REQUIRE(own.size() == 1);
  CHECK(own[0].final);
  CHECK(balanceOf(c[kThird]) == 900);
  CHECK(c[kNy].decision(Dot{c[kThird].id(), 99}).status().code() == Status::Code::kNotFound);
}

TEST_CASE("with two members, one syncPair both ways makes the bank decisions final at both",
          "[resolvers][finality]") {
  BankCase bank = GENERATE(from_range(bankCases()));
  INFO("balance=" << bank.strategy);
  Cluster c = openBank(bankOptions(bank.strategy));
  Withdrawals w = concurrentWithdrawals(c);
  // The transactions alone, without acknowledgements (a cluster's messages carry both).
  test::transfer(c[kNy], c[kLdn]);
  test::transfer(c[kLdn], c[kNy]);
  CHECK_FALSE(decisionOk(c[kNy], w.ldn).final);
  CHECK_FALSE(decisionOk(c[kLdn], w.ny).final);
  c.syncPair(kNy, kLdn);
  for (std::size_t i : {kNy, kLdn}) {
    INFO("at " << c[i].name());
    for (const Dot& d : {w.ny, w.ldn}) CHECK(decisionOk(c[i], d).final);
    for (const auto& r : conflictsOk(c[i])) CHECK(r.final);
  }
}

}  // namespace parley
