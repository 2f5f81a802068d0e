// Divergence is never silent, as a property: random schedules of writes and syncs across
// file-backed sites, with the faults operators make injected at random (a site file copied and
// written at both copies, a site restored from a backup, a guard trigger dropped and a row
// written behind parley's back, a UNIQUE index made at one site only, a clock that jumps a day
// ahead and back around a compact). Then every pair of sites is synced until nothing changes.
// Every run must end with each pair of sites either holding the same rows, or refusing to sync
// with an error: never "synced" over different rows.
//
// PARLEY_PROPERTY_CASES=N runs N seeds (default 24); every failure prints its seed, and the run
// prints how many ended converged and how many loud, by the error that stopped them.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <random>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/in_process.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::execOk;
using test::tableContents;

constexpr std::uint64_t kDay = 24ULL * 3600 * 1000;

// Runs `sql` through a plain SQLite connection, as the sqlite3 shell would; whether it worked.
bool rawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc == SQLITE_OK;
}

// One participant: a site file open with its own clock. Copies share an id with their source.
struct Participant {
  std::string path;
  std::unique_ptr<ManualClock> clock;
  std::unique_ptr<Site> site;
};

class Run {
 public:
  explicit Run(std::uint32_t seed) : rng_(seed) {}

  // Returns "converged" or the first error that kept two sites apart.
  std::string play() {
    create(3);
    int steps = 20 + static_cast<int>(rng_() % 20);
    for (int i = 0; i < steps; ++i) step();
    return heal();
  }

 private:
  Participant& pick() { return sites_[rng_() % sites_.size()]; }

  void create(std::size_t n) {
    Participant first = make("s0.db");
    auto created = Site::create(first.path, {"s0", &ids_, {}}, options(*first.clock));
    REQUIRE_OK(created);
    first.site = std::move(*created);
    execOk(*first.site, "CREATE TABLE t(id INTEGER PRIMARY KEY, balance INTEGER, note TEXT)");
    execOk(*first.site, "INSERT INTO t VALUES (1, 1000, 'a'), (2, 500, 'b')");
    TableConfig config;
    config.overrides["balance"] = "merge";
    REQUIRE_OK(first.site->track("t", config));
    sites_.push_back(std::move(first));
    for (std::size_t i = 1; i < n; ++i) {
      std::string name = "s" + std::to_string(i);
      Participant p = make(name + ".db");
      auto cloned = sites_[0].site->clone(p.path, {name, &ids_, {}}, options(*p.clock));
      REQUIRE_OK(cloned);
      p.site = std::move(*cloned);
      sites_.push_back(std::move(p));
    }
  }

  Participant make(const std::string& file) {
    return {dir_.file(file), std::make_unique<ManualClock>(1'700'000'000'000ULL), nullptr};
  }
  SiteOptions options(ManualClock& clock) { return {&clock, resolvers::standard(), std::chrono::minutes(1)}; }

  void reopen(Participant& p) {
    p.site.reset();
    auto site = Site::open(p.path, options(*p.clock));
    REQUIRE_OK(site);
    p.site = std::move(*site);
  }

  void step() {
    for (auto& p : sites_) p.clock->advance(1 + rng_() % 20);
    std::uint32_t r = rng_() % 100;
    if (r < 4) return fault();
    if (r < 35) return sync(pick(), pick());
    write(pick());
  }

  void write(Participant& p) {
    int id = 1 + static_cast<int>(rng_() % 3);
    std::string sql = rng_() % 2 ? fmt::format("UPDATE t SET balance = balance - {} WHERE id = {}", 1 + rng_() % 50, id)
                                 : fmt::format("INSERT INTO t VALUES ({}, 100, 'n{}') ON CONFLICT(id) DO UPDATE SET "
                                               "note = excluded.note", id, rng_() % 100);
    auto r = p.site->exec(sql);
    if (!r) note(r.status());  // a site refusing writes (a dropped guard) says so
  }

  void sync(Participant& a, Participant& b) {
    if (&a == &b) return;
    auto r = syncSites(*a.site, *b.site);
    if (!r) note(r.status());
  }

