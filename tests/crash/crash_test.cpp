// Crash safety: parley processes killed with SIGKILL at seeded points, then checked.
//
// Each workload runs in parley-crash-child (crash_child.cpp): local bank transactions, an import
// of a change-set file, and a TCP sync (server and client in two processes). A kill point is
// either a mutating file operation picked by the seed (the child's VFS raises SIGKILL there: in
// a commit, a WAL write, a checkpoint) or a random delay after the start. After every kill:
// PRAGMA integrity_check is ok, the site reopens and commits a new write, no transaction is
// partially visible (bank_workload.hpp's invariants), data and version vectors agree, nothing
// acknowledged is lost, and a fresh sync with the peer converges.
//
// PARLEY_CRASH_POINTS (kill points per workload; default 8) and PARLEY_CRASH_SEED (default 1)
// set the run; point i uses seed SEED+i, and a failure prints the line that replays it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "crash_cluster.hpp"
#include "kill_points.hpp"
#include "parley/sync/changeset.hpp"

namespace parley::crash {
namespace {

// After a kill point's checks: the site still takes a write, and a sync converges.
void requireWritesConverge(Cluster& c) {
  c.writeNext("a.db", kOriginA);
  c.syncInProcess();
  c.requireConverged();
}

// Prints the run's tally and removes its directories.
void finishRun(const Tally& tally, const Cluster& base) {
  tally.report();
  fs::remove_all(base.dir());
  fs::remove_all(base.dir().string() + "-point");
}

}  // namespace

TEST_CASE(
    "the crash checks find a partial transaction, a gap, lost money, a vector mismatch and a "
    "corrupt file",
    "[crash][checker]") {
  Cluster c(scratch("checker"));
  c.create(3, 0);
  REQUIRE(c.checkAfterCrash("a.db").held[kOriginA] == 3);
  {
    auto a = c.open("a.db");
    REQUIRE(take(readBankState(*a)).held[kOriginA] == 3);
    REQUIRE_FALSE(checkVector(*a, a->id(), 0, 3).isOk());  // the baseline (tracking) is not counted
    take(a->exec("DELETE FROM entries WHERE txn = 1 AND id % 3 = 0"));
    Status partial = readBankState(*a).status();
    CHECK_THAT(partial.message(), Catch::Contains("transaction 1 of origin 1 is partial"));
    take(a->exec("DELETE FROM entries WHERE txn = 1"));
    CHECK_THAT(readBankState(*a).status().message(),
               Catch::Contains("has transaction 2 but not 1"));
    take(a->exec("DELETE FROM entries WHERE txn = 2"));
    REQUIRE(take(readBankState(*a)).held[kOriginA] == 1);
    take(a->exec("UPDATE accounts SET balance = balance + 1 WHERE id = 1"));
    CHECK_THAT(readBankState(*a).status().message(), Catch::Contains("balances sum to 8001"));
  }
  REQUIRE(Cluster::integrityCheck(c.path("a.db")).isOk());
  {
    std::fstream f(c.path("a.db"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 * 3);
    std::string garbage(4096, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  REQUIRE_FALSE(Cluster::integrityCheck(c.path("a.db")).isOk());
  fs::remove_all(c.dir());
}

TEST_CASE("a site killed during local transactions keeps every acknowledged one and no partial one",
          "[crash][write]") {
  constexpr std::int64_t kTxns = 120;
  Run run = crashRun();
  Cluster base(scratch("write"));
  base.create(0, 10);
  const Args args = [&](const Cluster& c) {
    return std::vector<std::string>{"write", c.path("a.db"), std::to_string(kOriginA), "0",
                                    std::to_string(kTxns)};
  };
  Calibration cal = calibrate(base, args, fmt::format("ack {}", kTxns - 1));
  Tally tally{"write", cal.describe()};
  for (int i = 0; i < run.points; ++i) {
    KillPoint k = pickKill(run.seed + static_cast<std::uint64_t>(i), cal);
    INFO("seed " << k.seed << ", kill " << k.describe(cal) << "\n"
                 << replayLine(k.seed, "[crash][write]"));
    Cluster c = base.copyTo(base.dir().string() + "-point");
    ChildExit e = runKilled(c, args(c), k);
    requireKilledOrOk(e);
    tally.count(k, e.killed);
    if (!e.killed) REQUIRE(lastAck(e) == kTxns - 1);
    BankState a = c.checkAfterCrash("a.db");
    INFO("acknowledged up to " << lastAck(e) << ", held " << a.held[kOriginA]);
    REQUIRE(a.held[kOriginA] > lastAck(e));  // nothing acknowledged lost
    REQUIRE(a.held[kOriginA] <= kTxns);
    requireWritesConverge(c);
  }
  finishRun(tally, base);
}

TEST_CASE(
    "an import killed at any point applies all of the change set or none, and re-importing "
    "completes it",
    "[crash][import]") {
  constexpr std::int64_t kTxns = 150;
  Run run = crashRun();
  Cluster base(scratch("import"));
  base.create(10, kTxns);
  {
    auto a = base.open("a.db"), b = base.open("b.db");
    take(sync::exportChanges(*b, base.path("b.pcs").string(), a->vector().value()));
  }
  const Args args = [](const Cluster& c) {
    return std::vector<std::string>{"import", c.path("a.db"), c.path("b.pcs")};
  };
  Calibration cal = calibrate(base, args, fmt::format("imported {}", kTxns));
  Tally tally{"import", cal.describe()};
  for (int i = 0; i < run.points; ++i) {
    KillPoint k = pickKill(run.seed + static_cast<std::uint64_t>(i), cal);
    INFO("seed " << k.seed << ", kill " << k.describe(cal) << "\n"
                 << replayLine(k.seed, "[crash][import]"));
    Cluster c = base.copyTo(base.dir().string() + "-point");
    REQUIRE(c.checkAfterCrash("a.db").held[kOriginB] == 0);
    ChildExit e = runKilled(c, args(c), k);
    requireKilledOrOk(e);
    tally.count(k, e.killed);
    BankState a = c.checkAfterCrash("a.db");
    INFO("a holds " << a.held[kOriginB] << " of b's " << kTxns << " transactions");
    REQUIRE((a.held[kOriginB] == 0 || a.held[kOriginB] == kTxns));
    if (e.exitCode == 0) REQUIRE(a.held[kOriginB] == kTxns);
    ChildExit again = runChild(c, args(c), {});
    INFO("re-import: " << again.describe());
    REQUIRE(again.exitCode == 0);
    REQUIRE(c.checkAfterCrash("a.db").held[kOriginB] == kTxns);
    requireWritesConverge(c);
  }
  finishRun(tally, base);
}

namespace {

struct TcpOutcome {
  ChildExit client;
  bool victimKilled = false;
};

// One TCP sync between a server child on b.db and a client child on a.db; `k`, if given, kills
// the server (serverVictim) or the client.
TcpOutcome tcpSync(Cluster& c, const std::optional<KillPoint>& k, bool serverVictim) {
  auto killEnv = [&](bool victim) { return k && victim ? k->env() : std::vector<std::string>{}; };
  ChildProcess server(PARLEY_CRASH_CHILD, {"serve", c.path("b.db")}, killEnv(serverVictim),
                      c.path("server.err"));
  auto port = server.readLine(kChildTimeout);
  if (!port || !port->starts_with("port ")) {
    ChildExit s = server.wait(milliseconds(1000));
    INFO("server: " << s.describe());
    REQUIRE((s.killed && k && serverVictim && k->atOperation));  // killed while opening: allowed
    return {s, true};
  }
  ChildProcess client(PARLEY_CRASH_CHILD, {"sync", c.path("a.db"), port->substr(5)},
                      killEnv(!serverVictim), c.path("client.err"));
  if (k && !k->atOperation) {
    std::this_thread::sleep_for(microseconds(k->at));
    (serverVictim ? server : client).signal(SIGKILL);
  }
  ChildExit e = client.wait(kChildTimeout);
  // A killed server's sockets close before it becomes a zombie: the client can see the lost
  // connection first. Give a dying server a moment to finish dying.
  bool serverDied = !server.runningAfter(e.exitCode == 0 ? milliseconds(0) : milliseconds(2000));
  server.signal(SIGKILL);  // idle by now, or already dead
  server.wait(kChildTimeout);
  // The sync may fail only because one side died.
  INFO("client: " << e.describe() << (serverDied ? "; the server died" : ""));
  REQUIRE((e.exitCode == 0 || e.killed || serverDied));
  REQUIRE(!(serverDied && !(k && serverVictim)));
  return {e, serverVictim ? serverDied : e.killed};
}

}  // namespace

TEST_CASE("a TCP sync killed on either side leaves both sites whole, and a new sync converges",
          "[crash][tcp]") {
  constexpr std::int64_t kTxns = 60;
  Run run = crashRun();
  Cluster base(scratch("tcp"));
  base.create(kTxns, kTxns);
  Calibration server, client;
  {
    Cluster c = base.copyTo(base.dir().string() + "-calibration");
    ChildProcess s(PARLEY_CRASH_CHILD, {"serve", c.path("b.db")}, {}, c.path("server.err"));
    auto port = s.readLine(kChildTimeout);
    REQUIRE(port.has_value());
    auto start = std::chrono::steady_clock::now();
    ChildExit e = runChild(c, {"sync", c.path("a.db"), port->substr(5)}, {});
    REQUIRE(resultOf(e) == fmt::format("synced sent {} received {}", kTxns, kTxns));
    client = opsOf(
        e, std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() - start));
    s.signal(SIGTERM);
    server = opsOf(s.wait(kChildTimeout), client.duration);
    fs::remove_all(c.dir());
  }
  Tally tally{"tcp", "server " + server.describe() + ", client " + client.describe()};
  for (int i = 0; i < run.points; ++i) {
    std::uint64_t seed = run.seed + static_cast<std::uint64_t>(i);
    bool serverVictim = std::mt19937_64(seed ^ 0x5e5e)() % 2 == 0;
    const Calibration& cal = serverVictim ? server : client;
    KillPoint k = pickKill(seed, cal);
    INFO("seed " << seed << ", kill the " << (serverVictim ? "server " : "client ")
                 << k.describe(cal) << "\n"
                 << replayLine(seed, "[crash][tcp]"));
    Cluster c = base.copyTo(base.dir().string() + "-point");
    REQUIRE(c.checkAfterCrash("a.db").held[kOriginB] == 0);
    TcpOutcome outcome = tcpSync(c, k, serverVictim);
    tally.count(k, outcome.victimKilled);
    ChildExit& e = outcome.client;
    INFO("client: " << e.describe());
    REQUIRE(!e.timedOut);
    BankState a = c.checkAfterCrash("a.db"), b = c.checkAfterCrash("b.db");
    if (e.exitCode == 0) {  // the client reported a complete sync: both sides hold everything
      REQUIRE(a.held == std::map<int, std::int64_t>{{kOriginA, kTxns}, {kOriginB, kTxns}});
      REQUIRE(b.held == a.held);
    }
    c.requireAcknowledgedHeld("a.db", "b.db");
    c.requireAcknowledgedHeld("b.db", "a.db");
    c.writeNext("a.db", kOriginA);
    c.writeNext("b.db", kOriginB);
    ChildExit again = tcpSync(c, std::nullopt, false).client;
    INFO("sync again: " << again.describe());
    REQUIRE(again.exitCode == 0);
    c.requireConverged();
    REQUIRE(c.checkAfterCrash("a.db").held[kOriginA] == kTxns + 1);
  }
  finishRun(tally, base);
}

}  // namespace parley::crash
