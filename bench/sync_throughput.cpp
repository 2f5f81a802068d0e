// sync_throughput: one site's history of N row changes synced to an empty site over loopback
// TCP, end to end; prints the time and this process's peak RSS (both sides run here).
// Usage: parley-bench-sync [--rows-per-txn R] [--txns T] [--dir D]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"

namespace {

[[noreturn]] void die(const parley::Status& st) {
  std::fprintf(stderr, "parley-bench-sync: %s\n", st.toString().c_str());
  std::exit(1);
}

template <class T>
T ok(parley::Result<T> r) {
  if (!r) die(r.status());
  return std::move(r).value();
}

long peakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

void removeSite(const std::string& path) {
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}

}  // namespace

int main(int argc, char** argv) {
  int rowsPerTxn = 1000, txns = 1000;
  std::string dir = "/tmp/parley-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--rows-per-txn") rowsPerTxn = std::atoi(argv[i + 1]);
    else if (flag == "--txns") txns = std::atoi(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else return std::fprintf(stderr, "usage: %s [--rows-per-txn R] [--txns T] [--dir D]\n", argv[0]), 2;
  }
  if (rowsPerTxn < 1 || txns < 1) return std::fprintf(stderr, "%s: counts must be positive\n", argv[0]), 2;
  std::filesystem::create_directories(dir);
  std::string a = dir + "/sync-a.db", b = dir + "/sync-b.db";
  removeSite(a);
  removeSite(b);
  parley::SystemClock clock;
  parley::RandomIdSource ids;
  parley::SiteOptions options{&clock, parley::resolvers::lwwEverywhere(), std::chrono::minutes(1)};

  auto source = ok(parley::Site::create(a, {"source", &ids, {}}, options));
  ok(source->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)"));
  if (auto st = source->track("t"); !st) die(st);
  ok(source->exec(fmt::format("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) "
                              "INSERT INTO t SELECT x, 0 FROM c", rowsPerTxn)));
  for (int i = 1; i < txns; ++i) ok(source->exec("UPDATE t SET v = v + 1"));
  auto empty = ok(parley::Site::create(b, {"target", &ids, source->clusterId()}, options));
  ok(empty->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)"));
  if (auto st = empty->track("t"); !st) die(st);
  long before = peakRssMb();

  parley::sync::TcpOptions tcp{"bench-secret", std::chrono::seconds(60), parley::sync::kChunkBytes, {}};
  auto server = ok(parley::sync::Server::start(*source, "127.0.0.1:0", tcp));
  auto t0 = std::chrono::steady_clock::now();
  auto r = ok(parley::sync::syncTcp(*empty, fmt::format("127.0.0.1:{}", server->port()), tcp));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  server->stop();
  std::uint64_t changes = static_cast<std::uint64_t>(rowsPerTxn) * static_cast<std::uint64_t>(txns);
  std::printf("| changes | transactions | received | seconds | changes/s | peak RSS before | peak RSS after |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  std::printf("| %llu | %d | %llu | %.2f | %.0f | %ld MB | %ld MB |\n", static_cast<unsigned long long>(changes), txns,
              static_cast<unsigned long long>(r.received.applied), seconds, changes / seconds, before, peakRssMb());
  return r.received.applied == static_cast<std::uint64_t>(txns) ? 0 : 1;
}
