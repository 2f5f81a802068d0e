#include "serve_record.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "cli.hpp"
#include "parley/replication.hpp"

namespace parley::cli {
namespace {

std::string hostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

std::string secondsAgo(std::uint64_t nowMs, std::uint64_t thenMs) {
  return fmt::format("{:.1f} s ago", static_cast<double>(nowMs > thenMs ? nowMs - thenMs : 0) / 1000.0);
}

}  // namespace

ServeRecorder::ServeRecorder(Site& site, std::string listen, Log& log) : site_(site), log_(log) {
  report_.pid = ::getpid();
  report_.host = hostName();
  report_.listen = std::move(listen);
  report_.startedMs = env().clock.nowMillis();
}

void ServeRecorder::update(const std::vector<ServePeerRecord>& peers) {
  std::uint64_t now = env().clock.nowMillis();
  if (writtenMs_ && peers == report_.peers && now < writtenMs_ + static_cast<std::uint64_t>(kRefresh.count())) return;
  write(peers, now);
}

void ServeRecorder::stopped(const std::vector<ServePeerRecord>& peers) {
  report_.stoppedMs = env().clock.nowMillis();
  write(peers, report_.stoppedMs);
}

void ServeRecorder::write(const std::vector<ServePeerRecord>& peers, std::uint64_t nowMs) {
  report_.peers = peers;
  report_.updatedMs = nowMs;
  writtenMs_ = nowMs;  // a failed write is retried at the next refresh, not on every round
  Status st = site_.replication().recordServe(report_);
  if (!st && !failing_) log_.warn("recording peer state for parley status failed: " + st.message());
  failing_ = !st;
}

std::string staleness(const ServeReport& r, std::uint64_t nowMs) {
  if (r.stoppedMs) return fmt::format("serve stopped {}", secondsAgo(nowMs, r.stoppedMs));
  if (r.host == hostName() && r.pid > 0 && ::kill(static_cast<pid_t>(r.pid), 0) != 0 && errno == ESRCH)
    return fmt::format("serve (pid {}) is not running; it last reported {}", r.pid, secondsAgo(nowMs, r.updatedMs));
  if (nowMs > r.updatedMs + static_cast<std::uint64_t>(kStaleAfter.count()))
    return fmt::format("serve (pid {}) last reported {}", r.pid, secondsAgo(nowMs, r.updatedMs));
  return "";
}

}  // namespace parley::cli
