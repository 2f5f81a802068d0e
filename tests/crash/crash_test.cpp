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

#include <sqlite3.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "bank_workload.hpp"
#include "child_process.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/sync/changeset.hpp"

namespace parley::crash {
namespace {

namespace fs = std::filesystem;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr int kOriginA = 1, kOriginB = 2;
constexpr milliseconds kChildTimeout{60'000};

std::uint64_t envNumber(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

#define CRASH_REQUIRE_OK(expr)                \
  do {                                        \
    const ::parley::Status crash_s_ = (expr); \
    INFO(#expr << " -> " << crash_s_.toString()); \
    REQUIRE(crash_s_.isOk());                 \
  } while (false)

template <class T>
T take(Result<T> r) {
  INFO(r.status().toString());
  REQUIRE(r.ok());
  return std::move(*r);
}

// What a calibration run (no kill) measured: operations and wall time.
struct Calibration {
  std::uint64_t ops = 0, syncs = 0;
  microseconds duration{0};
  std::string describe() const {
    return fmt::format("{} file operations, {} syncs, {} ms", ops, syncs, duration.count() / 1000);
  }
};

// Where to kill: at a VFS operation, or after a delay.
struct KillPoint {
  std::uint64_t seed = 0;
  bool atOperation = false;
  std::uint64_t at = 0;  // the operation number, or microseconds
  std::vector<std::string> env() const {
    return atOperation ? std::vector<std::string>{fmt::format("PARLEY_CRASH_AT={}", at)} : std::vector<std::string>{};
  }
  std::string describe(const Calibration& c) const {
    return atOperation ? fmt::format("at file operation {} of {} ({} syncs)", at, c.ops, c.syncs)
                       : fmt::format("after {} us of {}", at, c.duration.count());
  }
};

KillPoint pickKill(std::uint64_t seed, const Calibration& c) {
  std::mt19937_64 rng(seed);
  KillPoint k{seed, rng() % 2 == 0, 0};
  k.at = k.atOperation ? 1 + rng() % std::max<std::uint64_t>(c.ops, 1)
                       : rng() % static_cast<std::uint64_t>(std::max<std::int64_t>(c.duration.count(), 1));
  return k;
}

std::string replayLine(std::uint64_t seed, const char* tag) {
  return fmt::format("replay: PARLEY_CRASH_SEED={} PARLEY_CRASH_POINTS=1 {} \"{}\"", seed, PARLEY_CRASH_TESTS, tag);
}

// Two sites of one cluster (origins 1 and 2) in a directory, set up once and copied per point.
class Cluster {
 public:
  explicit Cluster(fs::path dir) : dir_(std::move(dir)) {}

  fs::path path(const std::string& name) const { return dir_ / name; }
  const fs::path& dir() const { return dir_; }
  std::unique_ptr<Site> open(const std::string& name) { return take(Site::open(path(name).string(), options())); }

  // Creates a.db (the bank) and b.db (its clone), then runs `aTxns` and `bTxns` on each.
  void create(std::int64_t aTxns, std::int64_t bTxns) {
    fs::create_directories(dir_);
    RandomIdSource ids;
    auto a = take(Site::create(path("a.db").string(), {"a", &ids, {}}, options()));
    CRASH_REQUIRE_OK(createBankSchema(*a));
    auto b = take(a->clone(path("b.db").string(), {"b", &ids, {}}, options()));
    idA_ = a->id();
    idB_ = b->id();
    baseA_ = a->vector().get(idA_);
    for (std::int64_t t = 0; t < aTxns; ++t) CRASH_REQUIRE_OK(runBankTxn(*a, kOriginA, t));
    for (std::int64_t t = 0; t < bTxns; ++t) CRASH_REQUIRE_OK(runBankTxn(*b, kOriginB, t));
  }

  // A copy of this cluster's files in `dir` (sites closed).
  Cluster copyTo(const fs::path& dir) const {
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.is_regular_file()) fs::copy_file(entry.path(), dir / entry.path().filename());
    Cluster copy(dir);
    copy.idA_ = idA_;
    copy.idB_ = idB_;
    copy.baseA_ = baseA_;
    return copy;
  }

  // The checks after a kill, for one site: integrity, reopen, invariants, vector agreement.
  BankState checkAfterCrash(const std::string& name) {
    CRASH_REQUIRE_OK(integrityCheck(path(name)));
    auto site = open(name);
    BankState state = take(readBankState(*site));
    CRASH_REQUIRE_OK(checkVector(*site, idA_, baseA_, state.held[kOriginA]));
    CRASH_REQUIRE_OK(checkVector(*site, idB_, 0, state.held[kOriginB]));
    return state;
  }

  // The site works: a new write (the next transaction of `origin`) commits.
  void writeNext(const std::string& name, int origin) {
    auto site = open(name);
    BankState state = take(readBankState(*site));
    CRASH_REQUIRE_OK(runBankTxn(*site, origin, state.held[origin]));
  }

  // Both sites hold the same transactions and the same user tables.
  void requireConverged() {
    auto a = open("a.db"), b = open("b.db");
    INFO("a: " << a->vector().toString() << "  b: " << b->vector().toString());
    REQUIRE(a->vector() == b->vector());
    REQUIRE(take(dumpBank(*a)) == take(dumpBank(*b)));
    REQUIRE(take(readBankState(*a)).held == take(readBankState(*b)).held);
  }

  void syncInProcess() {
    auto a = open("a.db"), b = open("b.db");
    take(syncSites(*a, *b));
  }

  // What `observer` records that `name` acknowledged must be held by `name`.
  void requireAcknowledgedHeld(const std::string& observer, const std::string& name) {
    auto o = open(observer), s = open(name);
    for (const auto& [id, vector] : take(o->acknowledgements()))
      if (id == s->id()) {
        INFO(observer << " records " << name << " acknowledged " << vector.toString() << "; " << name
                      << " holds " << s->vector().toString());
        REQUIRE(vector.leq(s->vector()));
      }
  }

  static Status integrityCheck(const fs::path& file) {
    sqlite3* db = nullptr;
    std::string result;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) result += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      }
      sqlite3_finalize(st);
    }
    if (result.empty()) result = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return result == "ok" ? Status() : Status::corruption(fmt::format("integrity_check of {}: {}", file.string(), result));
  }

