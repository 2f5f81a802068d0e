// What every connection of a Server shares: the site it serves, the options, and the log of
// finished sessions. The site and the sessions live on the server's thread; only the log is
// read from other threads (under its mutex).
#pragma once

#include <kj/timer.h>

#include <fmt/format.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"
#include "tcp_admission.hpp"
#include "tcp_limits.hpp"
#include "tls.hpp"

namespace parley::sync {

inline constexpr std::size_t kMaxLogLines = 1000;

struct ServerState {
  ServerState(Site& s, TcpOptions o) : site(s), options(std::move(o)), admissions(options.loginsPerSource) {}

  // `line` may quote what a peer said (its name): control characters become '?', so each note
  // stays one line on a terminal.
  void note(std::string line) {
    for (auto& c : line)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    std::lock_guard lock(mutex);
    log.push_back(std::move(line));
    while (log.size() > kMaxLogLines) log.pop_front();
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out(std::make_move_iterator(log.begin()), std::make_move_iterator(log.end()));
    log.clear();
    return out;
  }

  // Counts a failed login from `source` (logged with `why`), slowing down its next connections.
  void loginFailed(const std::string& source, const std::string& why) {
    int failures = logins.failed(source, LoginThrottle::Clock::now());
    auto wait = logins.penalty(source, LoginThrottle::Clock::now());
    note(wait.count() > 0 ? fmt::format("refused a login from {}: {} ({} failures in a row; its next connections wait {} ms)",
                                        source, why, failures, wait.count())
                          : fmt::format("refused a login from {}: {}", source, why));
  }

  Site& site;
  const TcpOptions options;
  std::shared_ptr<TlsContext> tls;  // null when the server runs with `insecure`
  LoginThrottle logins;             // on the server's thread only
  Admissions admissions;  // connections waiting for login, per source
  kj::Timer* timer = nullptr;  // the server thread's, set once its event loop runs
  std::mutex mutex;
  std::deque<std::string> log;
};

}  // namespace parley::sync
