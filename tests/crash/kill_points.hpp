// Kill points for the crash tests, and running parley-crash-child (crash_child.cpp) at them.
//
// A calibration run (no kill) says how many mutating file operations and how much time a
// workload takes; a kill point is then, by seed, either one of those operations (the child's
// VFS raises SIGKILL there: crash_vfs.hpp) or a delay after the child starts.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "child_process.hpp"
#include "crash_cluster.hpp"

namespace parley::crash {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr milliseconds kChildTimeout{60'000};

inline std::uint64_t envNumber(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
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
    return atOperation ? std::vector<std::string>{fmt::format("PARLEY_CRASH_AT={}", at)}
                       : std::vector<std::string>{};
  }
  std::string describe(const Calibration& c) const {
    return atOperation ? fmt::format("at file operation {} of {} ({} syncs)", at, c.ops, c.syncs)
                       : fmt::format("after {} us of {}", at, c.duration.count());
  }
};

inline KillPoint pickKill(std::uint64_t seed, const Calibration& c) {
  std::mt19937_64 rng(seed);
  KillPoint k{seed, rng() % 2 == 0, 0};
  k.at = k.atOperation
             ? 1 + rng() % std::max<std::uint64_t>(c.ops, 1)
             : rng() % static_cast<std::uint64_t>(std::max<std::int64_t>(c.duration.count(), 1));
  return k;
}

inline std::string replayLine(std::uint64_t seed, const char* tag) {
  return fmt::format("replay: PARLEY_CRASH_SEED={} PARLEY_CRASH_POINTS=1 {} \"{}\"", seed,
                     PARLEY_CRASH_TESTS, tag);
}

inline ChildExit runChild(const Cluster& c, const std::vector<std::string>& args,
                          const std::vector<std::string>& env) {
  ChildProcess child(PARLEY_CRASH_CHILD, args, env, c.path("child.err"));
  return child.wait(kChildTimeout);
}

// Runs `args` killed at `k` (an operation, via the env, or a delay, from here).
inline ChildExit runKilled(const Cluster& c, const std::vector<std::string>& args,
                           const KillPoint& k) {
  ChildProcess child(PARLEY_CRASH_CHILD, args, k.env(), c.path("child.err"));
  if (!k.atOperation) {
    std::this_thread::sleep_for(microseconds(k.at));
    child.signal(SIGKILL);
  }
  return child.wait(kChildTimeout);
}

// What a child that ended normally said of its file operations.
inline Calibration opsOf(const ChildExit& e, microseconds duration) {
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
inline std::string resultOf(const ChildExit& e) {
  return e.lines.size() >= 2 ? e.lines[e.lines.size() - 2] : "";
}

// A calibration run (no kill) on a copy of `base`, which must end by printing `result`.
inline Calibration calibrate(const Cluster& base, const Args& args, const std::string& result) {
  Cluster c = base.copyTo(base.dir().string() + "-calibration");
  auto start = std::chrono::steady_clock::now();
  ChildExit e = runChild(c, args(c), {});
  REQUIRE(resultOf(e) == result);
  Calibration cal =
      opsOf(e, std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() - start));
  fs::remove_all(c.dir());
  return cal;
}

// A child that ended on its own must have succeeded; one killed may have said anything.
inline void requireKilledOrOk(const ChildExit& e) {
  INFO("child: " << e.describe());
  REQUIRE(!e.timedOut);
  REQUIRE((e.killed || e.exitCode == 0));
}

inline std::int64_t lastAck(const ChildExit& e) {
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
    if (!killed)
      ++ranToEnd;
    else if (k.atOperation)
      ++killedAtOperation;
    else
      ++killedByDelay;
  }
  void report() const {
    std::cout << fmt::format(
        "crash {} ({}): {} points, {} killed at a file operation, {} killed after a delay, "
        "{} ran to the end; all checks passed\n",
        workload, calibration, points, killedAtOperation, killedByDelay, ranToEnd);
  }
};

struct Run {
  std::uint64_t seed;
  int points;
};
inline Run crashRun() {
  return {envNumber("PARLEY_CRASH_SEED", 1), static_cast<int>(envNumber("PARLEY_CRASH_POINTS", 8))};
}

}  // namespace parley::crash
