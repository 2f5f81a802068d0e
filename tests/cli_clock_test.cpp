// Time through the parley command line (issue 22): a site that heard from a peer whose clock
// is a day ahead keeps its HLC floor through `compact`, and clock skew beyond the bound is
// reported by `import`, `sync` (files and TCP), the `serve` log and `status`.
//
// The command line reads the real clock, so the site whose clock runs ahead is written through
// the library, with a clock a day fast, in this process; everything else runs the built binary.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/cli_process.hpp"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using namespace parley::test::cli;
using Steady = std::chrono::steady_clock;

constexpr std::uint64_t kDayMs = 24ULL * 3600 * 1000;
const Vars kWithSecret{{"PARLEY_SECRET", "76e160faa5d1bf3931cafce54f613582a71c4db1b7f8e62d9cd22a4cb0808d28"}};

// A parley process in the background, killed on destruction.
class Background {
 public:
  Background(pid_t pid, fs::path out) : pid_(pid), out_(std::move(out)) {}
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string out() const { return readFile(out_); }
  bool waitForOutput(const std::string& needle, double seconds) {
    auto start = Steady::now();
    while (secondsSince(start) < seconds) {
      if (out().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  pid_t pid_;
  fs::path out_;
};

// A fresh directory for one test; every command runs in it.
class Sandbox {
 public:
  Sandbox() {
    std::string tmpl = (fs::temp_directory_path() / "parley-clock-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
  }
  ~Sandbox() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  Run run(const std::vector<std::string>& args, const Vars& vars = {}) {
    auto [out, err] = ioFiles();
    pid_t pid = spawn(dir_, args, vars, out, err);
    auto code = waitExit(pid, 30);
    if (!code) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    Run r{code.value_or(-1), readFile(out), readFile(err)};
    INFO("parley " << join(args) << "\n" << r);
    REQUIRE(code.has_value());
    return r;
  }
  Run ok(const std::vector<std::string>& args, const Vars& vars = {}) {
    Run r = run(args, vars);
    INFO("parley " << join(args) << "\n" << r);
    REQUIRE(r.code == 0);
    return r;
  }
  // `parley serve SITE` on a port the kernel picks; returns the process and its tcp:// URL.
  std::pair<std::unique_ptr<Background>, std::string> serve(const std::string& site) {
    auto [out, err] = ioFiles();
    auto process = std::make_unique<Background>(
        spawn(dir_, {"serve", site, "--listen", "127.0.0.1:0"}, kWithSecret, out, err), out);
    REQUIRE(process->waitForOutput("\n", 10));
    std::string first = process->out();
    auto at = first.find(" on port ");
    REQUIRE(at != std::string::npos);
    return {std::move(process),
            "tcp://127.0.0.1:" + std::to_string(std::stoi(first.substr(at + 9)))};
  }

 private:
  static std::string join(const std::vector<std::string>& args) {
    std::string out;
    for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
    return out;
  }
  std::pair<fs::path, fs::path> ioFiles() {
    ++runs_;
    return {dir_ / (std::to_string(runs_) + ".out"), dir_ / (std::to_string(runs_) + ".err")};
  }
  fs::path dir_;
  int runs_ = 0;
};

// The real clock, running `aheadMs` fast.
class AheadClock final : public parley::Clock {
 public:
  explicit AheadClock(std::uint64_t aheadMs) : aheadMs_(aheadMs) {}
  std::uint64_t nowMillis() override { return real_.nowMillis() + aheadMs_; }

 private:
  parley::SystemClock real_;
  std::uint64_t aheadMs_;
};

// Runs `sql` at the site file `path` through the library, its clock a day fast; returns the
// site's id.
std::string writeADayAhead(const std::string& path, const std::string& sql) {
  AheadClock clock(kDayMs);
  auto site = parley::Site::open(path, parley::SiteOptions{&clock, parley::resolvers::standard()});
  INFO(site.status().toString());
  REQUIRE(site.ok());
  auto r = (*site)->exec(sql);
  INFO(r.status().toString());
  REQUIRE(r.ok());
  return (*site)->id().hex();
}

// Site a (table t tracked), and fast and c cloned from it; fast wrote a day ahead.
struct Cluster {
  std::string fastId;
};

Cluster makeCluster(Sandbox& sb) {
  sb.ok({"init", "a.db", "--name", "a"});
  sb.ok({"exec", "a.db", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"});
  sb.ok({"track", "a.db", "t"});
  sb.ok({"clone", "a.db", "fast.db", "--name", "fast"});
  sb.ok({"clone", "a.db", "c.db", "--name", "c"});
  return {writeADayAhead(sb.path("fast.db"), "INSERT INTO t VALUES (1, 'from tomorrow')")};
}

// The skew warning a command prints about site fast: once, naming it and the remedy.
void requireSkewWarning(const Run& r, const std::string& fastId) {
  INFO(r);
  std::string shortId = fastId.substr(0, 8);
  CHECK_THAT(r.err,
             Contains("warning: clock skew: transactions of fast (" + shortId + ") arrive 24.0 h"));
  CHECK_THAT(r.err, Contains("fix the clock at fast (" + shortId +
                             "): its writes win lww conflicts until real time catches up"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

}  // namespace

TEST_CASE(
    "parley: a site that heard from a peer a day ahead keeps its clock floor through compact, and "
    "a third "
    "site still accepts its writes",
    "[cli][clock]") {
  Sandbox sb;
  makeCluster(sb);
  sb.ok({"export", "fast.db", "--out", "fast.changes"});
  sb.ok({"import", "a.db", "fast.changes"});
  sb.ok({"exec", "a.db", "UPDATE t SET v = 'seen at a' WHERE id = 1"});  // stamped after tomorrow
  for (int round = 0; round < 2; ++round)
    for (auto [x, y] : {std::pair{"a.db", "fast.db"}, {"a.db", "c.db"}, {"fast.db", "c.db"}})
      sb.ok({"sync", x, y});
  sb.ok({"compact", "a.db"});
  REQUIRE(parseJson(sb.ok({"status", "a.db", "--json"}).out).get<int>("log.transactions") == 0);

  sb.ok({"exec", "a.db", "UPDATE t SET v = 'after compact' WHERE id = 1"});
  Run sync = sb.run({"sync", "a.db", "c.db"});  // refused before: "its origin is not a parley site"
  INFO(sync);
  CHECK(sync.code == 0);
  CHECK_THAT(sb.ok({"exec", "c.db", "SELECT v FROM t", "--csv"}).out, Contains("after compact"));
}

TEST_CASE(
    "parley import reports a change set stamped a day ahead, and status shows the skew per origin "
    "until it "
    "passes",
    "[cli][clock][skew]") {
  Sandbox sb;
  Cluster cluster = makeCluster(sb);
  sb.ok({"export", "fast.db", "--out", "fast.changes"});
  Run imported = sb.ok({"import", "a.db", "fast.changes"});
  requireSkewWarning(imported, cluster.fastId);
  CHECK_THAT(imported.out, Contains("received 1"));  // accepted, not refused

  Run text = sb.ok({"status", "a.db"});
  CHECK_THAT(text.out, Contains("clock skew") && Contains(cluster.fastId.substr(0, 8)) &&
                           Contains("Fix the clock at the site") && Contains("24.0 h"));
  Json status = parseJson(sb.ok({"status", "a.db", "--json"}).out);
  auto skews = status.get_child("clock_skew");
  REQUIRE(skews.size() == 1);
  const Json& r = skews.begin()->second;
  CHECK(r.get<std::string>("site") == cluster.fastId);
  CHECK(r.get<std::string>("source") == cluster.fastId);
  CHECK(r.get<std::uint64_t>("greatest_ahead_ms") > kDayMs - 60'000);
  CHECK(r.get<std::uint64_t>("greatest_ahead_ms") <= kDayMs);
  CHECK(r.get<std::uint64_t>("ahead_now_ms") > kDayMs - 60'000);
  CHECK(r.get<std::uint64_t>("seen_ms") > 0);

  // Re-importing applies nothing and reports nothing; a site that never heard of it shows none.
  Run again = sb.ok({"import", "a.db", "fast.changes"});
  CHECK(again.err.empty());
  CHECK(parseJson(sb.ok({"status", "c.db", "--json"}).out).get_child("clock_skew").empty());
  CHECK_THAT(sb.ok({"status", "c.db"}).out, !Contains("clock skew"));
}

TEST_CASE("parley sync between site files reports skew beyond the bound, naming the site",
          "[cli][clock][skew]") {
  Sandbox sb;
  Cluster cluster = makeCluster(sb);
  Run r = sb.ok({"sync", "a.db", "fast.db"});
  requireSkewWarning(r, cluster.fastId);
  CHECK_THAT(r.err, Contains("ahead of a's clock"));
}

TEST_CASE("parley sync over TCP and the parley serve log report skew beyond the bound",
          "[cli][clock][skew]") {
  Sandbox sb;
  Cluster cluster = makeCluster(sb);

  SECTION("the syncing side") {
    auto [server, url] = sb.serve("fast.db");
    requireSkewWarning(sb.ok({"sync", "a.db", url}, kWithSecret), cluster.fastId);
  }
  SECTION("the serving side") {
    auto [server, url] = sb.serve("a.db");
    sb.ok({"sync", "fast.db", url}, kWithSecret);
    INFO(server->out());
    CHECK(server->waitForOutput(
        "warning: clock skew: transactions of " + cluster.fastId.substr(0, 8), 10));
    CHECK_THAT(server->out(), Contains("fix the clock at " + cluster.fastId.substr(0, 8)));
  }
}
