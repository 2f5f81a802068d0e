// parley-faultproxy's own tests: its fault plan against the probabilities and schedule it was
// given, and the proxy binary (PARLEY_FAULTPROXY) against the one thing it must never do:
// change the bytes it forwards.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fault_plan.hpp"

namespace {

using namespace parley::faultproxy;

// A fresh seed per run, or PARLEY_FAULTPROXY_SEED's to replay one; tests print it on failure.
std::uint64_t testSeed() {
  if (const char* s = std::getenv("PARLEY_FAULTPROXY_SEED")) return std::stoull(s);
  return std::random_device{}();
}

std::vector<Kind> decisions(std::uint64_t seed, int n) {
  FaultOptions o;
  o.seed = seed;
  o.drop = o.truncate = o.stall = o.hang = 0.05;
  FaultPlan plan(o);
  std::vector<Kind> out;
  for (int i = 0; i < n; ++i) out.push_back(plan.onPiece(100).kind);
  return out;
}

TEST_CASE("the same seed gives the same fault decisions and another seed different ones",
          "[faultproxy]") {
  CHECK(decisions(7, 2000) == decisions(7, 2000));
  CHECK(decisions(7, 2000) != decisions(8, 2000));
}

TEST_CASE("each fault fires at its probability, within five standard deviations", "[faultproxy]") {
  std::uint64_t seed = testSeed();
  INFO("seed " << seed << " (replay: PARLEY_FAULTPROXY_SEED=" << seed << ")");
  FaultOptions o;
  o.seed = seed;
  o.drop = 0.02;
  o.truncate = 0.05;
  o.stall = 0.1;
  o.delayMs = Millis(40);
  FaultPlan plan(o);
  const int n = 100000;
  int drops = 0, truncates = 0, stalls = 0;
  for (int i = 0; i < n; ++i) {
    Decision d = plan.onPiece(1000);
    CHECK(d.delay <= o.delayMs);
    drops += d.kind == Kind::kDrop;
    truncates += d.kind == Kind::kTruncate;
    stalls += d.kind == Kind::kStall;
    if (d.kind == Kind::kTruncate) CHECK(d.keep < 1000);
  }
  // Faults are tried in order: a truncate needs no drop first, a stall neither.
  auto near = [n](int count, double p) {
    return std::abs(count - n * p) <= 5 * std::sqrt(n * p * (1 - p));  // by chance, one of the three: 1 run in 600k
  };
  CHECK(near(drops, 0.02));
  CHECK(near(truncates, 0.98 * 0.05));
  CHECK(near(stalls, 0.98 * 0.95 * 0.1));
}

TEST_CASE("a healed plan forwards every piece at once, and resuming brings faults back",
          "[faultproxy]") {
  FaultOptions o;
  o.drop = 1;
  o.delayMs = Millis(100);
  FaultPlan plan(o);
  plan.heal();
  for (int i = 0; i < 100; ++i) {
    Decision d = plan.onPiece(10);
    REQUIRE(d.kind == Kind::kForward);
    REQUIRE(d.delay == Millis(0));
  }
  plan.resume();
  CHECK(plan.onPiece(10).kind == Kind::kDrop);
}

TEST_CASE("link cuts last cut-ms and come every cut-every-ms on average", "[faultproxy]") {
  FaultOptions o;
  o.seed = 3;
  o.cutEvery = Millis(1000);
  o.cutMs = Millis(200);
  FaultPlan plan(o);
  auto start = Clock::now();
  int cuts = 0, cutMillis = 0;
  bool was = false;
  const int totalMs = 200000;
  for (int ms = 0; ms < totalMs; ++ms) {
    bool cut = plan.cutAt(start + Millis(ms));
    cuts += cut && !was;
    cutMillis += cut;
    was = cut;
  }
  INFO(cuts << " cuts, " << cutMillis << " ms cut");
  CHECK(cutMillis ==
        Approx(cuts * 200).margin(200));  // each lasts 200 ms (the last may be clipped)
  CHECK(cuts == Approx(totalMs / 1200.0).epsilon(0.15));  // a cut every 1000 ms + 200 ms of cut
}

TEST_CASE("bad fault options are refused with a line saying why", "[faultproxy]") {
  FaultOptions o;
  o.drop = 1.5;
  CHECK(checkOptions(o).find("between 0 and 1") != std::string::npos);
  o = FaultOptions{};
  o.cutEvery = Millis(10);
  o.cutMs = Millis(0);
  CHECK(!checkOptions(o).empty());
  CHECK(checkOptions(FaultOptions{}).empty());
}

// --- the binary ---

int listenLoopback(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int connectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  for (int i = 0; i < 100; ++i) {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    ::usleep(20000);
  }
  FAIL("cannot connect to port " << port);
  return -1;
}

void sendAll(int fd, const std::string& bytes) {
  for (std::size_t off = 0; off < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

std::string readAll(int fd) {
  std::string out;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
    out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

TEST_CASE(
    "through the proxy with latency and stalls but no losses, both directions arrive byte for byte",
    "[faultproxy]") {
  std::uint64_t seed = testSeed();
  INFO("seed " << seed << " (replay: PARLEY_FAULTPROXY_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  std::string up(3 << 20, '\0'), down(2 << 20, '\0');
  for (auto& c : up) c = static_cast<char>(rng());
  for (auto& c : down) c = static_cast<char>(rng());

  int targetPort = 0;
  int target = listenLoopback(targetPort);
  // The proxy listens on a port we pick by binding and releasing it.
  int probePort = 0;
  ::close(listenLoopback(probePort));
  pid_t proxy = ::fork();
  if (proxy == 0) {
    std::string listen = "127.0.0.1:" + std::to_string(probePort),
                to = "127.0.0.1:" + std::to_string(targetPort);
    std::string s = std::to_string(seed);
    ::freopen("/dev/null", "w", stdout);
    ::execl(PARLEY_FAULTPROXY, PARLEY_FAULTPROXY, "--listen", listen.c_str(), "--target",
            to.c_str(), "--seed", s.c_str(), "--delay-ms", "5", "--stall", "0.05", "--stall-ms",
            "50", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string atTarget, atClient;
  std::thread server([&] {  // reads everything, then answers and half-closes
    int c = ::accept(target, nullptr, nullptr);
    std::thread writer([&] {
      sendAll(c, down);
      ::shutdown(c, SHUT_WR);
    });
    atTarget = readAll(c);
    writer.join();
    ::close(c);
  });
  int client = connectLoopback(probePort);
  std::thread writer([&] {
    sendAll(client, up);
    ::shutdown(client, SHUT_WR);
  });
  atClient = readAll(client);
  writer.join();
  server.join();
  ::close(client);
  ::close(target);
  ::kill(proxy, SIGTERM);
  int status = 0;
  ::waitpid(proxy, &status, 0);
  CHECK(atTarget == up);
  CHECK(atClient == down);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace
