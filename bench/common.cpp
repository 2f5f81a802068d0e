// Helpers shared by the benchmark programs (common.hpp).
#include "common.hpp"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/resource.h>

#include <cstring>

#include <algorithm>
#include <cmath>

namespace bench {

Flags::Flags(int argc, char** argv, std::map<std::string, std::string> known, const std::string& usage)
    : values_(std::move(known)), usage_(usage) {
  programName() = std::filesystem::path(argv[0]).filename().string();
  auto bad = [&](const std::string& why) {
    std::fprintf(stderr, "%s: %s\nusage: %s [--smoke] %s\n", programName().c_str(), why.c_str(),
                 programName().c_str(), usage_.c_str());
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--smoke") {
      smoke_ = true;
      continue;
    }
    if (flag == "--help" || flag == "-h") {
      std::printf("usage: %s [--smoke] %s\n", programName().c_str(), usage_.c_str());
      std::exit(0);
    }
    if (!flag.starts_with("--") || !values_.count(flag.substr(2))) bad("unknown option " + flag);
    if (i + 1 >= argc) bad(flag + " needs a value");
    values_[flag.substr(2)] = argv[++i];
    given_[flag.substr(2)] = true;
  }
}

std::int64_t Flags::integer(const std::string& name) const {
  const std::string& v = values_.at(name);
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1) {
    std::fprintf(stderr, "%s: --%s wants a positive integer, got '%s'\n", programName().c_str(), name.c_str(), v.c_str());
    std::exit(2);
  }
  return n;
}

void Flags::fallback(const std::string& name, const std::string& value) {
  if (!given_.count(name)) values_[name] = value;
}

std::string workDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(fmt::format("cannot create {}: {}", dir, ec.message()));
  return dir;
}

PlainDb::PlainDb(const std::string& path) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) fail(fmt::format("{}: {}", path, sqlite3_errmsg(db_)));
  // The settings a parley site gives its connection (Site::Impl::configure), page cache
  // included, so that side-by-side figures compare the same SQLite.
  exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536");
}

PlainDb::~PlainDb() { sqlite3_close(db_); }

void PlainDb::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "error";
    sqlite3_free(err);
    fail("plain SQLite: " + message);
  }
}

Changeset recordChangeset(PlainDb& db, const std::string& table, const std::function<void()>& work) {
  sqlite3_session* session = nullptr;
  if (sqlite3session_create(db.handle(), "main", &session) != SQLITE_OK) fail("sqlite3session_create failed");
  if (sqlite3session_attach(session, table.c_str()) != SQLITE_OK) fail("sqlite3session_attach failed");
  work();
  int size = 0;
  void* data = nullptr;
  if (sqlite3session_changeset(session, &size, &data) != SQLITE_OK) fail("sqlite3session_changeset failed");
  Changeset cs;
  cs.bytes.assign(static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
  sqlite3_free(data);
  sqlite3session_delete(session);
  return cs;
}

namespace {

struct ConflictCount {
  int onConflict;
  std::int64_t conflicts = 0;
};

int onChangesetConflict(void* ctx, int kind, sqlite3_changeset_iter*) {
  auto* c = static_cast<ConflictCount*>(ctx);
  ++c->conflicts;
  if (kind == SQLITE_CHANGESET_DATA || kind == SQLITE_CHANGESET_CONFLICT) return c->onConflict;
  return SQLITE_CHANGESET_OMIT;
}

}  // namespace

std::int64_t applyChangeset(PlainDb& db, const Changeset& cs, int onConflict) {
  ConflictCount count{onConflict};
  int rc = sqlite3changeset_apply(db.handle(), static_cast<int>(cs.bytes.size()), const_cast<unsigned char*>(cs.bytes.data()),
                                  nullptr, onChangesetConflict, &count);
  if (rc != SQLITE_OK) fail(fmt::format("sqlite3changeset_apply: {}", sqlite3_errstr(rc)));
  return count.conflicts;
}

std::unique_ptr<parley::Site> createSite(SiteEnv& env, const std::string& path, const std::string& name) {
  removeDb(path);
  return ok(parley::Site::create(path, {name, &env.ids, {}}, env.options()));
}

std::unique_ptr<parley::Site> cloneSite(SiteEnv& env, parley::Site& from, const std::string& path, const std::string& name) {
  removeDb(path);
  return ok(from.clone(path, {name, &env.ids, {}}, env.options()));
}

void exec(parley::Site& site, const std::string& sql) {
  auto r = site.exec(sql);
  if (!r) die(r.status());
}

std::string fillSql(const std::string& table, std::int64_t rows, const std::string& values) {
  return fmt::format(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) "
      "INSERT INTO {} SELECT x, {} FROM c",
      rows, table, values);
}

double percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

double peakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

namespace {

// A "Vm...:" line of /proc/self/status, in kB.
double statusKb(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) fail("cannot read /proc/self/status");
  char line[256];
  double kb = -1;
  std::size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') kb = std::strtod(line + n + 1, nullptr);
  std::fclose(f);
  if (kb < 0) fail(fmt::format("/proc/self/status has no {}", field));
  return kb;
}

}  // namespace

MemoryGrowth::MemoryGrowth() {
  malloc_trim(0);
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f || std::fputs("5", f) < 0 || std::fclose(f) != 0) fail("cannot reset the peak resident set (/proc/self/clear_refs)");
  startKb_ = statusKb("VmRSS");
}

double MemoryGrowth::mb() const { return (statusKb("VmHWM") - startKb_) / 1024.0; }

void summary(const std::string& figure, const std::string& target, const std::string& measured,
             std::optional<bool> pass) {
  std::printf("@summary|%s|%s|%s|%s\n", figure.c_str(), target.c_str(), measured.c_str(),
              !pass ? "-" : *pass ? "pass" : "FAIL");
}

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    fail("cannot find a free loopback port");
  close(fd);
  return ntohs(a.sin_port);
}

bool accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace bench
