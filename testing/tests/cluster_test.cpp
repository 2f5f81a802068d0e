// parley::testing::Cluster against what it promises: partitions separate sites until healed;
// dropped, duplicated and reordered messages still converge (checked against an oracle of the
// counter's total); assertConverged's diff names table, key, column, values and seed; the same
// seed gives byte-identical runs; the bank scenario ends at each resolver's balance.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/testing/cluster.hpp"

namespace parley::testing {
namespace {

Value Int(std::int64_t v) {
  return Value::integer(v);
}

// t(id, n counter, label lww): three sites.
Options counterOptions(std::uint64_t seed) {
  Options o;
  o.sites = {"a", "b", "c"};
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, label TEXT);";
  o.configs["t"].overrides["n"] = "counter";
  o.seed = seed;
  return o;
}

// How many random schedules the fault test runs: PARLEY_CLUSTER_SEEDS, 12 by default.
std::uint64_t seedCount() {
  const char* env = std::getenv("PARLEY_CLUSTER_SEEDS");
  return env ? std::strtoull(env, nullptr, 10) : 12;
}

// A random schedule of writes, clock moves, sends, steps and partitions, chosen by its own
// generator from `seed`. Returns the sum of every increment committed (the oracle for sum(n)).
std::int64_t randomSchedule(Cluster& c, std::uint64_t seed, int operations) {
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  auto next = [&x](std::uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  std::int64_t total = 0;
  std::vector<int> inserted(c.size(), 0);
  for (int op = 0; op < operations; ++op) {
    std::size_t site = next(c.size());
    switch (next(8)) {
      case 0: {  // a new row, in the site's own key range
        std::int64_t id = static_cast<std::int64_t>(site) * 1000 + inserted[site]++;
        std::int64_t n = static_cast<std::int64_t>(next(50));
        c.execOk(site, "INSERT INTO t VALUES (?1, ?2, ?3)", {Int(id), Int(n), Value::text("new")});
        total += n;
        break;
      }
      case 1:
      case 2: {  // increment some row this site holds
        std::int64_t delta = static_cast<std::int64_t>(next(21)) - 10;
        auto r = c.execOk(
            site,
            "UPDATE t SET n = n + ?1, label = ?2 WHERE id = (SELECT min(id) FROM t WHERE id >= ?3)",
            {Int(delta), Value::text("by " + c.name(site)),
             Int(static_cast<std::int64_t>(next(3000)))});
        total += delta * r.changes;
        break;
      }
      case 3:
        c.advanceClock(site, next(5));
        break;
      case 4: {
        std::size_t to = next(c.size());
        if (to != site && c.connected(site, to)) c.send(site, to);
        break;
      }
      case 5:
        c.step();
        break;
      case 6:
        if (next(4) == 0)
          c.partition({{site}});
        else
          c.heal();
        break;
      default:
        c.run();
        break;
    }
  }
  return total;
}

std::int64_t sumAt(Cluster& c, std::size_t site) {
  Value v = c.value(site, "SELECT coalesce(sum(n), 0) FROM t");
  return v.asInteger();
}

// What a run leaves behind, for comparing two runs.
std::string fingerprint(Cluster& c) {
  std::string out;
  for (std::size_t i = 0; i < c.size(); ++i) {
    out += c.name(i) + ":\n" + c.dump(i) + "conflicts:\n";
    for (const auto& conflict : c.conflicts(i)) out += "  " + describe(conflict) + "\n";
    out += "vector " + c.site(i).vector().value().toString() + " hlc " +
           c.site(i).replication().lastHlc().toString() + "\n";
  }
  for (const auto& line : c.trace()) out += line + "\n";
  return out;
}

std::string messageOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ClusterError& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

}  // namespace

TEST_CASE("sites in a partition keep their own writes until heal and syncAll join them",
          "[testing][cluster]") {
  Cluster c(counterOptions(1));
  c.execOk(0, "INSERT INTO t VALUES (1, 10, 'start')");
  c.syncAll();
  c.assertConverged();

  c.partition({{0, 1}, {2}});
  CHECK(c.connected(0, 1));
  CHECK_FALSE(c.connected(1, 2));
  CHECK_THROWS_AS(c.send(0, 2), ClusterError);
  c.execOk(0, "UPDATE t SET n = n + 5 WHERE id = 1");
  c.execOk(2, "UPDATE t SET n = n + 7 WHERE id = 1");
  c.syncAll();
  c.assertConverged({0, 1});
  CHECK(c.value(1, "SELECT n FROM t") == Int(15));
  CHECK(c.value(2, "SELECT n FROM t") == Int(17));
  CHECK_FALSE(c.converged());

  c.heal();
  c.syncAll();
  c.assertConverged();
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c.value(i, "SELECT n FROM t") == Int(22));
}

