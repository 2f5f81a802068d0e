// sync_throughput (figure 4): one site's history of N row changes synced to an empty site over
// loopback TCP, end to end, with the two sides in separate processes.
//
// The parent builds the source site (T transactions of R row updates each) and an empty
// target, then runs this program again twice: "--role serve" serves the source
// (sync::Server), "--role sync" syncs the target with it (sync::syncTcp) and reports the sync's
// time. The parent reaps both with wait4() and reports each process's peak RSS (ru_maxrss),
// then checks that the target holds exactly the source's transactions.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "common.hpp"
#include "parley/sync/tcp.hpp"

namespace {

parley::sync::TcpOptions tcpOptions() {
  return {"0159438a9235d6abde38e49fb98944660d067d6b9b03d8a8f4ee4e522feb62cb", std::chrono::seconds(120), parley::sync::kChunkBytes, {}};
}

int serveRole(const std::string& path) {
  bench::SiteEnv env;
  auto site = bench::ok(parley::Site::open(path, env.options()));
  auto server = bench::ok(parley::sync::Server::start(*site, "127.0.0.1:0", tcpOptions()));
  std::printf("port %d\n", server->port());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {}  // until the parent closes our stdin
  server->stop();
  return 0;
}

int syncRole(const std::string& path, const std::string& address) {
  bench::SiteEnv env;
  auto site = bench::ok(parley::Site::open(path, env.options()));
  parley::sync::SyncSummary r;
  double s = bench::seconds([&] { r = bench::ok(parley::sync::syncTcp(*site, address, tcpOptions())); });
  std::printf("%.6f %llu\n", s, static_cast<unsigned long long>(r.received.applied));
  return 0;
}

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // its stdout
  int in = -1;          // its stdin
};

