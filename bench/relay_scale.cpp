// relay_scale (figure 7): N sites in one process replicating through a three-server NATS
// JetStream cluster on loopback (parley/sync/relay.hpp), next to a TCP mesh of `parley serve`
// processes, under the same write load.
//
// For each N of --sites, the program creates N sites of a new cluster (files under --dir), each
// with its own relay (its own NATS connection and site connection) and a writer connection.
// It measures, in this order:
//   memory per site: this process's resident set after the relays started and settled, minus
//     before, divided by N;
//   idle CPU per site: this process's CPU time (user + system) over --idle-seconds with nothing
//     written, divided by N and the wall time, in % of one core; the three servers' CPU is shown
//     beside it, divided by N too;
//   commit-to-visible everywhere: writer threads commit --rate single-row INSERTs per second
//     per site for --seconds; each relay reports every transaction it applies
//     (RelayOptions::applied); a transaction's latency is the time from its commit returning to
//     the moment the last of the other N-1 sites applied it. p50, p99 and max; the time to the
//     first other site, the commit's own time and the CPU used while writing go to stderr and
//     the table.
// The TCP mesh: M `parley serve` processes, each peering with every other (live streams plus a
// full sync every --mesh-interval ms): idle CPU and resident set per site, summed from /proc;
// then the same writers at the same rate for --mesh-seconds, writing into the serves' site
// files; a watcher in this process reads every site's vector every --watch-ms ms, so the mesh's
// latencies are late by up to that much.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <sqlite3.h>

#include "common.hpp"
#include "parley/sync/relay.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

using bench::accepts;
using bench::freePort;

pid_t spawn(std::vector<std::string> args, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) bench::fail("cannot start " + args[0]);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

void stop(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

// CPU seconds (user + system) of a process, from /proc/PID/stat.
double cpuOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string w; rest >> w;) f.push_back(w);
  if (f.size() < 13) return 0;
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resident set of a process in MB, from /proc/PID/statm.
double rssOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  double size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double selfCpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Three JetStream servers routed into one cluster, each storing under `dir`.
struct NatsCluster {
  std::vector<pid_t> pids;
  std::vector<std::string> urls;
  NatsCluster(const std::string& dir) {
    std::vector<int> client, route;
    for (int i = 0; i < 3; ++i) client.push_back(freePort()), route.push_back(freePort());
    for (int i = 0; i < 3; ++i) {
      std::string conf = fmt::format("{}/n{}.conf", dir, i);
      std::ofstream out(conf);
      std::string routes;
      for (int j = 0; j < 3; ++j)
        if (j != i) routes += fmt::format("nats-route://127.0.0.1:{}, ", route[j]);
      out << fmt::format("server_name: n{}\nlisten: 127.0.0.1:{}\njetstream {{ store_dir: \"{}/n{}\" }}\n"
                         "cluster {{ name: bench, listen: 127.0.0.1:{}, routes: [ {} ] }}\n",
                         i, client[i], dir, i, route[i], routes.substr(0, routes.size() - 2));
      out.close();
      pids.push_back(spawn({"nats-server", "-c", conf}, fmt::format("{}/n{}.log", dir, i)));
      urls.push_back(fmt::format("nats://127.0.0.1:{}", client[i]));
    }
    for (int port : client)
      for (int i = 0; !accepts(port); ++i) {
        if (i > 500) bench::fail("nats-server did not start");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
  }
  ~NatsCluster() {
    for (pid_t p : pids) stop(p);
  }
  double cpu() const {
    double s = 0;
    for (pid_t p : pids) s += cpuOf(p);
    return s;
  }
};

// Commit times and who has applied what, shared by the writer and the relays' threads.
struct Visibility {
  std::mutex mutex;
  struct Pending {
    Clock::time_point committed, first;
    int seen = 0;
  };
  std::map<parley::Dot, Pending> pending;
  std::vector<double> latenciesMs, firstMs, commitMs;
  int others = 0;
  void committed(const parley::Dot& dot, Clock::time_point at) {
    std::lock_guard lock(mutex);
    auto& p = pending[dot];
    p.committed = at;
    if (p.seen >= others) finish(dot, p);
  }
  void applied(const parley::Dot& dot) {
    std::lock_guard lock(mutex);
    auto& p = pending[dot];
    if (p.seen++ == 0) p.first = Clock::now();
    if (p.seen >= others && p.committed != Clock::time_point{}) finish(dot, p);
  }
  void finish(const parley::Dot& dot, Pending& p) {
    latenciesMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - p.committed).count());
    firstMs.push_back(std::chrono::duration<double, std::milli>(std::max(p.first, p.committed) - p.committed).count());
    pending.erase(dot);
  }
};

