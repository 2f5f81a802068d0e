#include "tcp_status.hpp"

#include <fmt/format.h>

#include <optional>
#include <string_view>

namespace parley::sync {
namespace {

constexpr std::string_view kTag = "parley[";

Status withCode(int code, std::string message) {
  auto known = static_cast<Status::Code>(code);
  // Ok and I/O errors are not sent (the transport says those); a code this parley does not
  // know comes from a newer peer.
  if (code <= static_cast<int>(Status::Code::kOk) || code > static_cast<int>(Status::Code::kInternal) ||
      known == Status::Code::kIOError)
    return Status::ioError(std::move(message));
  return Status(known, std::move(message));
}

// A parley Status in a description ("remote exception: parley[1]: ..."), if there is one.
std::optional<Status> parseTagged(std::string_view text) {
  auto at = text.find(kTag);
  if (at == std::string_view::npos) return std::nullopt;
  text.remove_prefix(at + kTag.size());
  auto close = text.find("]: ");
  if (close == std::string_view::npos || close == 0 || close > 2) return std::nullopt;
  int code = 0;
  for (char c : text.substr(0, close)) {
    if (c < '0' || c > '9') return std::nullopt;
    code = code * 10 + (c - '0');
  }
  return withCode(code, std::string(text.substr(close + 3)));
}

// KJ's description without its decorations: "remote exception: ", a failed system call's
// "bind(sockfd, ...): " and trailing "; name = value" details.
std::string plain(std::string_view text) {
  for (std::string_view prefix : {"remote exception: ", "std::exception: "})
    if (text.starts_with(prefix)) text.remove_prefix(prefix.size());
  if (auto call = text.rfind("): "); call != std::string_view::npos) text.remove_prefix(call + 3);
  if (auto details = text.find("; "); details != std::string_view::npos) text = text.substr(0, details);
  std::string out(text);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z' && (out.size() < 2 || out[1] >= 'a')) out[0] += 'a' - 'A';
  return out;
}

}  // namespace

kj::Exception toException(const Status& status) {
  auto text = fmt::format("{}{}]: {}", kTag, static_cast<int>(status.code()), status.message());
  return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__, kj::heapString(text.data(), text.size()));
}

void throwStatus(const Status& status) { kj::throwFatalException(toException(status)); }

Status statusOf(const kj::Exception& e) {
  std::string_view text(e.getDescription().cStr());
  if (auto tagged = parseTagged(text)) return *tagged;
  if (text.find("Connection refused") != std::string_view::npos) return Status::ioError("connection refused");
  if (e.getType() == kj::Exception::Type::DISCONNECTED) return Status::ioError("the connection was lost");
  return Status::ioError(plain(text));
}

Status aboutPeer(const std::string& what, const std::string& peer, const Status& status) {
  return withCode(static_cast<int>(status.code()), fmt::format("{} {}: {}", what, peer, status.message()));
}

}  // namespace parley::sync
