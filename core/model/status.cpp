#include "parley/status.hpp"

namespace parley {

std::string Status::toString() const {
  const char* name = "ok";
  switch (code_) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: name = "invalid argument"; break;
    case Code::kNotFound: name = "not found"; break;
    case Code::kCorruption: name = "corruption"; break;
    case Code::kIOError: name = "I/O error"; break;
    case Code::kUnsupported: name = "unsupported"; break;
    case Code::kNotReady: name = "not ready"; break;
    case Code::kBusy: name = "busy"; break;
    case Code::kConstraint: name = "constraint"; break;
    case Code::kDiverged: name = "diverged"; break;
  }
  return std::string(name) + ": " + message_;
}

}  // namespace parley