 private:
  fs::path dir_;
  SiteOptions options() { return {&clock_, resolvers::standard()}; }
  SystemClock clock_;
  SiteId idA_, idB_;
  std::uint64_t baseA_ = 0;
};

fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / fmt::format("parley-crash-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  return dir;
}

ChildExit runChild(const Cluster& c, const std::vector<std::string>& args, const std::vector<std::string>& env) {
  ChildProcess child(PARLEY_CRASH_CHILD, args, env, c.path("child.err"));
  return child.wait(kChildTimeout);
}

// Runs `args` killed at `k` (an operation, via the env, or a delay, from here).
ChildExit runKilled(const Cluster& c, const std::vector<std::string>& args, const KillPoint& k) {
  ChildProcess child(PARLEY_CRASH_CHILD, args, k.env(), c.path("child.err"));
  if (!k.atOperation) {
    std::this_thread::sleep_for(microseconds(k.at));
    child.signal(SIGKILL);
  }
  return child.wait(kChildTimeout);
}

// What a child that ended normally said of its file operations.
Calibration opsOf(const ChildExit& e, microseconds duration) {
  INFO(e.describe());
  REQUIRE(e.exitCode == 0);
  REQUIRE(!e.lines.empty());
  std::istringstream line(e.lines.back());
  std::string ops, syncs;
  Calibration c{0, 0, duration};
  line >> ops >> c.ops >> syncs >> c.syncs;
  REQUIRE((ops == "ops" && syncs == "syncs" && c.ops > 0));
  return c;
}

// A child's arguments for a cluster's files.
using Args = std::function<std::vector<std::string>(const Cluster&)>;

// The line a child printed before "ops K": what it did.
std::string resultOf(const ChildExit& e) { return e.lines.size() >= 2 ? e.lines[e.lines.size() - 2] : ""; }

// A calibration run (no kill) on a copy of `base`, which must end by printing `result`.
Calibration calibrate(const Cluster& base, const Args& args, const std::string& result) {
  Cluster c = base.copyTo(base.dir().string() + "-calibration");
  auto start = std::chrono::steady_clock::now();
  ChildExit e = runChild(c, args(c), {});
  REQUIRE(resultOf(e) == result);
  Calibration cal = opsOf(e, std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() - start));
  fs::remove_all(c.dir());
  return cal;
}

// A child that ended on its own must have succeeded; one killed may have said anything.
void requireKilledOrOk(const ChildExit& e) {
  INFO("child: " << e.describe());
  REQUIRE(!e.timedOut);
  REQUIRE((e.killed || e.exitCode == 0));
}

std::int64_t lastAck(const ChildExit& e) {
  std::int64_t last = -1;
  for (const auto& line : e.lines)
    if (line.starts_with("ack ")) last = std::stoll(line.substr(4));
  return last;
}

// How a run's kill points landed; reported once all passed (the soak's figures).
struct Tally {
  const char* workload;
  std::string calibration;  // what a run without a kill did
  int points = 0, killedAtOperation = 0, killedByDelay = 0, ranToEnd = 0;
  void count(const KillPoint& k, bool killed) {
    ++points;
    if (!killed) ++ranToEnd;
    else if (k.atOperation) ++killedAtOperation;
    else ++killedByDelay;
  }
  void report() const {
    std::cout << fmt::format("crash {} ({}): {} points, {} killed at a file operation, {} killed after a delay, "
                             "{} ran to the end; all checks passed\n",
                             workload, calibration, points, killedAtOperation, killedByDelay, ranToEnd);
  }
};

