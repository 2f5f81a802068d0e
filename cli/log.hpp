// The log of `parley serve`: one line per event, each with an ISO 8601 UTC timestamp, a level
// and, when the event is about one peer, that peer's name; as text, or as JSON lines
// (--log-format json) for a log collector. Idle rounds (a sync that moved nothing) are not
// events. Thread-safe: lines from several threads come out whole.
#pragma once

#include <chrono>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>

namespace parley::cli {

enum class LogLevel { kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

// "text" or "json"; a usage error otherwise.
LogFormat logFormatOf(const std::string& name);
// The level of a line the sync library logged (sync::Server::takeLog, Subscriber::takeLog):
// error for a divergence, warn for a failure, a refusal, a dropped or lost connection or a
// clock skew, info otherwise.
LogLevel levelOf(std::string_view line);
// The peer a line of the sync library's server log is about ("synced with london: ...",
// "streaming to london", "stream to london ended: ...", "divergence with london: ..."), or
// empty. Only for the JSON "peer" field: the line itself always names it.
std::string peerNamed(std::string_view line);
// 2026-12-07T05:40:00.123Z
std::string isoTime(std::chrono::system_clock::time_point t);

class Log {
 public:
  explicit Log(LogFormat format, std::ostream& out);
  // text:  2026-12-07T05:40:00.123Z INFO  synced with london (tcp://...): sent 3 transactions, ...
  // json:  {"time": "2026-12-07T05:40:00.123Z", "level": "info", "peer": "london", "message": "..."}
  // `peer` is left out when empty. Control characters in `message` become '?' in text.
  void write(LogLevel level, std::string_view message, std::string_view peer = {});
  void info(std::string_view message, std::string_view peer = {}) { write(LogLevel::kInfo, message, peer); }
  void warn(std::string_view message, std::string_view peer = {}) { write(LogLevel::kWarn, message, peer); }
  // A library line, at the level levelOf() gives it.
  void library(std::string_view line, std::string_view peer = {}) {
    std::string named = peer.empty() ? peerNamed(line) : std::string(peer);
    write(levelOf(line), line, named);
  }

 private:
  LogFormat format_;
  std::ostream& out_;
  std::mutex mutex_;
};

}  // namespace parley::cli