// What the writers did: commits, how many found the database locked, the wall time, and the CPU
// (in cores) this process and `others` (other processes: the NATS servers, the serves) used.
struct Writing {
  std::size_t written = 0, busy = 0;
  double rate = 0, cpu = 0, othersCpu = 0;
};

// Writer threads, each committing at its share of the sites on its own schedule, so that one
// slow commit delays few others: `rate` single-row INSERTs per second per site for `seconds`.
Writing writeAll(std::vector<std::unique_ptr<parley::Site>>& writers, int rate, int seconds, Visibility& vis,
                 const std::function<double()>& others) {
  int n = static_cast<int>(writers.size());
  std::vector<parley::SiteId> ids;
  std::vector<std::uint64_t> seq;
  for (auto& w : writers) {
    ids.push_back(w->id());
    seq.push_back(bench::ok(w->vector()).get(w->id()));
  }
  int threads = std::min(n, 8);
  std::atomic<std::size_t> written{0}, busy{0};
  double cpu0 = selfCpu(), others0 = others();
  auto start = Clock::now();
  std::vector<std::thread> writerThreads;
  for (int w = 0; w < threads; ++w)
    writerThreads.emplace_back([&, w] {
      int mine = (n - w + threads - 1) / threads;  // sites w, w + threads, ...
      auto interval = std::chrono::duration<double>(1.0 / (static_cast<double>(rate) * mine));
      auto next = start;
      for (std::size_t k = 0; Clock::now() - start < std::chrono::seconds(seconds); ++k) {
        std::this_thread::sleep_until(next);
        next += std::chrono::duration_cast<Clock::duration>(interval);
        int i = w + static_cast<int>(k % static_cast<std::size_t>(mine)) * threads;
        // The replication's connections take the write lock too; a commit that waited too long
        // for it is tried again (it committed nothing).
        std::string sql = fmt::format("INSERT INTO t(site, v) VALUES ({}, 'x')", i);
        auto c0 = Clock::now();
        auto r = writers[i]->exec(sql);
        while (!r && r.status().code() == parley::Status::Code::kBusy) {
          ++busy;
          r = writers[i]->exec(sql);
        }
        if (!r) bench::die(r.status());
        auto c1 = Clock::now();
        {
          std::lock_guard lock(vis.mutex);
          vis.commitMs.push_back(std::chrono::duration<double, std::milli>(c1 - c0).count());
        }
        vis.committed(parley::Dot{ids[i], ++seq[i]}, c1);
        ++written;
      }
    });
  for (auto& t : writerThreads) t.join();
  Writing out;
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  out.written = written;
  out.busy = busy;
  out.rate = static_cast<double>(out.written) / wall;
  out.cpu = (selfCpu() - cpu0) / wall;
  out.othersCpu = (others() - others0) / wall;
  return out;
}

// Commit-to-visible everywhere (and at the first other site) once every write is visible
// everywhere, or after 60 s.
struct Latency {
  double p50 = 0, p99 = 0, max = 0, firstP50 = 0, firstP99 = 0, commitP50 = 0, commitP99 = 0;
  std::size_t delivered = 0;
};