TEST_CASE("on equal HLC timestamps the site with the higher index wins lww", "[testing][cluster]") {
  Cluster c(counterOptions(3));
  // Fresh sites that have heard nothing stamp their first write alike: a tie on the HLC.
  for (std::size_t site : {2, 0, 1})
    c.execOk(site, "INSERT INTO t VALUES (1, 0, ?1)", {Value::text("by " + c.name(site))});
  REQUIRE(c.site(0).replication().lastHlc() == c.site(2).replication().lastHlc());
  REQUIRE(c.site(1).replication().lastHlc() == c.site(2).replication().lastHlc());
  c.syncAll();
  c.assertConverged();
  CHECK(c.value(0, "SELECT label FROM t").asText() == "by c");
}

TEST_CASE(
    "a delivered message is the receiver's side of a sync session: it names the sender from its hello "
    "and takes its acknowledgements",
    "[testing][cluster]") {
  Cluster c(counterOptions(4));
  c.execOk(0, "INSERT INTO t VALUES (1, 1, 'x')");
  c.deliver(0, 1);  // b now holds a's write, and a's message said what a knows c holds
  c.send(0, 1);     // queued: a has nothing new for b
  CHECK(c.pending() == 1);
  c.run();
  auto peers = c.site(1).replication().peers();
  REQUIRE(peers);
  bool named = false;
  for (const auto& peer : *peers)
    if (peer.site == c.site(0).id()) named = peer.name == "a" && peer.lastSyncMs.has_value();
  CHECK(named);
  CHECK(c.stats().delivered == 2);
  CHECK(c.value(1, "SELECT n FROM t") == Int(1));
}

TEST_CASE(
    "a message sent before a partition is lost when it would cross it, and anti-entropy resends it",
    "[testing][cluster]") {
  Cluster c(counterOptions(2));
  c.execOk(0, "INSERT INTO t VALUES (1, 1, 'x')");
  c.send(0, 1);
  c.partition({{0}, {1, 2}});
  c.run();
  CHECK(c.stats().cut == 1);
  CHECK(c.query(1, "SELECT * FROM t").empty());
  c.heal();
  c.syncAll();
  c.assertConverged();
  CHECK(c.value(1, "SELECT n FROM t") == Int(1));
}

TEST_CASE("dropped, duplicated and reordered messages still converge to the sum of every increment",
          "[testing][cluster][faults]") {
  std::uint64_t seeds = seedCount();
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    Options o = counterOptions(seed);
    o.faults = Faults{0.3, 0.3, 0.5};
    Cluster c(o);
    std::int64_t total = randomSchedule(c, seed, 120);
    c.heal();
    c.syncAll();
    INFO("seed=" << seed << " (PARLEY_CLUSTER_SEEDS=" << seeds << ")");
    REQUIRE_NOTHROW(c.assertConverged());
    for (std::size_t i = 0; i < c.size(); ++i) CHECK(sumAt(c, i) == total);
    CHECK(c.pending() == 0);
    if (seed == 1) {
      CHECK(c.stats().dropped > 0);
      CHECK(c.stats().duplicated > 0);
      CHECK(c.stats().reordered > 0);
    }
  }
}

