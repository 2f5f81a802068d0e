// Helpers shared by the benchmark programs: flags, timing, plain SQLite, parley sites, and the
// output format bench/run collects.
//
// Every program prints a markdown table of absolute numbers and side-by-side ratios, and one
// line per figure of the form "@summary|figure|target|measured|pass|fail|-" that bench/run turns
// into the summary table. Errors are one line on stderr and exit code 1 (2 for bad flags).
// Only public headers (core/include, sync/include, resolvers/include) and plain SQLite are used.
#pragma once

#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"

namespace bench {

inline std::string& programName() {
  static std::string name = "parley-bench";
  return name;
}

[[noreturn]] inline void fail(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", programName().c_str(), message.c_str());
  std::exit(1);
}

[[noreturn]] inline void die(const parley::Status& st) { fail(st.toString()); }

inline void check(const parley::Status& st) {
  if (!st) die(st);
}

template <class T>
T ok(parley::Result<T> r) {
  if (!r) die(r.status());
  return std::move(r).value();
}

// Flags: "--name value" pairs and bare "--smoke". Unknown flags and non-numbers are errors.
class Flags {
 public:
  // `known`: flag name (without "--") -> default value, as text.
  Flags(int argc, char** argv, std::map<std::string, std::string> known, const std::string& usage);
  bool smoke() const { return smoke_; }
  std::int64_t integer(const std::string& name) const;  // positive
  const std::string& text(const std::string& name) const { return values_.at(name); }
  // Sets `name` unless the command line gave it (smoke-run sizes).
  void fallback(const std::string& name, const std::string& value);

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> given_;
  bool smoke_ = false;
  std::string usage_;
};

inline double seconds(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline void removeDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// The directory for a program's files, emptied of `prefix`-named databases by callers.
std::string workDir(const std::string& dir);

// A plain SQLite connection in WAL mode with synchronous=NORMAL.
class PlainDb {
 public:
  explicit PlainDb(const std::string& path);
  ~PlainDb();
  PlainDb(const PlainDb&) = delete;
  PlainDb& operator=(const PlainDb&) = delete;
  void exec(const std::string& sql);
  sqlite3* handle() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A session changeset recorded on a plain database.
struct Changeset {
  std::vector<unsigned char> bytes;
};

// Records every change `work` makes to `table` on `db` with sqlite3session.
Changeset recordChangeset(PlainDb& db, const std::string& table, const std::function<void()>& work);

// Applies `cs` to `db` in one call; `onConflict` is what the handler returns for data conflicts
// (SQLITE_CHANGESET_REPLACE or SQLITE_CHANGESET_OMIT). Returns the number of conflicts met.
std::int64_t applyChangeset(PlainDb& db, const Changeset& cs, int onConflict);

// Site options with the real clock and the standard resolvers (what the parley CLI uses).
struct SiteEnv {
  parley::SystemClock clock;
  parley::RandomIdSource ids;
  std::shared_ptr<parley::resolvers::Registry> registry = parley::resolvers::standard();
  parley::SiteOptions options() { return {&clock, registry, std::chrono::minutes(1)}; }
};

std::unique_ptr<parley::Site> createSite(SiteEnv& env, const std::string& path, const std::string& name);
std::unique_ptr<parley::Site> cloneSite(SiteEnv& env, parley::Site& from, const std::string& path, const std::string& name);
void exec(parley::Site& site, const std::string& sql);

// "WITH RECURSIVE ... INSERT INTO table SELECT x, <values> FROM c" for ids 1..rows.
std::string fillSql(const std::string& table, std::int64_t rows, const std::string& values);

// Percentile `p` (0..100) of `samples` (sorted in place).
double percentile(std::vector<double>& samples, double p);

// Peak resident set of this process, in MB.
double peakRssMb();

// The memory a piece of work adds at its peak: the process's peak resident set while it runs
// (reset when the measure starts, through /proc/self/clear_refs) minus its resident set at the
// start, in MB. Memory freed earlier is handed back to the system first, so that the work
// cannot reuse it unseen.
class MemoryGrowth {
 public:
  MemoryGrowth();
  double mb() const;

 private:
  double startKb_;
};

// Prints a summary line for bench/run; `pass` is empty when the figure has no target.
void summary(const std::string& figure, const std::string& target, const std::string& measured,
             std::optional<bool> pass);

inline std::string rate(double perSecond) {
  if (perSecond >= 1e6) return fmt::format("{:.2f}M/s", perSecond / 1e6);
  if (perSecond >= 1e3) return fmt::format("{:.1f}k/s", perSecond / 1e3);
  return fmt::format("{:.0f}/s", perSecond);
}

// A loopback port nobody listens on now (the OS's choice for port 0); fails the run if none.
int freePort();
// Whether something accepts TCP connections on loopback `port`.
bool accepts(int port);

}  // namespace bench
