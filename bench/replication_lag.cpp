// replication_lag (figure 5): time from commit at site A to visible at site B while two real
// `parley serve` processes replicate continuously.
//
// The program creates A (table lag(id INTEGER PRIMARY KEY, ns INTEGER), tracked) and B (a
// clone), then starts `parley serve A --listen .. --peer tcp://B <serve-args>` and the same for
// B. A writer thread commits one single-row INSERT at A every 1/rate s through its own parley
// connection and records when each commit returned; a reader thread polls B through a plain
// read-only SQLite connection (PRAGMA data_version, then max(id)) every 200 us and records when
// each id became visible. Lag = visible - committed, per transaction (one clock: same process).
// --serve-args passes serve's flags through (default "--interval 1000": live streams plus a full sync every second), so the figure can be
// re-measured as serve changes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "common.hpp"

namespace {

using Clock = std::chrono::steady_clock;

using bench::accepts;
using bench::freePort;

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

pid_t startServe(const std::string& parley, const std::string& site, int port, int peer, const std::string& extra,
                 const std::string& log) {
  std::vector<std::string> args{parley, "serve", site, "--listen", fmt::format("127.0.0.1:{}", port), "--peer",
                                fmt::format("tcp://127.0.0.1:{}", peer)};
  for (auto& w : words(extra)) args.push_back(w);
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) bench::fail("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the benchmark, even when it fails
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    setenv("PARLEY_SECRET", "0159438a9235d6abde38e49fb98944660d067d6b9b03d8a8f4ee4e522feb62cb", 1);
    execv(parley.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

void waitListening(pid_t pid, int port, const std::string& log) {
  for (int i = 0; i < 1000; ++i) {
    if (accepts(port)) return;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) bench::fail("parley serve exited early; see " + log);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  bench::fail("parley serve did not listen within 10 s; see " + log);
}

void stopServe(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

struct Run {
  std::vector<Clock::time_point> committed, visible;
  double writeSeconds = 0;
};

void writer(const std::string& path, std::int64_t count, double rate, Run& run) {
  bench::SiteEnv env;
  auto site = bench::ok(parley::Site::open(path, env.options()));
  auto start = Clock::now();
  for (std::int64_t i = 1; i <= count; ++i) {
    std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * static_cast<double>(i - 1) / rate)));
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    bench::ok(site->exec("INSERT INTO lag VALUES (?1, ?2)", {parley::Value::integer(i), parley::Value::integer(ns)}));
    run.committed[static_cast<std::size_t>(i)] = Clock::now();
  }
  run.writeSeconds = std::chrono::duration<double>(Clock::now() - start).count();
}

std::int64_t queryInt(sqlite3_stmt* st) {
  std::int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_reset(st);
  return v;
}

// Polls B until every id is visible or `deadline` (which the writer's end pushes back).
void reader(const std::string& path, std::int64_t count, const std::atomic<Clock::rep>& deadline, Run& run) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) bench::fail("reader: cannot open " + path);
  sqlite3_busy_timeout(db, 1000);
  sqlite3_stmt *version = nullptr, *maxId = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &version, nullptr);
  sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM lag", -1, &maxId, nullptr);
  std::int64_t seen = 0, lastVersion = -1;
  while (seen < count && Clock::now().time_since_epoch().count() < deadline.load()) {
    std::int64_t v = queryInt(version);
    if (v != lastVersion) {
      lastVersion = v;
      std::int64_t top = std::min(queryInt(maxId), count);
      auto now = Clock::now();
      for (; seen < top; ++seen) run.visible[static_cast<std::size_t>(seen + 1)] = now;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  sqlite3_finalize(version);
  sqlite3_finalize(maxId);
  sqlite3_close(db);
}

// build/parley, next to this program's build/bench.
std::string defaultParley() {
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / "demo" / "parley").string();
}