TEST_CASE("random withdrawals under merge with a CHECK conserve money and never overdraw",
          "[testing][cluster][faults][bank]") {
  std::uint64_t seeds = seedCount();
  std::size_t bounces = 0;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    INFO("seed=" << seed);
    Options o;
    o.sites = {"ny", "ldn", "tokyo"};
    o.schema =
        "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER CHECK (balance >= 0));";
    o.configs["accounts"].overrides["balance"] = "merge";
    o.seed = seed;
    o.faults = Faults{0.3, 0.2, 0.5};
    Cluster c(o);
    c.execOk(0, "INSERT INTO accounts VALUES (1, 1000)");
    c.syncAll();
    std::map<Dot, std::int64_t> withdrawn;  // by the transaction that withdrew
    for (std::uint64_t op = 0; op < 30; ++op) {
      std::size_t site = (seed + op * 7) % c.size();
      std::int64_t amount = static_cast<std::int64_t>(((seed * 31 + op * 17) % 9 + 1) * 25);
      auto r =
          c.exec(site, "UPDATE accounts SET balance = balance - ?1 WHERE id = 1", {Int(amount)});
      if (r.ok())
        withdrawn[Dot{c.site(site).id(), c.site(site).vector().value().get(c.site(site).id())}] = amount;
      c.send(site, (site + 1 + op % 2) % c.size());
      c.step();
    }
    c.syncAll();
    REQUIRE_NOTHROW(c.assertConverged());
    std::int64_t expected = 1000;
    for (const auto& [dot, amount] : withdrawn) expected -= amount;
    for (std::size_t site = 0; site < c.size(); ++site)
      for (const auto& bounced : c.rejected(site)) {
        expected += withdrawn.at(bounced.remoteDot);
        ++bounces;
      }
    std::int64_t balance = c.value(0, "SELECT balance FROM accounts").asInteger();
    CHECK(balance >= 0);
    CHECK(balance == expected);
  }
  CHECK(bounces > 0);  // concurrent withdrawals did overdraw, and were rejected
}

TEST_CASE("the same seed and calls give byte-identical sites, conflict logs and schedules",
          "[testing][cluster]") {
  auto runOnce = [](std::uint64_t seed) {
    Options o = counterOptions(seed);
    o.faults = Faults{0.2, 0.2, 0.7};
    o.clockStepMs = 3;
    Cluster c(o);
    randomSchedule(c, 99, 150);  // the same workload; only the network's seed varies
    c.heal();
    c.syncAll();
    return fingerprint(c);
  };
  std::string first = runOnce(5);
  CHECK(first == runOnce(5));
  CHECK(first != runOnce(6));  // the seed drives the network
  CHECK(first.find("conflicts:\n  ") != std::string::npos);
}

TEST_CASE("assertConverged names the table, key, column, each site's value and the seed",
          "[testing][cluster]") {
  Options o = counterOptions(4242);
  o.sites = {"ny", "ldn", "tokyo"};
  Cluster c(o);
  c.execOk(0, "INSERT INTO t VALUES (1, 10, 'bolt')");
  c.syncAll();
  c.partition({{0, 2}, {1}});
  c.execOk(1, "UPDATE t SET n = 3 WHERE id = 1");
  c.execOk(1, "INSERT INTO t VALUES (2, 1, 'nut')");

  Convergence verdict = c.converged();
  INFO(verdict.message);
  CHECK_FALSE(verdict.ok);
  CHECK(verdict.message.find("table t, key (1), column n: ny=10 ldn=3 tokyo=10") !=
        std::string::npos);
  CHECK(verdict.message.find("table t, key (2): ny=(no row) ldn=(2, 'nut', 1) tokyo=(no row)") !=
        std::string::npos);
  CHECK(verdict.message.find("seed=4242") != std::string::npos);
  CHECK(verdict.message.find("column label") == std::string::npos);  // only what differs
  std::string thrown;
  try {
    c.assertConverged();
  } catch (const Divergence& e) {
    thrown = e.what();
    CHECK(e.seed() == 4242);
  }
  CHECK(thrown == verdict.message);
  CHECK_NOTHROW(c.assertConverged({0, 2}));
}