struct Run {
  std::uint64_t seed;
  int points;
};
Run crashRun() {
  return {envNumber("PARLEY_CRASH_SEED", 1), static_cast<int>(envNumber("PARLEY_CRASH_POINTS", 8))};
}

}  // namespace

TEST_CASE("the crash checks find a partial transaction, a gap, lost money, a vector mismatch and a corrupt file",
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
    CHECK_THAT(readBankState(*a).status().message(), Catch::Contains("has transaction 2 but not 1"));
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
    return std::vector<std::string>{"write", c.path("a.db"), std::to_string(kOriginA), "0", std::to_string(kTxns)};
  };
  Calibration cal = calibrate(base, args, fmt::format("ack {}", kTxns - 1));
  Tally tally{"write", cal.describe()};
  for (int i = 0; i < run.points; ++i) {
    KillPoint k = pickKill(run.seed + static_cast<std::uint64_t>(i), cal);
    INFO("seed " << k.seed << ", kill " << k.describe(cal) << "\n" << replayLine(k.seed, "[crash][write]"));
    Cluster c = base.copyTo(base.dir().string() + "-point");
    ChildExit e = runKilled(c, args(c), k);
    requireKilledOrOk(e);
    tally.count(k, e.killed);
    if (!e.killed) REQUIRE(lastAck(e) == kTxns - 1);
    BankState a = c.checkAfterCrash("a.db");
    INFO("acknowledged up to " << lastAck(e) << ", held " << a.held[kOriginA]);
    REQUIRE(a.held[kOriginA] > lastAck(e));  // nothing acknowledged lost
    REQUIRE(a.held[kOriginA] <= kTxns);
    c.writeNext("a.db", kOriginA);
    c.syncInProcess();
    c.requireConverged();
  }
  tally.report();
  fs::remove_all(base.dir());
  fs::remove_all(base.dir().string() + "-point");
}

TEST_CASE("an import killed at any point applies all of the change set or none, and re-importing completes it",
          "[crash][import]") {
  constexpr std::int64_t kTxns = 150;
  Run run = crashRun();
  Cluster base(scratch("import"));
  base.create(10, kTxns);
  {
    auto a = base.open("a.db"), b = base.open("b.db");
    take(sync::exportChanges(*b, base.path("b.pcs").string(), a->vector()));
  }
  const Args args = [](const Cluster& c) {
    return std::vector<std::string>{"import", c.path("a.db"), c.path("b.pcs")};
  };
  Calibration cal = calibrate(base, args, fmt::format("imported {}", kTxns));
  Tally tally{"import", cal.describe()};
  for (int i = 0; i < run.points; ++i) {
    KillPoint k = pickKill(run.seed + static_cast<std::uint64_t>(i), cal);
    INFO("seed " << k.seed << ", kill " << k.describe(cal) << "\n" << replayLine(k.seed, "[crash][import]"));
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
    c.writeNext("a.db", kOriginA);
    c.syncInProcess();
    c.requireConverged();
  }
  tally.report();
  fs::remove_all(base.dir());
  fs::remove_all(base.dir().string() + "-point");
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
  ChildProcess server(PARLEY_CRASH_CHILD, {"serve", c.path("b.db")}, killEnv(serverVictim), c.path("server.err"));
  auto port = server.readLine(kChildTimeout);
  if (!port || !port->starts_with("port ")) {
    ChildExit s = server.wait(milliseconds(1000));
    INFO("server: " << s.describe());
    REQUIRE((s.killed && k && serverVictim && k->atOperation));  // killed while opening: allowed
    return {s, true};
  }
  ChildProcess client(PARLEY_CRASH_CHILD, {"sync", c.path("a.db"), port->substr(5)}, killEnv(!serverVictim),
                      c.path("client.err"));
  if (k && !k->atOperation) {
    std::this_thread::sleep_for(microseconds(k->at));
    (serverVictim ? server : client).signal(SIGKILL);
  }
  ChildExit e = client.wait(kChildTimeout);
  bool serverDied = !server.running();
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
    client = opsOf(e, std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() - start));
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
    INFO("seed " << seed << ", kill the " << (serverVictim ? "server " : "client ") << k.describe(cal) << "\n"
                 << replayLine(seed, "[crash][tcp]"));
    Cluster c = base.copyTo(base.dir().string() + "-point");
    REQUIRE(c.checkAfterCrash("a.db").held[kOriginB] == 0);
    TcpOutcome outcome = tcpSync(c, k, serverVictim);
    tally.count(k, outcome.victimKilled);
    ChildExit& e = outcome.client;
    INFO("client: " << e.describe());
    REQUIRE(!e.timedOut);
    c.checkAfterCrash("a.db");
    c.checkAfterCrash("b.db");
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
  tally.report();
  fs::remove_all(base.dir());
  fs::remove_all(base.dir().string() + "-point");
}

}  // namespace parley::crash
