// replication_lag: how long a commit at A takes to become visible at B, with two real
// `parley serve` processes peering with each other (each --peer of the other).
//
// A writer thread commits single-row transactions at A at a fixed rate (each row holds the
// wall time in ns, taken inside the transaction just before COMMIT); a reader thread polls B
// through a plain read-only SQLite connection (PRAGMA data_version, then the new rows) and
// records when each row became visible. Prints p50/p99/max lag as a markdown table row; exits
// 1 if a transaction never arrived.
// Usage: parley-bench-lag [--seconds N] [--rate TXN_PER_S] [--interval MS] [--no-stream]
//                         [--poll-ms MS] [--reader-sleep-us US] [--smoke] [--parley PATH [--old-serve]] [--dir D]
// --no-stream --interval 1: full syncs every ms, no subscriptions. --old-serve runs a `parley`
// built before live subscriptions (--parley PATH), passing it only --interval.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  double seconds = 10;
  int rate = 1000;
  int interval = 1000;
  int pollMs = 1;
  int readerSleepUs = 50;
  bool stream = true;
  bool oldServe = false;  // a parley without live subscriptions: pass it --interval only
  bool smoke = false;
  std::string parley = PARLEY_BINARY;
  std::string dir = "/tmp/parley-bench-lag";
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "parley-bench-lag: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T ok(parley::Result<T> r) {
  if (!r) die(r.status().toString());
  return std::move(r).value();
}

std::int64_t wallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(flag + " wants a value");
      return argv[++i];
    };
    if (flag == "--seconds") a.seconds = std::atof(value().c_str());
    else if (flag == "--rate") a.rate = std::atoi(value().c_str());
    else if (flag == "--interval") a.interval = std::atoi(value().c_str());
    else if (flag == "--poll-ms") a.pollMs = std::atoi(value().c_str());
    else if (flag == "--reader-sleep-us") a.readerSleepUs = std::atoi(value().c_str());
    else if (flag == "--no-stream") a.stream = false;
    else if (flag == "--old-serve") a.stream = false, a.oldServe = true;
    else if (flag == "--smoke") a.smoke = true;
    else if (flag == "--parley") a.parley = value();
    else if (flag == "--dir") a.dir = value();
    else die("usage: parley-bench-lag [--seconds N] [--rate TXN_PER_S] [--interval MS] [--no-stream] [--poll-ms MS] "
             "[--reader-sleep-us US] [--smoke] [--parley PATH [--old-serve]] [--dir D]");
  }
  if (a.smoke) a.seconds = std::min(a.seconds, 1.0);
  if (a.seconds <= 0 || a.rate < 1 || a.interval < 1 || a.pollMs < 1 || a.readerSleepUs < 0) die("bad arguments");
  return a;
}

// Two free loopback ports (bound at once, so they differ, then released for serve).
std::pair<int, int> freePorts() {
  int fds[2], ports[2];
  for (int i = 0; i < 2; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in where{};
    where.sin_family = AF_INET;
    where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof where;
    if (fds[i] < 0 || ::bind(fds[i], reinterpret_cast<sockaddr*>(&where), sizeof where) != 0 ||
        ::getsockname(fds[i], reinterpret_cast<sockaddr*>(&where), &length) != 0)
      die("cannot find a free port");
    ports[i] = ntohs(where.sin_port);
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return {ports[0], ports[1]};
}

// `parley serve` in a child process, its output in `log`.
class Serve {
 public:
  Serve(const Args& a, const std::string& site, int port, int peerPort, const std::string& log) : log_(log) {
    std::vector<std::string> args{a.parley, "serve", site, "--listen", fmt::format("127.0.0.1:{}", port),
                                  "--peer", fmt::format("tcp://127.0.0.1:{}", peerPort), "--interval",
                                  std::to_string(a.interval)};
    if (!a.oldServe) args.insert(args.end(), {"--poll-ms", std::to_string(a.pollMs)});
    if (!a.stream && !a.oldServe) args.push_back("--no-stream");
    pid_ = ::fork();
    if (pid_ < 0) die("fork failed");
    if (pid_ == 0) exec(args);
  }
  ~Serve() { stop(); }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    rusage usage{};
    ::wait4(pid_, &status, 0, &usage);
    cpuSeconds_ = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    pid_ = 0;
  }
  // CPU time the process used, once stopped.
  double cpuSeconds() const { return cpuSeconds_; }
  std::string output() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  [[noreturn]] void exec(const std::vector<std::string>& args) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    ::setenv("PARLEY_SECRET", "bench-lag-secret", 1);
    std::vector<char*> argv;
    for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s\n", argv[0]);
    ::_exit(127);
  }

  std::string log_;
  pid_t pid_ = 0;
  double cpuSeconds_ = 0;
};

void removeSite(const std::string& path) {
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}

// Makes site A with the table, and B as its clone.
void createSites(const std::string& a, const std::string& b) {
  removeSite(a);
  removeSite(b);
  parley::SystemClock clock;
  parley::RandomIdSource ids;
  parley::SiteOptions options{&clock, parley::resolvers::lwwEverywhere(), std::chrono::minutes(1)};
  auto site = ok(parley::Site::create(a, {"a", &ids, {}}, options));
  ok(site->exec("CREATE TABLE lag(id INTEGER PRIMARY KEY, t_ns INTEGER NOT NULL)"));
  if (auto st = site->track("lag"); !st) die(st.toString());
  ok(site->clone(b, {"b", &ids, {}}, options));
}