TEST_CASE("bad calls throw one line that names the problem and the seed",
          "[testing][cluster][errors]") {
  Cluster c(counterOptions(77));
  CHECK(messageOf([&] { c.partition({{0, 9}}); }) == "no site 9: the cluster has 3 (seed=77)");
  CHECK(messageOf([&] {
          c.partition({{0}, {0}});
        }) == "partition: site a is in two groups (seed=77)");
  CHECK(messageOf([&] { c.send(1, 1); }) == "send: b cannot send to itself (seed=77)");
  CHECK(messageOf([&] {
          c.setFaults({1.0, 0, 0});
        }).find("drop and duplicate must be below 1") != std::string::npos);
  CHECK(messageOf([&] { c.value(0, "SELECT * FROM t"); }).find("returned 0 rows") !=
        std::string::npos);
  CHECK(messageOf([&] { c.query(0, "SELECT nope FROM t"); }).find("seed=77") != std::string::npos);
  CHECK_FALSE(c.exec(0, "INSERT INTO nowhere VALUES (1)").ok());  // errors of SQL are values

  Options bad = counterOptions(3);
  bad.schema = "CREATE TABLE u(x);";  // no primary key: track refuses
  CHECK(messageOf([&] { Cluster refused(bad); }).find("PRIMARY KEY") != std::string::npos);
  bad = counterOptions(3);
  bad.configs["missing"] = TableConfig{};
  CHECK(messageOf([&] { Cluster refused(bad); }).find("\"missing\", which is not tracked") !=
        std::string::npos);
}

TEST_CASE("syncAll gives up with the seed when the network loses almost everything",
          "[testing][cluster][errors]") {
  Options o = counterOptions(11);
  o.faults.drop = 0.999;
  o.maxRounds = 5;
  Cluster c(o);
  c.execOk(0, "INSERT INTO t VALUES (1, 1, 'x')");
  std::string message = messageOf([&] { c.syncAll(); });
  CHECK(message.find("syncAll: connected sites still differ after 5 anti-entropy rounds") !=
        std::string::npos);
  CHECK(message.find("(seed=11)") != std::string::npos);
}

TEST_CASE("the bank scenario ends at each resolver's balance through the simulated cluster",
          "[testing][cluster][bank]") {
  struct Case {
    const char* strategy;
    std::int64_t expected;
  };
  // NY withdraws 100 at +100 ms, LDN 200 at +200 ms: LDN's is the later stamp.
  Case k = GENERATE(values<Case>(
      {{"lww", 800}, {"fww", 900}, {"merge", 700}, {"counter", 700}, {"reject", 900}}));
  INFO("balance=" << k.strategy);
  Options o;
  o.sites = {"ny", "ldn"};
  o.schema =
      "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER CHECK (balance >= "
      "0));";
  o.configs["accounts"].overrides["balance"] = k.strategy;
  o.faults = Faults{0.2, 0.2, 0.5};
  Cluster c(o);
  c.execOk(0, "INSERT INTO accounts VALUES (1, 'alice', 1000)");
  c.syncAll();
  c.partition({{0}, {1}});
  c.advanceClock(0, 100);
  c.advanceClock(1, 200);
  c.execOk(0, "UPDATE accounts SET balance = balance - 100 WHERE id = 1");
  c.execOk(1, "UPDATE accounts SET balance = balance - 200 WHERE id = 1");
  c.heal();
  c.syncAll();
  REQUIRE_NOTHROW(c.assertConverged());
  CHECK(c.value(0, "SELECT balance FROM accounts") == Int(k.expected));
  if (std::string(k.strategy) == "reject") {
    CHECK(c.rejected(0).empty());
    REQUIRE(c.rejected(1).size() == 1);  // LDN's withdrawal read a stale balance and bounced
    CHECK(c.rejected(1)[0].remoteValue == Int(800));
  } else {
    CHECK(c.rejected(1).empty());
  }
  CHECK_FALSE(c.conflicts(0).empty());
  CHECK(c.conflicts(0).size() == c.conflicts(1).size());
  // syncAll passes acknowledgements until every site knows what every other holds: final.
  for (std::size_t site : {0, 1})
    for (const auto& conflict : c.conflicts(site)) {
      INFO(c.name(site) << ": " << describe(conflict));
      CHECK(conflict.final);
    }
}

}  // namespace parley::testing