void makeSites(const std::string& a, const std::string& b) {
  bench::SiteEnv env;
  auto site = bench::createSite(env, a, "lag-a");
  bench::exec(*site, "CREATE TABLE lag(id INTEGER PRIMARY KEY, ns INTEGER)");
  bench::check(site->track("lag"));
  bench::cloneSite(env, *site, b, "lag-b");
}

struct Lags {
  std::vector<double> ms;  // sorted
  std::int64_t missing = 0;
  double rate = 0;  // achieved by the writer
};

// Runs the writer and the reader against the serving sites.
Lags measure(const std::string& a, const std::string& b, std::int64_t count, double rate) {
  Run run;
  run.committed.resize(static_cast<std::size_t>(count + 1));
  run.visible.resize(static_cast<std::size_t>(count + 1));
  std::atomic<Clock::rep> deadline{(Clock::now() + std::chrono::hours(1)).time_since_epoch().count()};
  std::thread read([&] { reader(b, count, deadline, run); });
  writer(a, count, rate, run);
  deadline = (Clock::now() + std::chrono::seconds(10)).time_since_epoch().count();
  read.join();
  Lags lags;
  for (std::size_t i = 1; i < run.visible.size(); ++i)
    if (run.visible[i] != Clock::time_point{})
      lags.ms.push_back(std::chrono::duration<double, std::milli>(run.visible[i] - run.committed[i]).count());
  lags.missing = count - static_cast<std::int64_t>(lags.ms.size());
  lags.rate = static_cast<double>(count) / run.writeSeconds;
  return lags;
}

void report(const std::string& serveArgs, double rate, std::int64_t count, Lags& lags) {
  double p50 = bench::percentile(lags.ms, 50), p99 = bench::percentile(lags.ms, 99);
  double max = lags.ms.empty() ? 0 : lags.ms.back();
  std::printf("| serve args | txns | achieved rate | p50 | p99 | max | not visible after 10 s |\n"
              "|---|---:|---:|---:|---:|---:|---:|\n");
  std::printf("| `%s` | %lld | %.0f txn/s | %.2f ms | %.2f ms | %.2f ms | %lld |\n", serveArgs.c_str(),
              static_cast<long long>(count), lags.rate, p50, p99, max, static_cast<long long>(lags.missing));
  bench::summary(fmt::format("5 lag: {:.0f} txn/s, serve {}", rate, serveArgs), "p99 < 10 ms",
                 fmt::format("p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms{}", p50, p99, max,
                             lags.missing ? fmt::format(", {} never visible", lags.missing) : ""),
                 lags.missing == 0 && p99 < 10);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     {{"rate", "1000"}, {"seconds", "10"}, {"serve-args", "--interval 1000"}, {"parley", defaultParley()},
                      {"dir", "/tmp/parley-bench"}},
                     "[--rate TXN_PER_S] [--seconds S] [--serve-args \"FLAGS\"] [--parley PATH] [--dir D]");
  if (flags.smoke()) {
    flags.fallback("rate", "200");
    flags.fallback("seconds", "1");
  }
  double rate = static_cast<double>(flags.integer("rate"));
  std::int64_t count = static_cast<std::int64_t>(rate) * flags.integer("seconds");
  std::string dir = bench::workDir(flags.text("dir")), parley = flags.text("parley"), args = flags.text("serve-args");
  if (access(parley.c_str(), X_OK) != 0) bench::fail("no parley binary at " + parley + " (use --parley PATH)");
  std::string a = dir + "/lag-a.db", b = dir + "/lag-b.db";
  makeSites(a, b);

  int portA = freePort(), portB = freePort();
  pid_t serveA = startServe(parley, a, portA, portB, args, dir + "/lag-serve-a.log");
  pid_t serveB = startServe(parley, b, portB, portA, args, dir + "/lag-serve-b.log");
  waitListening(serveA, portA, dir + "/lag-serve-a.log");
  waitListening(serveB, portB, dir + "/lag-serve-b.log");
  Lags lags = measure(a, b, count, rate);
  stopServe(serveA);
  stopServe(serveB);
  report(args, rate, count, lags);
  return 0;
}
