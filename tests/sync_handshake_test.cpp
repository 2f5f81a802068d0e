// A real TCP sync client's bytes, recorded through a proxy, replayed against a fresh server
// side in-process (fuzz/handshake_replay.hpp): what fuzz_handshake does to every input.
//
// Pins that the replay reaches as deep as a real sync (login, hello, pull, push, acknowledge:
// the replayed server ends up holding the client's transactions), that the same bytes do not
// log in against a server with another nonce and then change nothing, and writes
// fuzz_handshake's seed corpus: PARLEY_CORPUS_DIR=tests/fuzz/corpus build/tests/parley_tests "[corpus]".
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "fuzz/fuzz_site.hpp"
#include "fuzz/handshake_replay.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

namespace fs = std::filesystem;
using testing::Cluster;
using test::ClusterOptions;
using test::execOk;

// Forwards one TCP connection to `port` on 127.0.0.1 and records what the client sent.
class RecordingProxy {
 public:
  explicit RecordingProxy(int upstreamPort) : upstream_(upstreamPort) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in addr = loopback(0);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serveOne(); });
  }
  ~RecordingProxy() {
    if (thread_.joinable()) {
      ::shutdown(listener_, SHUT_RDWR);
      thread_.join();
    }
    ::close(listener_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // What the client sent, once it has closed its connection.
  std::string recorded() {
    if (thread_.joinable()) thread_.join();
    return recorded_;
  }

 private:
  static sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    return addr;
  }
  // Copies from -> to until end of stream, then passes the end on.
  static void pump(int from, int to, std::string* record) {
    char buffer[1 << 14];
    while (true) {
      ssize_t n = ::read(from, buffer, sizeof buffer);
      if (n <= 0) break;
      if (record) record->append(buffer, static_cast<std::size_t>(n));
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(to, buffer + done, static_cast<std::size_t>(n - done));
        if (w <= 0) return;
        done += w;
      }
    }
    ::shutdown(to, SHUT_WR);
  }
  void serveOne() {
    int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) return;
    int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = loopback(upstream_);
    if (server >= 0 && ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      std::thread back([&] { pump(server, client, nullptr); });
      pump(client, server, &recorded_);
      back.join();
    }
    ::close(client);
    if (server >= 0) ::close(server);
  }

  int upstream_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string recorded_;
};

// The site fuzz_handshake serves (fuzz/fuzz_site.hpp).
struct Served : fuzz::FuzzSite {
  explicit Served(std::string name = "server") { REQUIRE_OK(open(std::move(name))); }
};

sync::TcpOptions fixedOptions(std::string secret = fuzz::kSecret) {
  sync::TcpOptions o;
  o.secret = std::move(secret);
  o.nonces = test::fixedNonce;
  // The fuzzed layer is the login and session inside the channel: record it in plaintext.
  o.insecure = true;
  return o;
}

// A client site of the fuzz schema holding a few transactions.
Cluster clientWithWrites() {
  ClusterOptions o;
  o.schema = fuzz::kSchema;
  o.tracked = {};
  Cluster c(test::clusterOptions(1, o));
  for (const auto& [table, config] : fuzz::kTables) {
    std::optional<TableConfig> parsed;
    if (!config.empty()) parsed = *TableConfig::parse(config);
    REQUIRE_OK(c[0].track(table, parsed));
  }
  execOk(c[0], "INSERT INTO t VALUES (1, 'one', X'0102'), (2, 2.5, NULL)");
  execOk(c[0], "BEGIN; INSERT INTO u VALUES ('k', 1, 10, 'n'); UPDATE t SET a = 'uno' WHERE id = 1; COMMIT");
  execOk(c[0], "DELETE FROM t WHERE id = 2");
  return c;
}

// Runs `client` (a sync or clone) through a proxy in front of a fresh served site; returns
// what it sent.
template <class F>
std::string record(F&& client) {
  Served served;
  auto server = sync::Server::start(*served.site, "127.0.0.1:0", fixedOptions());
  REQUIRE_OK(server);
  RecordingProxy proxy((*server)->port());
  client(proxy.address());
  std::string bytes = proxy.recorded();
  (*server)->stop();
  return bytes;
}

test::ReplayResult replay(Site& site, const sync::TcpOptions& options, const std::string& bytes) {
  kj::EventLoop loop;
  kj::WaitScope waitScope(loop);
  return test::replayHandshake(waitScope, site, options, bytes);
}

std::optional<fs::path> corpusDir() {
  if (const char* env = std::getenv("PARLEY_CORPUS_DIR")) return fs::path(env) / "handshake";
  return std::nullopt;
}

