// sync_throughput (figure 4): one site's history of N row changes synced to an empty site over
// loopback TCP, end to end, with the two sides in separate processes.
//
// The parent builds the source site (T transactions of R row updates each) and an empty
// target, then runs this program again twice: "--role serve" serves the source
// (sync::Server), "--role sync" syncs the target with it (sync::syncTcp) and reports the sync's
// time. The parent reaps both with wait4() and reports each process's peak RSS (ru_maxrss),
// then checks that the target holds exactly the source's transactions. The main sync runs
// twice over TLS 1.3 and twice with --insecure (plaintext), alternating, on the same source, so
// the cost of encryption is a ratio measured side by side.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "common.hpp"
#include "parley/sync/tcp.hpp"

namespace {

parley::sync::TcpOptions tcpOptions(bool insecure) {
  parley::sync::TcpOptions o{"0159438a9235d6abde38e49fb98944660d067d6b9b03d8a8f4ee4e522feb62cb",
                             std::chrono::seconds(120), parley::sync::kChunkBytes, {}};
  o.insecure = insecure;
  return o;
}

int serveRole(const std::string& path, bool insecure) {
  bench::SiteEnv env;
  auto site = bench::ok(parley::Site::open(path, env.options()));
  auto server = bench::ok(parley::sync::Server::start(*site, "127.0.0.1:0", tcpOptions(insecure)));
  std::printf("port %d\n", server->port());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {}  // until the parent closes our stdin
  server->stop();
  return 0;
}

int syncRole(const std::string& path, const std::string& address, bool insecure) {
  bench::SiteEnv env;
  auto site = bench::ok(parley::Site::open(path, env.options()));
  parley::sync::SyncSummary r;
  double s = bench::seconds([&] { r = bench::ok(parley::sync::syncTcp(*site, address, tcpOptions(insecure))); });
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

// Waits for `c`; returns its peak RSS in MB, and adds the CPU seconds it used to `cpu`.
double reap(Child& c, const std::string& role, double& cpu) {
  int status = 0;
  rusage u{};
  if (wait4(c.pid, &status, 0, &u) != c.pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    bench::fail(fmt::format("the {} process failed (status {})", role, status));
  if (c.out) std::fclose(c.out);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  cpu += seconds(u.ru_utime) + seconds(u.ru_stime);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

constexpr const char* kTable = "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)";

void buildSource(const std::string& a, std::int64_t rowsPerTxn, std::int64_t txns) {
  bench::SiteEnv env;
  auto source = bench::createSite(env, a, "source");
  bench::exec(*source, kTable);
  bench::check(source->track("t"));
  bench::exec(*source, bench::fillSql("t", rowsPerTxn, "0"));
  for (std::int64_t i = 1; i < txns; ++i) bench::exec(*source, "UPDATE t SET v = v + 1");
}

// An empty target of the source's cluster.
void buildTarget(const std::string& a, const std::string& b) {
  bench::SiteEnv env;
  auto source = bench::ok(parley::Site::open(a, env.options()));
  bench::removeDb(b);
  auto target = bench::ok(parley::Site::create(b, {"target", &env.ids, source->clusterId()}, env.options()));
  bench::exec(*target, kTable);
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
  double cpuSeconds = 0;  // both processes, user and system
};

// One sync of the source at `a` (`txns` transactions) to a new empty target, serving and
// syncing processes.
Measured measure(const char* self, const std::string& a, std::int64_t txns, bool insecure) {
  std::string b = a + "-target.db";
  buildTarget(a, b);
  std::string mode = insecure ? "1" : "0";
  Child server = spawn({self, "--role", "serve", "--site", a, "--insecure", mode});
  int port = 0;
  if (std::fscanf(server.out, "port %d", &port) != 1) bench::fail("the serve process did not report its port");
  auto t0 = std::chrono::steady_clock::now();
  Child client =
      spawn({self, "--role", "sync", "--site", b, "--address", fmt::format("127.0.0.1:{}", port), "--insecure", mode});
  Measured m;
  unsigned long long applied = 0;
  if (std::fscanf(client.out, "%lf %llu", &m.syncSeconds, &applied) != 2) bench::fail("the sync process reported nothing");
  m.clientRss = reap(client, "sync", m.cpuSeconds);
  m.endToEnd = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  close(server.in);
  m.serverRss = reap(server, "serve", m.cpuSeconds);
  verify(a, b);
  if (applied != static_cast<unsigned long long>(txns)) bench::fail(fmt::format("applied {} of {} transactions", applied, txns));
  return m;
}

void row(const char* link, std::int64_t rowsPerTxn, std::int64_t txns, const Measured& m) {
  double changes = static_cast<double>(rowsPerTxn * txns);
  std::printf("| %s | %.0f | %lld | %.2f s | %.2f s | %s | %.2f s | %.0f MB | %.0f MB |\n", link, changes,
              static_cast<long long>(txns), m.syncSeconds, m.endToEnd, bench::rate(changes / m.syncSeconds).c_str(),
              m.cpuSeconds, m.serverRss, m.clientRss);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     {{"rows-per-txn", "1000"}, {"txns", "1000"}, {"large-txn-rows", "1000000"}, {"dir", "/tmp/parley-bench"},
                      {"role", "parent"}, {"site", "-"}, {"address", "-"}, {"insecure", "0"}},
                     "[--rows-per-txn R] [--txns T] [--large-txn-rows N] [--dir D]");
  bool insecure = flags.text("insecure") == "1";
  if (flags.text("role") == "serve") return serveRole(flags.text("site"), insecure);
  if (flags.text("role") == "sync") return syncRole(flags.text("site"), flags.text("address"), insecure);
  if (flags.smoke()) {
    flags.fallback("rows-per-txn", "100");
    flags.fallback("txns", "20");
    flags.fallback("large-txn-rows", "2000");
  }
  std::int64_t rowsPerTxn = flags.integer("rows-per-txn"), txns = flags.integer("txns");
  std::int64_t largeRows = flags.integer("large-txn-rows");
  std::string dir = bench::workDir(flags.text("dir"));
  std::string source = dir + "/sync-a.db", large = dir + "/sync-large.db";
  buildSource(source, rowsPerTxn, txns);
  // TLS and plaintext alternate, three times each; each keeps its faster run.
  Measured tls, plain;
  for (int round = 0; round < 3; ++round) {
    Measured p = measure(argv[0], source, txns, true), t = measure(argv[0], source, txns, false);
    if (round == 0 || p.syncSeconds < plain.syncSeconds) plain = p;
    if (round == 0 || t.syncSeconds < tls.syncSeconds) tls = t;
  }
  // The same number of changes or so in one transaction, which a site decodes whole.
  buildSource(large, largeRows, 1);
  Measured one = measure(argv[0], large, 1, false);

  std::printf("| link | changes | transactions | syncTcp | process start to exit | changes/s | CPU, both processes | peak RSS serving | peak RSS syncing |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  row("TLS 1.3", rowsPerTxn, txns, tls);
  row("--insecure", rowsPerTxn, txns, plain);
  row("TLS 1.3", largeRows, 1, one);
  std::printf("\nThe first two rows are the faster of three alternating runs each (CPU: user and system seconds of the serving and the syncing process together). The last syncs one transaction: the "
              "receiver decodes it whole and applies it 65,536 rows at a time.\n");
  double changes = static_cast<double>(rowsPerTxn * txns);
  const Measured& m = tls;
  bench::summary(fmt::format("4 sync: {:.0f} changes over loopback TCP (TLS 1.3)", changes), "< 5 s",
                 fmt::format("{:.2f} s ({})", m.syncSeconds, bench::rate(changes / m.syncSeconds)), m.syncSeconds < 5);
  double ratio = tls.syncSeconds / plain.syncSeconds, cpuRatio = tls.cpuSeconds / plain.cpuSeconds;
  bench::summary("4 sync: TLS 1.3 / --insecure, same run", "<= 1.15x",
                 fmt::format("{:.2f}x ({:.2f} s / {:.2f} s; CPU {:.2f}x)", ratio, tls.syncSeconds, plain.syncSeconds,
                             cpuRatio),
                 ratio <= 1.15);
  bench::summary("4 sync: peak RSS serving / syncing", "< 200 MB each",
                 fmt::format("{:.0f} MB / {:.0f} MB", m.serverRss, m.clientRss), m.serverRss < 200 && m.clientRss < 200);
  bench::summary(fmt::format("4 sync: one transaction of {} rows", largeRows), "(no target)",
                 fmt::format("{:.2f} s, peak RSS serving / syncing {:.0f} MB / {:.0f} MB", one.syncSeconds,
                             one.serverRss, one.clientRss),
                 std::nullopt);
  return 0;
}
