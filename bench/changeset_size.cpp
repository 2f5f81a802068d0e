// changeset_size (figure 3): bytes per changed row, parley vs the SQLite session changeset.
//
// A table t(id INTEGER PRIMARY KEY, c1 INTEGER) (1 column changed) or t(id INTEGER PRIMARY KEY,
// c1..c10 INTEGER) (10 columns changed) of N rows exists at a parley site and in a plain SQLite
// file. A peer site (a clone) updates those columns of every row in T transactions; the same UPDATEs run on the plain file under sqlite3session. Measured:
//   file     the size of the peer's change-set file (sync::exportChanges, as `parley export`)
//   payload  the bytes the transactions take in TCP sync chunks (sync::streamChanges)
//   wire     every byte through a loopback TCP proxy during a real sync of those changes,
//            both directions (auth, hellos, RPC framing, acknowledgements included)
//   session  sqlite3session_changeset() of the same UPDATEs
// all divided by N. parley's figures include each transaction's dot, HLC and causal context,
// and each write's before-image and base dots.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"

namespace {

struct Case {
  std::int64_t rows, txns;
  int columns;
};

struct Sizes {
  double file = 0, payload = 0, wire = 0, session = 0;
};

// The table has exactly the columns a case changes.
std::string tableSql(const Case& c) {
  std::string sql = "CREATE TABLE t(id INTEGER PRIMARY KEY";
  for (int k = 1; k <= c.columns; ++k) sql += fmt::format(", c{} INTEGER", k);
  return sql + ")";
}

std::string zeros(const Case& c) {
  std::string values = "0";
  for (int k = 2; k <= c.columns; ++k) values += ", 0";
  return values;
}

std::string update(const Case& c, std::int64_t i) {
  std::string set;
  for (int k = 1; k <= c.columns; ++k) set += fmt::format("{}c{} = c{} + 1", k > 1 ? ", " : "", k, k);
  std::int64_t per = (c.rows + c.txns - 1) / c.txns;
  return fmt::format("UPDATE t SET {} WHERE id > {} AND id <= {}", set, i * per, (i + 1) * per);
}

int listenLoopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd, 1) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    bench::fail("proxy: cannot listen on loopback");
  *port = ntohs(a.sin_port);
  return fd;
}

int connectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) bench::fail("proxy: cannot connect");
  return fd;
}

// Forwards one connection from a loopback port to `upstream`, counting bytes both ways.
class CountingProxy {
 public:
  explicit CountingProxy(int upstream) : listener_(listenLoopback(&port_)), upstream_(upstream) {
    thread_ = std::thread([this] { run(); });
  }
  ~CountingProxy() {
    thread_.join();
    close(listener_);
  }
  int port() const { return port_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void run() {
    int a = accept(listener_, nullptr, nullptr);
    int b = connectLoopback(upstream_);
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[1 << 16];
    for (bool open = true; open;) {
      if (poll(fds, 2, 10000) <= 0) break;
      for (int i = 0; i < 2 && open; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0 || write(fds[1 - i].fd, buf, static_cast<std::size_t>(n)) != n) open = false;
        else bytes_ += static_cast<std::uint64_t>(n);
      }
    }
    close(a);
    close(b);
  }
  int port_ = 0;
  int listener_;
  int upstream_;
  std::atomic<std::uint64_t> bytes_{0};
  std::thread thread_;
};

double wireBytes(parley::Site& from, parley::Site& to) {
  parley::sync::TcpOptions tcp{"0159438a9235d6abde38e49fb98944660d067d6b9b03d8a8f4ee4e522feb62cb", std::chrono::seconds(60), parley::sync::kChunkBytes, {}};
  auto server = bench::ok(parley::sync::Server::start(from, "127.0.0.1:0", tcp));
  std::uint64_t bytes = 0;
  {
    CountingProxy proxy(server->port());
    auto r = bench::ok(parley::sync::syncTcp(to, fmt::format("127.0.0.1:{}", proxy.port()), tcp));
    if (r.received.applied == 0) bench::fail("wire: the sync applied nothing");
    server->stop();
    bytes = proxy.bytes();
  }
  return static_cast<double>(bytes);
}

