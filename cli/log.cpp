#include "log.hpp"

#include <ctime>
#include <ostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"

namespace parley::cli {
namespace {

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

bool mentions(std::string_view line, std::initializer_list<std::string_view> words) {
  for (auto w : words)
    if (line.find(w) != std::string_view::npos) return true;
  return false;
}

}  // namespace

LogFormat logFormatOf(const std::string& name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  usage(fmt::format("--log-format wants text or json, got \"{}\"", name));
}

LogLevel levelOf(std::string_view line) {
  if (mentions(line, {"divergence", "diverged"})) return LogLevel::kError;
  if (mentions(line, {"failed", "refused", "dropped", "lost", "retrying", "ended early", "warning", "clock skew",
                      "cannot", "timed out", "no reply"}))
    return LogLevel::kWarn;
  return LogLevel::kInfo;
}

std::string peerNamed(std::string_view line) {
  struct Form {
    std::string_view before, after;  // the name sits between them; an empty `after`: to the end
  };
  static constexpr Form kForms[] = {{"synced with ", ": "},      {"streaming to ", ""},
                                    {"stream to ", " ended"},    {"sync with ", " ended early"},
                                    {"divergence with ", ": "}};
  for (const auto& f : kForms) {
    if (!line.starts_with(f.before)) continue;
    auto rest = line.substr(f.before.size());
    auto end = f.after.empty() ? rest.size() : rest.find(f.after);
    if (end != std::string_view::npos && end > 0) return std::string(rest.substr(0, end));
  }
  return "";
}

std::string isoTime(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

Log::Log(LogFormat format, std::ostream& out) : format_(format), out_(out) {}

void Log::write(LogLevel level, std::string_view message, std::string_view peer) {
  std::string time = isoTime(std::chrono::system_clock::now());
  std::string line;
  if (format_ == LogFormat::kJson) {
    line = fmt::format("{{\"time\": \"{}\", \"level\": \"{}\"", time, levelName(level));
    if (!peer.empty()) line += fmt::format(", \"peer\": {}", jsonString(peer));
    line += fmt::format(", \"message\": {}}}", jsonString(message));
  } else {
    std::string text(message);
    for (auto& c : text)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    std::string upper = levelName(level);
    for (auto& c : upper) c = static_cast<char>(c - 'a' + 'A');
    line = fmt::format("{} {:<5} {}", time, upper, text);
  }
  std::lock_guard lock(mutex_);
  out_ << line << std::endl;
}

}  // namespace parley::cli
