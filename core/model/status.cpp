#include "parley/status.hpp"

namespace parley {
namespace {

// "core/commit.cpp" of "/work/parley/core/commit.cpp": the last two parts of a path.
std::string shortPath(std::string_view path) {
  auto last = path.find_last_of('/');
  if (last == std::string_view::npos || last == 0) return std::string(path);
  auto before = path.find_last_of('/', last - 1);
  return std::string(before == std::string_view::npos ? path : path.substr(before + 1));
}

}  // namespace

std::string_view toString(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kNotReady: return "not ready";
    case Status::Code::kBusy: return "busy";
    case Status::Code::kConstraint: return "constraint";
    case Status::Code::kDiverged: return "diverged";
    case Status::Code::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::toString() const {
  if (isOk()) return "ok";
  return std::string(parley::toString(code_)) + ": " + message_;
}

Status Status::withContext(std::string_view context) const& { return Status(*this).withContext(context); }

Status Status::withContext(std::string_view context) && {
  if (isOk()) return std::move(*this);
  message_.insert(0, std::string(context) + ": ");
  contexts_.insert(contexts_.begin(), std::string(context));
  contextChars_ += context.size() + 2;
  return std::move(*this);
}

InternalError::InternalError(std::string file, int line, std::string message)
    : std::logic_error("internal error at " + shortPath(file) + ":" + std::to_string(line) + ": " + message +
                       "; this is a bug in parley: please report it"),
      file_(shortPath(file)),
      line_(line),
      detail_(std::move(message)) {}

namespace detail {

void assertionFailed(const char* file, int line, const char* condition, std::string_view message) {
  std::string what = message.empty() ? std::string("failed: ") + condition
                                     : std::string(message) + " (failed: " + condition + ")";
  throw InternalError(file, line, std::move(what));
}

void valueOfFailedResult(const Status& status) {
  throw InternalError(__FILE__, __LINE__, "the value of a failed Result was taken: " + status.toString());
}

}  // namespace detail
}  // namespace parley