Latency waitVisible(Visibility& vis, std::size_t written) {
  for (int i = 0; i < 600; ++i) {
    {
      std::lock_guard lock(vis.mutex);
      if (vis.latenciesMs.size() >= written) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::lock_guard lock(vis.mutex);
  Latency l;
  l.delivered = vis.latenciesMs.size();
  if (!vis.latenciesMs.empty()) {
    l.p50 = bench::percentile(vis.latenciesMs, 50);
    l.p99 = bench::percentile(vis.latenciesMs, 99);
    l.max = bench::percentile(vis.latenciesMs, 100);
    l.firstP50 = bench::percentile(vis.firstMs, 50);
    l.firstP99 = bench::percentile(vis.firstMs, 99);
  }
  if (!vis.commitMs.empty()) {
    l.commitP50 = bench::percentile(vis.commitMs, 50);
    l.commitP99 = bench::percentile(vis.commitMs, 99);
  }
  return l;
}

// N sites of a new cluster under `dir`, each with a writer connection, all tracking t.
std::vector<std::unique_ptr<parley::Site>> makeSites(bench::SiteEnv& env, const std::string& dir, int n,
                                                     std::vector<std::string>& paths) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<std::unique_ptr<parley::Site>> writers;
  for (int i = 0; i < n; ++i) paths.push_back(fmt::format("{}/s{}.db", dir, i));
  writers.push_back(bench::createSite(env, paths[0], "s0"));
  bench::exec(*writers[0], "CREATE TABLE t(id INTEGER PRIMARY KEY, site INTEGER, v TEXT)");
  bench::check(writers[0]->track("t"));
  for (int i = 1; i < n; ++i) writers.push_back(bench::cloneSite(env, *writers[0], paths[i], fmt::format("s{}", i)));
  return writers;
}

struct Run {
  std::string link;
  int sites = 0;
  double memPerSiteMb = 0, idleCpuPct = 0, serverIdleCpuPct = -1;
  // CPU per transaction applied at a site, from the first write until every write was visible
  // everywhere (or the wait gave up): this process's (commits and publishing included) and the
  // NATS servers', in microseconds; `applied` transactions in all.
  double cpuPerApplyUs = 0, serverCpuPerApplyUs = 0;
  std::uint64_t applied = 0;
  Writing writing;
  Latency latency;
};

void report(const Run& r) {
  fmt::print(stderr,
             "{} {}: visible everywhere p50 {:.0f} ms, p99 {:.0f} ms; at the first other site p50 {:.0f} ms, p99 {:.0f} "
             "ms; commit p50 {:.1f} ms, p99 {:.1f} ms; while writing: this process {:.2f} cores, others {:.2f}; "
             "{} applies, CPU per apply {:.1f} us (+ NATS {:.1f} us)\n",
             r.link, r.sites, r.latency.p50, r.latency.p99, r.latency.firstP50, r.latency.firstP99, r.latency.commitP50,
             r.latency.commitP99, r.writing.cpu, r.writing.othersCpu, r.applied, r.cpuPerApplyUs, r.serverCpuPerApplyUs);
}

Run runRelay(const std::string& dir, NatsCluster& nats, int n, int rate, int seconds, int idleSeconds) {
  bench::SiteEnv env;
  auto options = env.options();
  options.cacheKiB = 1024;
  std::vector<std::string> paths;
  auto writers = makeSites(env, fmt::format("{}/relay{}", dir, n), n, paths);

  Visibility vis;
  vis.others = n - 1;
  double rssBefore = rssOf(getpid());
  std::vector<std::unique_ptr<parley::sync::Relay>> relays;
  for (int i = 0; i < n; ++i) {
    parley::sync::RelayOptions o;
    o.servers = nats.urls;
    o.secret = "5e1f3a9c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";
    o.applied = [&vis](const parley::Dot& d) { vis.applied(d); };
    std::string p = paths[i];
    o.siteFile = p;
    auto opener = [p, options] { return parley::Site::open(p, options); };
    relays.push_back(bench::ok(parley::sync::Relay::start(opener, o)));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // consumers bound, first acknowledgements out
  Run run;
  run.link = "relay";
  run.sites = n;
  run.memPerSiteMb = (rssOf(getpid()) - rssBefore) / n;

  fmt::print(stderr, "relay {}: started, idle for {} s\n", n, idleSeconds);
  double cpu0 = selfCpu(), srv0 = nats.cpu();
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(idleSeconds));
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  run.idleCpuPct = (selfCpu() - cpu0) / wall / n * 100;
  run.serverIdleCpuPct = (nats.cpu() - srv0) / wall / n * 100;

  fmt::print(stderr, "relay {}: writing for {} s\n", n, seconds);
  double cpuW = selfCpu(), srvW = nats.cpu();
  run.writing = writeAll(writers, rate, seconds, vis, [&] { return nats.cpu(); });
  run.latency = waitVisible(vis, run.writing.written);
  for (auto& r : relays) run.applied += r->stats().applied;
  if (run.applied) {
    run.cpuPerApplyUs = (selfCpu() - cpuW) / static_cast<double>(run.applied) * 1e6;
    run.serverCpuPerApplyUs = (nats.cpu() - srvW) / static_cast<double>(run.applied) * 1e6;
  }
  for (auto& r : relays) r->stop();
  report(run);
  return run;
}

// Watches the mesh's site files: every `every`, each site's vector, read through a connection
// of this process; what grew is reported to `vis` as applied there (origin's own entries aside).
class VectorWatch {
 public:
  VectorWatch(bench::SiteEnv& env, const std::vector<std::string>& paths, Visibility& vis,
              std::chrono::milliseconds every)
      : vis_(vis) {
    for (const auto& p : paths) {
      readers_.push_back(bench::ok(parley::Site::open(p, env.options())));
      seen_.push_back(bench::ok(readers_.back()->vector()));
    }
    thread_ = std::thread([this, every] {
      while (!stop_) {
        poll();
        std::this_thread::sleep_for(every);
      }
    });
  }
  ~VectorWatch() {
    stop_ = true;
    thread_.join();
  }

 private:
  void poll() {
    for (std::size_t j = 0; j < readers_.size(); ++j) {
      auto v = readers_[j]->vector();
      if (!v) continue;
      for (const auto& [origin, seq] : v->entries()) {
        if (origin == readers_[j]->id()) continue;
        for (std::uint64_t k = seen_[j].get(origin) + 1; k <= seq; ++k) vis_.applied(parley::Dot{origin, k});
      }
      seen_[j] = std::move(*v);
    }
  }
  Visibility& vis_;
  std::vector<std::unique_ptr<parley::Site>> readers_;
  std::vector<parley::VersionVector> seen_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Run runMesh(const std::string& dir, const std::string& parley, int m, int intervalMs, int rate, int seconds,
            int idleSeconds, std::chrono::milliseconds watchEvery) {
  bench::SiteEnv env;
  std::vector<std::string> paths;
  auto writers = makeSites(env, fmt::format("{}/mesh{}", dir, m), m, paths);
  std::vector<int> ports;
  for (int i = 0; i < m; ++i) ports.push_back(freePort());
  setenv("PARLEY_SECRET", "5e1f3a9c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7", 1);
  std::vector<pid_t> pids;
  for (int i = 0; i < m; ++i) {
    std::vector<std::string> args{parley, "serve", paths[i], "--listen", fmt::format("127.0.0.1:{}", ports[i]),
                                  "--interval", std::to_string(intervalMs)};
    for (int j = 0; j < m; ++j)
      if (j != i) args.insert(args.end(), {"--peer", fmt::format("tcp://127.0.0.1:{}", ports[j])});
    pids.push_back(spawn(args, paths[i] + ".log"));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto cpu = [&] {
    double s = 0;
    for (pid_t p : pids) s += cpuOf(p);
    return s;
  };
  Run run;
  run.link = "mesh";
  run.sites = m;
  fmt::print(stderr, "mesh {}: started, idle for {} s\n", m, idleSeconds);
  double c0 = cpu();
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(idleSeconds));
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  run.idleCpuPct = (cpu() - c0) / wall / m * 100;
  for (pid_t p : pids) run.memPerSiteMb += rssOf(p) / m;
  if (seconds > 0) {
    fmt::print(stderr, "mesh {}: writing for {} s\n", m, seconds);
    Visibility vis;
    vis.others = m - 1;
    {
      VectorWatch watch(env, paths, vis, watchEvery);
      run.writing = writeAll(writers, rate, seconds, vis, cpu);
      run.latency = waitVisible(vis, run.writing.written);
    }
    report(run);
  }
  for (pid_t p : pids) stop(p);
  return run;
}

std::vector<int> numbers(const std::string& list) {
  std::vector<int> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Hundreds of sites' connections in one process: SQLite's memory statistics take one global
  // mutex on every allocation, which the threads of all sites then queue on (a process per
  // site, as `parley serve`, has no such queue). Before any connection opens.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  bench::programName() = "parley-bench-relay";
  bench::Flags flags(argc, argv,
                     {{"sites", "10,50,200"}, {"rate", "10"}, {"seconds", "10"}, {"idle-seconds", "5"},
                      {"mesh", "10,20"}, {"mesh-interval", "1000"}, {"mesh-seconds", ""}, {"watch-ms", "20"},
                      {"parley", ""}, {"dir", "/tmp/parley-bench"}},
                     "parley-bench-relay [--sites N,N..] [--rate W_PER_S_PER_SITE] [--seconds S] [--idle-seconds S] "
                     "[--mesh M,M..] [--mesh-interval MS] [--mesh-seconds S] [--watch-ms MS] [--parley PATH] [--dir D] "
                     "[--smoke]");
  if (flags.smoke()) {  // tiny sizes; flags given on the command line still win
    flags.fallback("sites", "3");
    flags.fallback("seconds", "2");
    flags.fallback("idle-seconds", "1");
    flags.fallback("mesh", "3");
  }
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  std::string dir = bench::workDir(flags.text("dir")) + "/relay";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string parley = flags.text("parley");
  if (parley.empty()) parley = (fs::canonical("/proc/self/exe").parent_path().parent_path() / "parley").string();
  int rate = static_cast<int>(flags.integer("rate")), seconds = static_cast<int>(flags.integer("seconds"));
  int idle = static_cast<int>(flags.integer("idle-seconds"));
  int meshSeconds = flags.text("mesh-seconds").empty() ? seconds : static_cast<int>(flags.integer("mesh-seconds"));

  std::vector<Run> runs;
  {
    NatsCluster nats(dir);
    for (int n : numbers(flags.text("sites"))) runs.push_back(runRelay(dir, nats, n, rate, seconds, idle));
  }
  for (int m : numbers(flags.text("mesh")))
    runs.push_back(runMesh(dir, parley, m, static_cast<int>(flags.integer("mesh-interval")), rate, meshSeconds, idle,
                           std::chrono::milliseconds(flags.integer("watch-ms"))));

  fmt::print("## Figure 7: many sites through NATS JetStream (3-server cluster on loopback), next to a TCP mesh\n\n");
  fmt::print("{} writes/s per site for {} s ({} s for the mesh); idle measured over {} s; the mesh's visibility is "
             "read every {} ms\n\n",
             rate, seconds, meshSeconds, idle, flags.text("watch-ms"));
  for (const auto& r : runs)
    if (r.writing.busy)
      fmt::print("{} {}: {} commits found the database locked and were retried\n\n", r.link, r.sites, r.writing.busy);
  fmt::print("| link | sites | writes/s asked | achieved | commit-to-visible everywhere p50 | p99 | max | first other site "
             "p50 | delivered | memory/site | idle CPU/site (parley) | idle CPU/site (NATS servers) | CPU while writing "
             "(parley / NATS) | CPU per applied transaction (parley / NATS) |\n"
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|\n");
  for (const auto& r : runs) {
    bool relay = r.link == "relay";
    fmt::print("| {} | {} | {} | {:.0f} | {:.0f} ms | {:.0f} ms | {:.0f} ms | {:.0f} ms | {}/{} | {:.1f} MB | {:.3f}% | {} | "
               "{:.2f} / {} cores | {} |\n",
               relay ? "relay" : fmt::format("TCP mesh, `serve --interval {}`", flags.text("mesh-interval")), r.sites,
               rate * r.sites, r.writing.rate, r.latency.p50, r.latency.p99, r.latency.max, r.latency.firstP50,
               r.latency.delivered, r.writing.written, r.memPerSiteMb, r.idleCpuPct,
               relay ? fmt::format("{:.3f}%", r.serverIdleCpuPct) : "-", relay ? r.writing.cpu : r.writing.othersCpu,
               relay ? fmt::format("{:.2f}", r.writing.othersCpu) : "-",
               relay && r.applied ? fmt::format("{:.1f} / {:.1f} us", r.cpuPerApplyUs, r.serverCpuPerApplyUs) : "-");
  }
  fmt::print("\nFor the mesh, \"parley\" CPU is the serve processes' (the writers and the watcher are in this process).\n");
  // The targets are for 200 sites; other sizes are reported without one.
  for (const auto& r : runs) {
    bool target = r.link == "relay" && r.sites == 200;
    bool pass = r.latency.p99 < 1000 && r.latency.delivered == r.writing.written && r.idleCpuPct < 0.2;
    fmt::print("@summary|7 {}, {} sites, {} writes/s each: commit-to-visible everywhere, idle CPU per site|{}|p50 {:.0f} "
               "ms, p99 {:.0f} ms ({}/{} delivered at {:.0f} writes/s), idle {:.3f}% of a core per site, {:.1f} MB per "
               "site|{}\n",
               r.link, r.sites, rate, target ? "p99 < 1 s, idle CPU < 0.2% per site" : "(no target)", r.latency.p50,
               r.latency.p99, r.latency.delivered, r.writing.written, r.writing.rate, r.idleCpuPct, r.memPerSiteMb,
               target ? (pass ? "pass" : "fail") : "-");
  }
  return 0;
}
