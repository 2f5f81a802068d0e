// parley-faultproxy: a TCP proxy that injects seeded network faults, for testing sync between
// real processes. It listens on one address and forwards each connection to a target; per
// piece of data it may drop the connection, truncate it, stall one direction, delay it or hang
// it for good (sockets left open, nothing forwarded: a peer gone silent), and
// on a schedule it cuts the whole link (closes every connection, refuses new ones) for a while.
//
// SIGUSR1 heals (no more faults; stalled and delayed data flows at once), SIGUSR2 resumes the
// faults, SIGINT/SIGTERM stop it. It prints one line per fault, and a totals line on every
// heal, resume and stop:
//   totals: connections=12 refused=3 drops=2 truncates=1 stalls=4 hangs=0 cuts=1 bytes=123456
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <list>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "fault_plan.hpp"
#include "proxy_link.hpp"

namespace po = boost::program_options;
using namespace parley::faultproxy;

namespace {

std::atomic<int> healSignals{0}, resumeSignals{0};
std::atomic<bool> stopRequested{false};

struct Fail {
  std::string message;
};

// "HOST:PORT" resolved to an IPv4/IPv6 socket address.
addrinfo* resolve(const std::string& address, bool passive) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw Fail{fmt::format("expected HOST:PORT, got {}", address)};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* out = nullptr;
  int rc = ::getaddrinfo(address.substr(0, colon).c_str(), address.substr(colon + 1).c_str(),
                         &hints, &out);
  if (rc != 0) throw Fail{fmt::format("cannot resolve {}: {}", address, ::gai_strerror(rc))};
  return out;
}

void nonBlocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int listenOn(const std::string& address) {
  addrinfo* ai = resolve(address, true);
  int fd = ::socket(ai->ai_family, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = ::bind(fd, ai->ai_addr, ai->ai_addrlen);
  ::freeaddrinfo(ai);
  if (rc != 0 || ::listen(fd, 128) != 0)
    throw Fail{fmt::format("cannot listen on {}: {}", address, std::strerror(errno))};
  nonBlocking(fd);
  return fd;
}

int portOf(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
}

// Starts a non-blocking connect; -1 when it fails at once.
int connectTo(const addrinfo* target) {
  int fd = ::socket(target->ai_family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  nonBlocking(fd);
  if (::connect(fd, target->ai_addr, target->ai_addrlen) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class Proxy {
 public:
  Proxy(int listener, addrinfo* target, FaultPlan plan)
      : listener_(listener), target_(target), plan_(std::move(plan)) {}
  ~Proxy() { ::freeaddrinfo(target_); }

  void run();

 private:
  void log(const std::string& line) { std::cout << line << std::endl; }
  void printTotals() {
    log(
        fmt::format("totals: connections={} refused={} drops={} truncates={} stalls={} hangs={} "
                    "cuts={} bytes={}",
                    totals_.connections, totals_.refused, totals_.drops, totals_.truncates,
                    totals_.stalls, totals_.hangs, totals_.cuts, totals_.bytes));
  }
  void takeSignals();
  void checkCut();
  void accept();
  int pollTimeoutMs(Clock::time_point now) const;

  int listener_;
  addrinfo* target_;
  FaultPlan plan_;
  Totals totals_;
  std::list<std::unique_ptr<Link>> links_;
  std::uint64_t nextId_ = 1;
  bool cut_ = false;
  int heals_ = 0, resumes_ = 0;
};

void Proxy::takeSignals() {
  if (healSignals != heals_) {
    heals_ = healSignals;
    plan_.heal();
    log("healed: no more faults");
    printTotals();
  }
  if (resumeSignals != resumes_) {
    resumes_ = resumeSignals;
    plan_.resume();
    log("resumed: faults again");
    printTotals();
  }
}

void Proxy::checkCut() {
  bool cut = plan_.cutAt(Clock::now());
  if (cut && !cut_) {
    ++totals_.cuts;
    log(fmt::format("cut: link down for {} ms, closing {} connections",
                    plan_.options().cutMs.count(), links_.size()));
    for (auto& link : links_) link->kill(true);
  } else if (!cut && cut_) {
    log("cut over: link up");
  }
  cut_ = cut;
}

void Proxy::accept() {
  while (true) {
    int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) return;  // EAGAIN, or a connection that went away before accept
    if (cut_) {
      ++totals_.refused;
      linger l{1, 0};
      ::setsockopt(client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::close(client);
      continue;
    }
    nonBlocking(client);
    int server = connectTo(target_);
    if (server < 0) {
      log("the target refused at once");
      ::close(client);
      continue;
    }
    ++totals_.connections;
    links_.push_back(std::make_unique<Link>(nextId_++, client, server));
  }
}

int Proxy::pollTimeoutMs(Clock::time_point now) const {
  auto next = std::min(now + Millis(200), plan_.nextCutChange());
  for (const auto& link : links_) next = std::min(next, link->nextDue(plan_.healed()));
  auto ms = std::chrono::duration_cast<Millis>(next - now).count();
  return static_cast<int>(std::clamp<std::int64_t>(ms + 1, 0, 200));
}

void Proxy::run() {
  Log logLine = [this](const std::string& line) { log(line); };
  while (!stopRequested) {
    takeSignals();
    checkCut();
    links_.remove_if([](const auto& link) { return link->done(); });
    auto now = Clock::now();
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (const auto& link : links_) {
      fds.push_back({link->clientFd(), link->events(link->clientFd(), now, plan_.healed()), 0});
      fds.push_back({link->serverFd(), link->events(link->serverFd(), now, plan_.healed()), 0});
    }
    if (::poll(fds.data(), fds.size(), pollTimeoutMs(now)) < 0 && errno != EINTR)
      throw Fail{fmt::format("poll: {}", std::strerror(errno))};
    std::size_t i = 1;
    for (auto& link : links_) {
      link->handle(fds[i].revents, fds[i + 1].revents, plan_, totals_, logLine);
      i += 2;
    }
    if (fds[0].revents & POLLIN) accept();
  }
  log("stopped");
  printTotals();
}

void onSignal(int sig) {
  if (sig == SIGUSR1)
    ++healSignals;
  else if (sig == SIGUSR2)
    ++resumeSignals;
  else
    stopRequested = true;
}

FaultOptions faultOptions(const po::variables_map& vm) {
  FaultOptions o;
  o.seed = vm["seed"].as<std::uint64_t>();
  o.drop = vm["drop"].as<double>();
  o.truncate = vm["truncate"].as<double>();
  o.stall = vm["stall"].as<double>();
  o.stallMs = Millis(vm["stall-ms"].as<int>());
  o.hang = vm["hang"].as<double>();
  o.delayMs = Millis(vm["delay-ms"].as<int>());
  o.cutEvery = Millis(vm["cut-every-ms"].as<int>());
  o.cutMs = Millis(vm["cut-ms"].as<int>());
  if (auto error = checkOptions(o); !error.empty()) throw Fail{error};
  return o;
}

int run(int argc, char** argv) {
  po::options_description o(
      "usage: parley-faultproxy --listen HOST:PORT --target HOST:PORT [faults]\n\noptions");
  o.add_options()("help,h", "show this help")("listen", po::value<std::string>()->required(),
                                              "HOST:PORT to accept on (port 0: any; printed)")(
      "target", po::value<std::string>()->required(), "HOST:PORT to forward to")(
      "seed", po::value<std::uint64_t>()->default_value(1), "seed of the fault decisions")(
      "drop", po::value<double>()->default_value(0),
      "probability per piece of closing the connection")(
      "truncate", po::value<double>()->default_value(0),
      "probability per piece of forwarding a prefix, then closing")(
      "stall", po::value<double>()->default_value(0),
      "probability per piece of stalling its direction")(
      "stall-ms", po::value<int>()->default_value(2000), "how long a stall lasts")(
      "hang", po::value<double>()->default_value(0),
      "probability per piece of freezing the connection for good")(
      "delay-ms", po::value<int>()->default_value(0), "maximum extra latency per piece")(
      "cut-every-ms", po::value<int>()->default_value(0), "mean time between link cuts (0: none)")(
      "cut-ms", po::value<int>()->default_value(1000), "how long a cut lasts");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, o), vm);
    if (vm.count("help")) {
      std::cout << o;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Fail{fmt::format("{} (see --help)", e.what())};
  }
  FaultPlan plan(faultOptions(vm));
  addrinfo* target = resolve(vm["target"].as<std::string>(), false);
  int listener = listenOn(vm["listen"].as<std::string>());
  for (int sig : {SIGUSR1, SIGUSR2, SIGINT, SIGTERM}) std::signal(sig, onSignal);
  std::signal(SIGPIPE, SIG_IGN);
  std::cout << fmt::format("listening on port {}, forwarding to {}, seed {}", portOf(listener),
                           vm["target"].as<std::string>(), vm["seed"].as<std::uint64_t>())
            << std::endl;
  Proxy(listener, target, std::move(plan)).run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Fail& f) {
    std::cerr << "parley-faultproxy: " << f.message << std::endl;
    return 2;
  }
}
