// capture_overhead: the cost of change capture, tracked site vs plain SQLite, side by side.
//
// Both databases are files in WAL mode with synchronous=NORMAL. Measures
//   (a) one UPDATE of N rows in one transaction,
//   (b) K single-row UPDATE transactions,
//   (c) a bulk INSERT of N rows in one transaction,
// alternating plain and tracked runs and keeping the best of R repetitions of each.
// Usage: parley-bench-capture [--rows N] [--txns K] [--reps R] [--dir D]
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"

namespace {

using Exec = std::function<void(const std::string&)>;

struct Options {
  int rows = 100000;
  int txns = 10000;
  int reps = 3;
  std::string dir = "/tmp/parley-bench";
};

double seconds(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fillSql(int rows) {
  return fmt::format(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) "
      "INSERT INTO t SELECT x, x, 'row ' || x FROM c",
      rows);
}

struct Timings {
  double update = 0, single = 0, insert = 0;
};

Timings workload(const Exec& exec, const Options& o, bool tracked, const std::function<void()>& track) {
  Timings t;
  exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT)");
  if (tracked) track();
  t.insert = seconds([&] { exec("BEGIN; " + fillSql(o.rows) + "; COMMIT"); });
  t.update = seconds([&] { exec("UPDATE t SET a = a + 1"); });
  t.single = seconds([&] {
    for (int i = 0; i < o.txns; ++i) exec(fmt::format("UPDATE t SET a = a + 1 WHERE id = {}", i % o.rows + 1));
  });
  return t;
}

void removeDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

Timings runPlain(const Options& o) {
  std::string path = o.dir + "/plain.db";
  removeDb(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  Exec exec = [&](const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::fprintf(stderr, "plain: %s\n", err);
      std::exit(1);
    }
  };
  exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  Timings t = workload(exec, o, false, {});
  sqlite3_close(db);
  return t;
}

Timings runTracked(const Options& o) {
  std::string path = o.dir + "/tracked.db";
  removeDb(path);
  parley::SystemClock clock;
  parley::RandomIdSource ids;
  auto site = parley::Site::create(path, {"bench", &ids, {}}, {&clock, parley::resolvers::lwwEverywhere()});
  if (!site) {
    std::fprintf(stderr, "tracked: %s\n", site.status().toString().c_str());
    std::exit(1);
  }
  Exec exec = [&](const std::string& sql) {
    auto r = (*site)->exec(sql);
    if (!r) {
      std::fprintf(stderr, "tracked: %s\n", r.status().toString().c_str());
      std::exit(1);
    }
  };
  return workload(exec, o, true, [&] {
    if (auto st = (*site)->track("t"); !st) std::exit((std::fprintf(stderr, "%s\n", st.toString().c_str()), 1));
  });
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows") o.rows = std::atoi(argv[i + 1]);
    else if (flag == "--txns") o.txns = std::atoi(argv[i + 1]);
    else if (flag == "--reps") o.reps = std::atoi(argv[i + 1]);
    else if (flag == "--dir") o.dir = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--rows N] [--txns K] [--reps R] [--dir D]\n", argv[0]);
      std::exit(2);
    }
  }
  if (o.rows < 1 || o.txns < 1 || o.reps < 1) {
    std::fprintf(stderr, "%s: --rows, --txns and --reps must be positive\n", argv[0]);
    std::exit(2);
  }
  return o;
}

Timings best(const Timings& a, const Timings& b) {
  return {std::min(a.update, b.update), std::min(a.single, b.single), std::min(a.insert, b.insert)};
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::filesystem::create_directories(o.dir);
  Timings plain{1e9, 1e9, 1e9}, tracked{1e9, 1e9, 1e9};
  for (int r = 0; r < o.reps; ++r) {
    plain = best(plain, runPlain(o));
    tracked = best(tracked, runTracked(o));
  }
  std::printf("| workload | plain SQLite | tracked | ratio |\n|---|---:|---:|---:|\n");
  auto row = [](const std::string& name, double p, double t, double n) {
    std::printf("| %s | %.3f s (%.0f/s) | %.3f s (%.0f/s) | %.2fx |\n", name.c_str(), p, n / p, t, n / t, t / p);
  };
  row(fmt::format("UPDATE {} rows, one transaction", o.rows), plain.update, tracked.update, o.rows);
  row(fmt::format("{} single-row UPDATE transactions", o.txns), plain.single, tracked.single, o.txns);
  row(fmt::format("INSERT {} rows, one transaction", o.rows), plain.insert, tracked.insert, o.rows);
  return 0;
}