Child spawn(const std::vector<std::string>& args) {
  int toChild[2], fromChild[2];
  if (pipe(toChild) != 0 || pipe(fromChild) != 0) bench::fail("pipe failed");
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) bench::fail("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the benchmark, even when it fails
    dup2(toChild[0], 0);
    dup2(fromChild[1], 1);
    close(toChild[1]);
    close(fromChild[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(toChild[0]);
  close(fromChild[1]);
  return {pid, fdopen(fromChild[0], "r"), toChild[1]};
}

// Waits for `c`; returns its peak RSS in MB.
double reap(Child& c, const std::string& role) {
  int status = 0;
  rusage u{};
  if (wait4(c.pid, &status, 0, &u) != c.pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    bench::fail(fmt::format("the {} process failed (status {})", role, status));
  if (c.out) std::fclose(c.out);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

void buildSites(const std::string& a, const std::string& b, std::int64_t rowsPerTxn, std::int64_t txns) {
  bench::SiteEnv env;
  const char* table = "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)";
  auto source = bench::createSite(env, a, "source");
  bench::exec(*source, table);
  bench::check(source->track("t"));
  bench::exec(*source, bench::fillSql("t", rowsPerTxn, "0"));
  for (std::int64_t i = 1; i < txns; ++i) bench::exec(*source, "UPDATE t SET v = v + 1");
  bench::removeDb(b);
  auto target = bench::ok(parley::Site::create(b, {"target", &env.ids, source->clusterId()}, env.options()));
  bench::exec(*target, table);
  bench::check(target->track("t"));
}

void verify(const std::string& a, const std::string& b) {
  bench::SiteEnv env;
  auto source = bench::ok(parley::Site::open(a, env.options()));
  auto target = bench::ok(parley::Site::open(b, env.options()));
  if (!(source->vector().value() == target->vector().value()))
    bench::fail(fmt::format("the target holds {}, the source {}", target->vector().value().toString(), source->vector().value().toString()));
}

struct Measured {
  double syncSeconds = 0, endToEnd = 0, serverRss = 0, clientRss = 0;
};

// One sync of `txns` transactions of `rowsPerTxn` rows each, serving and syncing processes.
Measured measure(const char* self, const std::string& dir, std::int64_t rowsPerTxn, std::int64_t txns) {
  std::string a = dir + "/sync-a.db", b = dir + "/sync-b.db";
  buildSites(a, b, rowsPerTxn, txns);
  Child server = spawn({self, "--role", "serve", "--site", a});
  int port = 0;
  if (std::fscanf(server.out, "port %d", &port) != 1) bench::fail("the serve process did not report its port");
  auto t0 = std::chrono::steady_clock::now();
  Child client = spawn({self, "--role", "sync", "--site", b, "--address", fmt::format("127.0.0.1:{}", port)});
  Measured m;
  unsigned long long applied = 0;
  if (std::fscanf(client.out, "%lf %llu", &m.syncSeconds, &applied) != 2) bench::fail("the sync process reported nothing");
  m.clientRss = reap(client, "sync");
  m.endToEnd = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  close(server.in);
  m.serverRss = reap(server, "serve");
  verify(a, b);
  if (applied != static_cast<unsigned long long>(txns)) bench::fail(fmt::format("applied {} of {} transactions", applied, txns));
  return m;
}

void row(std::int64_t rowsPerTxn, std::int64_t txns, const Measured& m) {
  double changes = static_cast<double>(rowsPerTxn * txns);
  std::printf("| %.0f | %lld | %.2f s | %.2f s | %s | %.0f MB | %.0f MB |\n", changes, static_cast<long long>(txns),
              m.syncSeconds, m.endToEnd, bench::rate(changes / m.syncSeconds).c_str(), m.serverRss, m.clientRss);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     {{"rows-per-txn", "1000"}, {"txns", "1000"}, {"large-txn-rows", "1000000"}, {"dir", "/tmp/parley-bench"},
                      {"role", "parent"}, {"site", "-"}, {"address", "-"}},
                     "[--rows-per-txn R] [--txns T] [--large-txn-rows N] [--dir D]");
  if (flags.text("role") == "serve") return serveRole(flags.text("site"));
  if (flags.text("role") == "sync") return syncRole(flags.text("site"), flags.text("address"));
  if (flags.smoke()) {
    flags.fallback("rows-per-txn", "100");
    flags.fallback("txns", "20");
    flags.fallback("large-txn-rows", "2000");
  }
  std::int64_t rowsPerTxn = flags.integer("rows-per-txn"), txns = flags.integer("txns");
  std::int64_t largeRows = flags.integer("large-txn-rows");
  std::string dir = bench::workDir(flags.text("dir"));
  Measured m = measure(argv[0], dir, rowsPerTxn, txns);
  // The same number of changes or so in one transaction, which a site decodes whole.
  Measured large = measure(argv[0], dir, largeRows, 1);

  std::printf("| changes | transactions | syncTcp | process start to exit | changes/s | peak RSS serving | peak RSS syncing |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  row(rowsPerTxn, txns, m);
  row(largeRows, 1, large);
  std::printf("\nThe second row syncs one transaction: the receiver decodes it whole and applies it 65,536 rows at a time.\n");
  double changes = static_cast<double>(rowsPerTxn * txns);
  bench::summary(fmt::format("4 sync: {:.0f} changes over loopback TCP", changes), "< 5 s",
                 fmt::format("{:.2f} s ({})", m.syncSeconds, bench::rate(changes / m.syncSeconds)), m.syncSeconds < 5);
  bench::summary("4 sync: peak RSS serving / syncing", "< 200 MB each",
                 fmt::format("{:.0f} MB / {:.0f} MB", m.serverRss, m.clientRss), m.serverRss < 200 && m.clientRss < 200);
  bench::summary(fmt::format("4 sync: one transaction of {} rows", largeRows), "(no target)",
                 fmt::format("{:.2f} s, peak RSS serving / syncing {:.0f} MB / {:.0f} MB", large.syncSeconds,
                             large.serverRss, large.clientRss),
                 std::nullopt);
  return 0;
}
