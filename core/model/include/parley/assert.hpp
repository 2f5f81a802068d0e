// PARLEY_ASSERT: the assertion channel for invariants of parley's own code.
//
//   PARLEY_ASSERT(cond);                                     // "failed: cond"
//   PARLEY_ASSERT(cond, "what broke");                       // "what broke (failed: cond)"
//   PARLEY_ASSERT(cond, fmt::format("row {} ...", n));      // formatted only when it fails
//
// A failure is a bug in parley, never bad input: bytes from disk or a peer that do not decode
// are Status::corruption, a caller's wrong argument Status::invalidArgument (parley/status.hpp).
// Use it where the code itself guarantees the condition (a cache agreeing with the table it
// caches, a fast path agreeing with the general one), as KJ_ASSERT is used.
//
// It throws parley::InternalError rather than aborting: every write runs inside an SQLite
// transaction that the API boundary rolls back, so the database is left as it was, a server
// keeps serving its other connections, and the failure reaches the user as one line
// ("internal error at core/commit.cpp:196: ...; this is a bug in parley: please report it")
// with a non-zero exit from the CLI. The public API returns it as a Status of code kInternal.
// InternalError is not a parley::Error, so code catching expected failures does not swallow it.
//
// The condition is always evaluated (no NDEBUG switch): keep it cheap, or guard the check with
// the switch that enables the expensive self-checks.
#pragma once

#include <string_view>

#include "parley/status.hpp"

#define PARLEY_ASSERT(condition, ...)                                                                  \
  do {                                                                                                 \
    if (!(condition)) [[unlikely]]                                                                     \
      ::parley::detail::assertionFailed(__FILE__, __LINE__, #condition,                                \
                                        ::parley::detail::assertMessage(__VA_ARGS__));                 \
  } while (false)

namespace parley::detail {
inline std::string_view assertMessage() { return {}; }
inline std::string_view assertMessage(std::string_view message) { return message; }
}  // namespace parley::detail