  void fault() {
    Participant& p = pick();
    // Restored backups and clock jumps are the common mishaps; the others rarer.
    static constexpr int kWeights[] = {2, 3, 1, 1, 3};  // copy, restore, bypass, index, clock
    int which = static_cast<int>(rng_() % 10);
    int kind = 0;
    while (which >= kWeights[kind]) which -= kWeights[kind++];
    switch (kind) {
      case 0: {  // a copy of the file, written at both copies
        if (sites_.size() >= 5) return;
        std::string copy = dir_.file(fmt::format("copy{}.db", sites_.size()));
        REQUIRE_OK(p.site->backup(copy));
        Participant c{copy, std::make_unique<ManualClock>(p.clock->nowMillis()), nullptr};
        reopen(c);
        sites_.push_back(std::move(c));
        ++injected_["copied file"];
        return;
      }
      case 1: {  // restored from a backup taken earlier
        std::string backup = p.path + ".backup";
        REQUIRE_OK(p.site->backup(backup));
        write(p);
        sync(p, pick());
        p.site.reset();
        std::filesystem::rename(backup, p.path);
        std::filesystem::remove(p.path + "-wal");
        std::filesystem::remove(p.path + "-shm");
        reopen(p);
        ++injected_["restored backup"];
        return;
      }
      case 2: {  // a guard dropped with the sqlite3 shell and a row written
        p.site.reset();
        REQUIRE(rawSql(p.path, "DROP TRIGGER IF EXISTS \"parley_guard_t_UPDATE\"; UPDATE t SET note = 'behind' WHERE id = 1"));
        reopen(p);
        ++injected_["bypass write"];
        return;
      }
      case 3: {  // a UNIQUE index at one site only
        p.site.reset();
        // Fails, changing nothing, where notes repeat already: the shell's user sees it.
        bool made = rawSql(p.path, "CREATE UNIQUE INDEX IF NOT EXISTS note_once ON t(note)");
        reopen(p);
        if (made) ++injected_["one-site index"];
        return;
      }
      default: {  // the clock a day ahead, a write, the clock back, compact, a write
        p.clock->advance(kDay);
        write(p);
        for (auto& other : sites_) sync(p, other);
        p.clock->set(p.clock->nowMillis() - kDay);
        auto compacted = p.site->replication().compact();
        if (!compacted) note(compacted.status());
        reopen(p);
        write(p);
        ++injected_["clock jump, compact"];
        return;
      }
    }
  }

  void note(const Status& st) {
    REQUIRE(!st.message().empty());
    if (errors_.empty()) errors_ = st.toString();
  }

  // Syncs every pair until no sync changes anything; then checks every pair.
  std::string heal() {
    for (int round = 0; round < 6; ++round)
      for (std::size_t i = 0; i < sites_.size(); ++i)
        for (std::size_t j = i + 1; j < sites_.size(); ++j) sync(sites_[i], sites_[j]);
    std::string loud;
    for (std::size_t i = 0; i < sites_.size(); ++i)
      for (std::size_t j = i + 1; j < sites_.size(); ++j) {
        Site& a = *sites_[i].site;
        Site& b = *sites_[j].site;
        if (tableContents(a, "t") == tableContents(b, "t")) continue;
        // Different rows: syncing them must fail, saying why.
        auto r = syncSites(a, b);
        INFO("sites " << sites_[i].path << " and " << sites_[j].path << " hold different rows; a sync of them said "
                      << (r ? "ok" : r.status().toString()));
        REQUIRE_FALSE(r.ok());
        REQUIRE_FALSE(r.status().message().empty());
        if (loud.empty()) loud = kindOf(r.status());
      }
    return loud.empty() ? "converged" : loud;
  }

  static std::string kindOf(const Status& st) {
    const std::string& m = st.message();
    if (m.find("different histories") != std::string::npos || m.find("forked") != std::string::npos) return "fork";
    if (m.find("schema") != std::string::npos) return "schema";
    if (m.find("guard") != std::string::npos) return "guard";
    if (m.find("different rows") != std::string::npos) return "digest";
    if (m.find("same site id") != std::string::npos) return "fork";
    if (m.find("compacted") != std::string::npos) return "compacted history (clone anew)";
    return "other: " + m.substr(0, 60);
  }

 public:
  std::map<std::string, int> injected_;

 private:
  std::mt19937 rng_;
  test::TempDir dir_;
  RandomIdSource ids_;
  std::vector<Participant> sites_;
  std::string errors_;
};

int cases() {
  const char* v = std::getenv("PARLEY_PROPERTY_CASES");
  return v && std::atoi(v) > 0 ? std::atoi(v) : 24;
}

}  // namespace

TEST_CASE("with copied files, restored backups, bypass writes, one-site indexes and clock jumps, sites converge or "
          "refuse each other loudly",
          "[core][divergence][property]") {
  std::map<std::string, int> outcomes, injected;
  int n = cases();
  for (int seed = 1; seed <= n; ++seed) {
    INFO("seed " << seed);
    Run run(static_cast<std::uint32_t>(seed));
    outcomes[run.play()]++;
    for (const auto& [fault, count] : run.injected_) injected[fault] += count;
  }
  std::string summary = fmt::format("{} runs:", n);
  for (const auto& [outcome, count] : outcomes) summary += fmt::format(" {} {};", outcome, count);
  summary += " faults injected:";
  for (const auto& [fault, count] : injected) summary += fmt::format(" {} {};", fault, count);
  std::cout << summary << " 0 silent\n";
  CHECK(outcomes["converged"] > 0);
}

}  // namespace parley