void writeSeed(const fs::path& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("a recorded sync client's bytes replayed in-process log in and push the client's transactions",
          "[sync][tcp][handshake]") {
  Cluster client = clientWithWrites();
  std::string bytes = record([&](const std::string& address) {
    REQUIRE_OK(sync::syncTcp(client[0], address, fixedOptions()));
  });
  REQUIRE(bytes.size() > 100);
  CHECK(test::capnpMessages(bytes).size() >= 5);

  Served fresh;
  auto result = replay(*fresh.site, fixedOptions(), bytes);
  INFO("server log: " << (result.log.empty() ? "" : result.log.back()));
  CHECK(result.granted);
  CHECK(fresh.site->vector().value() == client[0].vector().value());
  CHECK(test::tableContents(*fresh.site, "t") == test::tableContents(client[0], "t"));
}

TEST_CASE("a replayed handshake against another nonce or secret does not log in and changes nothing",
          "[sync][tcp][handshake]") {
  Cluster client = clientWithWrites();
  std::string bytes = record([&](const std::string& address) {
    REQUIRE_OK(sync::syncTcp(client[0], address, fixedOptions()));
  });
  sync::TcpOptions otherNonce = fixedOptions();
  otherNonce.nonces = nullptr;  // OpenSSL's, as a real server
  for (const sync::TcpOptions& options : {otherNonce, fixedOptions("2a38ea589ea53942aaadc5460a48cf8e43f1092108d181a371451050758aaf51")}) {
    Served fresh;
    VersionVector before = fresh.site->vector().value();
    auto result = replay(*fresh.site, options, bytes);
    CHECK_FALSE(result.granted);
    CHECK(fresh.site->vector().value() == before);
    CHECK(test::tableContents(*fresh.site, "t").empty());
  }
}

TEST_CASE("a peer's name holding a newline and a terminal escape is shown with them as '?', by TCP and by file",
          "[sync][tcp][handshake]") {
  const std::string evil = "evil\n\x1b[2Jname";
  Served server(evil);
  execOk(*server.site, "INSERT INTO t VALUES (1, 'x', 1)");
  Cluster client = clientWithWrites();
  {
    auto running = sync::Server::start(*server.site, "127.0.0.1:0", fixedOptions());
    REQUIRE_OK(running);
    auto synced = sync::syncTcp(client[0], "127.0.0.1:" + std::to_string((*running)->port()), fixedOptions());
    REQUIRE_OK(synced);
    CHECK(synced->peer.name == "evil??[2Jname");
  }
  test::TempDir dir;
  REQUIRE_OK(sync::exportChanges(*server.site, dir.file("evil.parley"), {}));
  auto inspected = sync::inspectChanges(dir.file("evil.parley"));
  REQUIRE_OK(inspected);
  CHECK(inspected->originName == "evil??[2Jname");
}

TEST_CASE("fuzz_handshake's seed corpus is recorded from real clients", "[.][corpus]") {
  // PARLEY_CORPUS_DIR=tests/fuzz/corpus build/tests/parley_tests "[corpus]"
  auto dir = corpusDir();
  if (!dir) {
    WARN("PARLEY_CORPUS_DIR is not set: no corpus written");
    return;
  }
  fs::create_directories(*dir);
  Cluster client = clientWithWrites();
  writeSeed(*dir, "sync-push", record([&](const std::string& address) {
              REQUIRE_OK(sync::syncTcp(client[0], address, fixedOptions()));
            }));
  ClusterOptions empty;
  empty.schema = fuzz::kSchema;
  empty.tracked = {};
  Cluster idle(test::clusterOptions(1, empty));
  writeSeed(*dir, "sync-schema-differs", record([&](const std::string& address) {
              CHECK_FALSE(sync::syncTcp(idle[0], address, fixedOptions()).ok());
            }));
  writeSeed(*dir, "539e915a40033497f3a93ce662c8c1940c84503361223312e6fab7c5f3a3fdda", record([&](const std::string& address) {
              CHECK_FALSE(sync::syncTcp(client[0], address, fixedOptions("2a38ea589ea53942aaadc5460a48cf8e43f1092108d181a371451050758aaf51")).ok());
            }));
  test::TempDir tmp;
  test::FixedIdSource ids(test::testSiteId(9));
  ManualClock clock;
  writeSeed(*dir, "clone", record([&](const std::string& address) {
              auto cloned = sync::cloneTcp(address, tmp.file("clone.parley"),
                                           CreateOptions{"clone", &ids, test::testClusterId()},
                                           SiteOptions{&clock, resolvers::lwwEverywhere()}, fixedOptions());
              (void)cloned;  // a served :memory: site may not snapshot; the bytes are what matter
            }));
}

}  // namespace parley
