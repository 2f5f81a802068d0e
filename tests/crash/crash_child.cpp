// parley-crash-child: runs one workload role of the crash tests, to be killed with SIGKILL.
//
//   parley-crash-child write SITE ORIGIN FIRST COUNT   bank transactions FIRST..FIRST+COUNT-1
//   parley-crash-child import SITE FILE                 imports a change-set file
//   parley-crash-child serve SITE                       serves TCP syncs on a free port
//   parley-crash-child sync SITE PORT                   syncs with the server on 127.0.0.1:PORT
//
// Stdout is a protocol for the driver (tests/crash/crash_test.cpp), written unbuffered:
// "ack N" after transaction N committed, "port P" once serving, "ops K syncs S" with the number
// of mutating file operations (S of them xSync) at a normal end. Env PARLEY_CRASH_AT=N kills the
// process at its Nth such operation (crash_vfs.hpp). serve runs until SIGTERM (a normal end) or
// SIGKILL. Errors: one line on stderr, exit 1.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bank_workload.hpp"
#include "crash_vfs.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::crash {
namespace {

inline constexpr const char* kSecret = "b7fc8e3f7d76462b12b7e87fbbb804ba88d73a2b0dcee89b3901b99159d3a05f";

struct Failure {
  std::string message;
};

void say(const std::string& line) {  // one write(2): survives a SIGKILL right after it
  std::string text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    std::_Exit(3);
}

template <class T>
T take(Result<T> r) {
  if (!r) throw Failure{r.status().toString()};
  return std::move(*r);
}
void check(const Status& s) {
  if (!s) throw Failure{s.toString()};
}

struct Env {
  SystemClock clock;
  SiteOptions options{&clock, resolvers::standard()};
  std::unique_ptr<Site> open(const std::string& path) { return take(Site::open(path, options)); }
};

sync::TcpOptions tcpOptions() {
  sync::TcpOptions o;
  o.secret = kSecret;
  o.timeout = std::chrono::seconds(10);
  o.chunkBytes = 4096;  // many chunks, each committed on its own: kills land between them
  return o;
}

void write(Env& env, const std::vector<std::string>& args) {
  auto site = env.open(args.at(0));
  int origin = std::stoi(args.at(1));
  std::int64_t first = std::stoll(args.at(2)), count = std::stoll(args.at(3));
  for (std::int64_t t = first; t < first + count; ++t) {
    check(runBankTxn(*site, origin, t));
    say(fmt::format("ack {}", t));
  }
}

void import(Env& env, const std::vector<std::string>& args) {
  auto site = env.open(args.at(0));
  auto summary = take(sync::importChanges(*site, args.at(1)));
  say(fmt::format("imported {}", summary.applied.applied));
}

void serve(Env& env, const std::vector<std::string>& args) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);  // before the server's thread starts: it inherits it
  auto site = env.open(args.at(0));
  auto server = take(sync::Server::start(*site, "127.0.0.1:0", tcpOptions()));
  say(fmt::format("port {}", server->port()));
  int signal = 0;
  sigwait(&term, &signal);
  server->stop();
}

void syncWith(Env& env, const std::vector<std::string>& args) {
  auto site = env.open(args.at(0));
  auto summary = take(sync::syncTcp(*site, "127.0.0.1:" + args.at(1), tcpOptions()));
  say(fmt::format("synced sent {} received {}", summary.sent.transactions,
                  summary.received.applied));
}

int run(const std::vector<std::string>& args) {
  Env env;
  const std::string& role = args.at(0);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (role == "write" && rest.size() == 4)
    write(env, rest);
  else if (role == "import" && rest.size() == 2)
    import(env, rest);
  else if (role == "serve" && rest.size() == 1)
    serve(env, rest);
  else if (role == "sync" && rest.size() == 2)
    syncWith(env, rest);
  else
    throw Failure{
        "usage: parley-crash-child write|import|serve|sync ARGS... (see crash_child.cpp)"};
  say(fmt::format("ops {} syncs {}", crashVfsOperations(), crashVfsSyncs()));
  return 0;
}

}  // namespace
}  // namespace parley::crash

int main(int argc, char** argv) {
  using namespace parley::crash;
  const char* at = std::getenv("PARLEY_CRASH_AT");
  if (!installCrashVfs(at ? std::strtoull(at, nullptr, 10) : 0)) {
    std::cerr << "parley-crash-child: no unix VFS\n";
    return 1;
  }
  try {
    if (argc < 2) throw Failure{"usage: parley-crash-child write|import|serve|sync ARGS..."};
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const Failure& f) {
    std::cerr << "parley-crash-child: " << f.message << "\n";
  } catch (const std::exception& e) {
    std::cerr << "parley-crash-child: " << e.what() << "\n";
  }
  return 1;
}