// Polls B read-only and records, per id, the lag in ns of the first time it was visible.
class Reader {
 public:
  Reader(const std::string& path, std::size_t expected, int sleepUs) : lags_(expected + 1, -1), sleepUs_(sleepUs) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) die("cannot open " + path);
    sqlite3_busy_timeout(db_, 1000);
    prepare("PRAGMA data_version", &version_);
    prepare("SELECT id, t_ns FROM lag WHERE id > ?1", &rows_);
  }
  ~Reader() {
    sqlite3_finalize(version_);
    sqlite3_finalize(rows_);
    sqlite3_close(db_);
  }

  void run(const std::atomic<bool>& stop) {
    std::int64_t seenVersion = -1;
    while (!stop && seen_ < lags_.size() - 1) {
      sqlite3_reset(version_);
      if (sqlite3_step(version_) == SQLITE_ROW && sqlite3_column_int64(version_, 0) != seenVersion) {
        seenVersion = sqlite3_column_int64(version_, 0);
        readNew();
      }
      if (sleepUs_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(sleepUs_));
    }
  }
  const std::vector<std::int64_t>& lags() const { return lags_; }
  std::size_t seen() const { return seen_; }

 private:
  void prepare(const char* sql, sqlite3_stmt** st) {
    if (sqlite3_prepare_v2(db_, sql, -1, st, nullptr) != SQLITE_OK) die(sqlite3_errmsg(db_));
  }
  void readNew() {
    sqlite3_reset(rows_);
    sqlite3_bind_int64(rows_, 1, maxId_);
    while (sqlite3_step(rows_) == SQLITE_ROW) {
      std::int64_t now = wallNs(), id = sqlite3_column_int64(rows_, 0);
      if (id < 1 || static_cast<std::size_t>(id) >= lags_.size() || lags_[id] >= 0) continue;
      lags_[id] = now - sqlite3_column_int64(rows_, 1);
      ++seen_;
      maxId_ = std::max(maxId_, id);
    }
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt *version_ = nullptr, *rows_ = nullptr;
  std::vector<std::int64_t> lags_;  // index: id; -1 until seen
  std::size_t seen_ = 0;
  std::int64_t maxId_ = 0;
  int sleepUs_;
};

// Commits `count` transactions at `rate` per second; returns the seconds it took.
double write(const std::string& path, std::size_t count, int rate) {
  parley::SystemClock clock;
  auto site = ok(parley::Site::open(path, {&clock, parley::resolvers::lwwEverywhere(), std::chrono::minutes(1)}));
  auto start = Clock::now();
  for (std::size_t i = 1; i <= count; ++i) {
    std::this_thread::sleep_until(start + std::chrono::nanoseconds(1'000'000'000LL * static_cast<long long>(i - 1) / rate));
    ok(site->exec("INSERT INTO lag(id, t_ns) VALUES (?1, ?2)",
                  {parley::Value::integer(static_cast<std::int64_t>(i)), parley::Value::integer(wallNs())}));
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool waitForLine(const Serve& serve, const std::string& text, std::chrono::seconds limit) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (serve.output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

double percentileMs(std::vector<std::int64_t> sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t at = std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[at]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parseArgs(argc, argv);
  std::filesystem::create_directories(args.dir);
  std::string a = args.dir + "/lag-a.db", b = args.dir + "/lag-b.db";
  createSites(a, b);
  auto [portA, portB] = freePorts();
  Serve serveA(args, a, portA, portB, args.dir + "/serve-a.log"), serveB(args, b, portB, portA, args.dir + "/serve-b.log");
  std::string ready = args.stream ? "streaming from" : "serving";
  if (!waitForLine(serveA, ready, std::chrono::seconds(10)) || !waitForLine(serveB, ready, std::chrono::seconds(10)))
    die("the serve processes did not come up:\n" + serveA.output() + serveB.output());

  auto count = static_cast<std::size_t>(args.seconds * args.rate);
  Reader reader(b, count, args.readerSleepUs);
  std::atomic<bool> stop{false};
  std::thread reading([&] { reader.run(stop); });
  double took = write(a, count, args.rate);
  auto deadline = Clock::now() + std::chrono::milliseconds(args.interval) + std::chrono::seconds(10);
  while (reader.seen() < count && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  reading.join();
  serveA.stop();
  serveB.stop();

  std::vector<std::int64_t> lags;
  for (std::size_t id = 1; id <= count; ++id)
    if (reader.lags()[id] >= 0) lags.push_back(reader.lags()[id]);
  std::sort(lags.begin(), lags.end());
  std::string mode = args.stream ? fmt::format("stream, poll {} ms", args.pollMs)
                                 : fmt::format("full sync every {} ms", args.interval);
  std::printf("| mode | txns | rate achieved (txn/s) | visible at B | p50 lag (ms) | p99 lag (ms) | max lag (ms) "
              "| CPU s serve A / B |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::printf("| %s | %zu | %.0f | %zu | %.2f | %.2f | %.2f | %.1f / %.1f |\n", mode.c_str(), count,
              static_cast<double>(count) / took, lags.size(), percentileMs(lags, 0.50), percentileMs(lags, 0.99),
              lags.empty() ? 0.0 : static_cast<double>(lags.back()) / 1e6, serveA.cpuSeconds(), serveB.cpuSeconds());
  if (lags.size() != count) {
    std::fprintf(stderr, "parley-bench-lag: %zu of %zu transactions never became visible at B\n", count - lags.size(),
                 count);
    return 1;
  }
  return 0;
}