Sizes measure(const Case& c, const std::string& dir) {
  Sizes s;
  double n = static_cast<double>(c.rows);
  std::string plainPath = dir + "/size-plain.db";
  bench::removeDb(plainPath);
  bench::PlainDb plain(plainPath);
  plain.exec(tableSql(c));
  plain.exec(bench::fillSql("t", c.rows, zeros(c)));
  auto cs = bench::recordChangeset(plain, "t", [&] {
    for (std::int64_t i = 0; i < c.txns; ++i) plain.exec(update(c, i));
  });
  s.session = static_cast<double>(cs.bytes.size()) / n;

  bench::SiteEnv env;
  auto origin = bench::createSite(env, dir + "/size-origin.db", "origin");
  bench::exec(*origin, tableSql(c));
  bench::exec(*origin, bench::fillSql("t", c.rows, zeros(c)));
  bench::check(origin->track("t"));
  auto peer = bench::cloneSite(env, *origin, dir + "/size-peer.db", "peer");
  for (std::int64_t i = 0; i < c.txns; ++i) bench::exec(*peer, update(c, i));

  std::string file = dir + "/size.pcs";
  std::filesystem::remove(file);
  s.file = static_cast<double>(bench::ok(parley::sync::exportChanges(*peer, file, origin->vector().value())).bytes) / n;
  parley::sync::StreamTotals totals;
  bench::check(parley::sync::streamChanges(*peer, origin->vector().value(), [](parley::sync::Chunk&&) { return parley::Status::ok(); },
                                           &totals));
  s.payload = static_cast<double>(totals.bytes) / n;
  s.wire = wireBytes(*peer, *origin) / n;
  return s;
}

void report(const Case& c, const Sizes& s, bool target) {
  std::string name = fmt::format("{} column{}, {} rows in {} txn{}", c.columns, c.columns > 1 ? "s" : "", c.rows, c.txns,
                                 c.txns > 1 ? "s" : "");
  std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %.2fx |\n", name.c_str(), s.session, s.file, s.payload, s.wire,
              s.file / s.session);
  std::string measured = fmt::format("file {:.1f} B, wire {:.1f} B, session {:.1f} B ({:.2f}x)", s.file, s.wire, s.session,
                                     s.file / s.session);
  if (target) bench::summary("3 size: " + name, "<= 40 B/row (1 column)", measured, s.file <= 40 && s.wire <= 40);
  else bench::summary("3 size: " + name, "(no target)", measured, std::nullopt);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv, {{"rows", "100000"}, {"txns", "100"}, {"single-rows", "10000"}, {"dir", "/tmp/parley-bench"}},
                     "[--rows N] [--txns T] [--single-rows S] [--dir D]");
  if (flags.smoke()) {
    flags.fallback("rows", "2000");
    flags.fallback("txns", "2");
    flags.fallback("single-rows", "100");
  }
  std::string dir = bench::workDir(flags.text("dir"));
  std::int64_t rows = flags.integer("rows"), txns = flags.integer("txns"), single = flags.integer("single-rows");
  std::printf("| change (bytes per changed row) | session changeset | parley file | parley chunk payload "
              "| parley on the wire | file / session |\n|---|---:|---:|---:|---:|---:|\n");
  Case one{rows, txns, 1}, ten{rows, txns, 10}, each{single, single, 1};
  report(one, measure(one, dir), true);
  report(ten, measure(ten, dir), false);
  report(each, measure(each, dir), false);
  std::printf("\nwire: all bytes through a loopback proxy during one TCP sync (both directions, handshake included)."
              " The target applies to the file and the wire.\n");
  return 0;
}
