// Status and Result<T>: expected failures as values.
//
// A Status is Ok or carries a code and a one-line message meant for a user
// ("track: table \"t\" has no PRIMARY KEY; parley needs one to identify rows across sites").
// Public API functions return Status/Result and never throw for bad input; internal code may
// throw parley::Error, which the API boundary converts into the Status it carries.
//
// Three kinds of failure, kept apart as KJ keeps KJ_ASSERT, KJ_REQUIRE and bad input apart:
//   - bad input (bytes from disk or a peer, a user's SQL, an unknown table): a Status with the
//     code that says which (kCorruption, kInvalidArgument, ...);
//   - a caller breaking a documented precondition of the public API: kInvalidArgument;
//   - a bug in parley itself (an invariant of its own code broke): PARLEY_ASSERT
//     (parley/assert.hpp), which throws InternalError; the API boundary turns it into a Status
//     of code kInternal, never into kCorruption.
//
// Context: as an error passes a layer, the layer adds what it was doing (withContext, as
// KJ_CONTEXT does). The Status keeps each context apart from the bare message, so a program
// that prints it (the CLI) chooses which to show without taking the message text apart.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace parley {

class Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,  // the caller's input is wrong: bad SQL, unknown table, bad option
    kNotFound,
    kCorruption,  // bytes from disk or a peer that do not decode or do not verify
    kIOError,
    kUnsupported,  // something parley refuses to replicate, with the reason
    kNotReady,     // a remote transaction whose causal dependencies are missing; a wait that timed out
    kBusy,         // a transaction is open on the site, or the database is locked
    kConstraint,   // a constraint of the database (UNIQUE, CHECK, NOT NULL, FK) refused a change
    kDiverged,     // two sites disagree where they must agree: a forked history, different data
    kInternal,     // a bug in parley: one of its own invariants broke (PARLEY_ASSERT)
  };

  Status() = default;
  // A status of `code` saying `message` (one line, no context). An Ok code makes an Ok status.
  Status(Code code, std::string message) : code_(code), message_(code == Code::kOk ? "" : std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status notFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status ioError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg)}; }
  static Status notReady(std::string msg) { return {Code::kNotReady, std::move(msg)}; }
  static Status busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status constraint(std::string msg) { return {Code::kConstraint, std::move(msg)}; }
  static Status diverged(std::string msg) { return {Code::kDiverged, std::move(msg)}; }
  static Status internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool isOk() const { return code_ == Code::kOk; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return code_; }
  // The whole message: each context, outermost first, then what went wrong, joined by ": "
  // ("importing a.pcs: transaction 3: checksum mismatch").
  const std::string& message() const { return message_; }
  // What went wrong, without the contexts ("checksum mismatch").
  std::string_view bareMessage() const { return std::string_view(message_).substr(contextChars_); }
  // The contexts layers added, outermost first ({"importing a.pcs", "transaction 3"}).
  const std::vector<std::string>& contexts() const { return contexts_; }
  // "ok" or "<code name>: <message>".
  std::string toString() const;
  // The same status with `context` as its outermost context: its message gets "<context>: "
  // before it. Ok stays ok.
  Status withContext(std::string_view context) const&;
  Status withContext(std::string_view context) &&;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::vector<std::string> contexts_;
  std::size_t contextChars_ = 0;  // message_'s prefix the contexts take, separators included
};

// The name of a code as toString() prints it: "corruption", "internal error", ...
std::string_view toString(Status::Code code);

// Thrown inside parley's implementation; caught and turned into a Status at the API boundary.
class Error : public std::runtime_error {
 public:
  explicit Error(Status status) : std::runtime_error(status.message()), status_(std::move(status)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// A bug in parley: thrown by PARLEY_ASSERT (parley/assert.hpp). Deliberately not an Error, so
// that no code catching expected failures swallows it. The API boundary turns it into its
// status() (code kInternal); what() is the same one line: "internal error at FILE:LINE: ...;
// this is a bug in parley: please report it".
class InternalError : public std::logic_error {
 public:
  InternalError(std::string file, int line, std::string message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  // What broke, without the location.
  const std::string& detail() const { return detail_; }
  Status status() const { return Status::internal(what()); }

 private:
  std::string file_;
  int line_;
  std::string detail_;
};

namespace detail {
// Throws InternalError for a failed PARLEY_ASSERT(condition, message) at file:line.
[[noreturn]] void assertionFailed(const char* file, int line, const char* condition, std::string_view message);
// Throws InternalError: value() of a Result holding `status`.
[[noreturn]] void valueOfFailedResult(const Status& status);
}  // namespace detail

// A T or the Status saying why there is none.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                 // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}          // NOLINT: REQUIRES !status.isOk()
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok(); otherwise a bug in the caller, reported as InternalError with the status.
  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  // By value: a reference into a temporary Result would dangle (`for (auto& x :
  // f().value().items())`), a value lives as long as the full expression or the loop.
  T value() && { return std::move(checked()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() & { return &value(); }
  const T* operator->() const& { return &value(); }
  // Not of a temporary: `f()->items()` would hand out a reference into it. Use f().value().
  void operator->() && = delete;
  // The same failure with `context` added (see Status::withContext); a value is kept.
  Result withContext(std::string_view context) && {
    if (ok()) return std::move(*this);
    return std::get<Status>(std::move(v_)).withContext(context);
  }

 private:
  T& checked() {
    if (T* v = std::get_if<T>(&v_)) return *v;
    detail::valueOfFailedResult(std::get<Status>(v_));
  }
  std::variant<T, Status> v_;
};

// For implementation code that reports failures by throwing (the API boundary turns them
// back into the Status): the value of `r`, or its status thrown as an Error.
template <class T>
T valueOrThrow(Result<T> r) {
  if (!r) throw Error(r.status());
  return std::move(r).value();
}
inline void throwIfError(const Status& s) {
  if (!s) throw Error(s);
}

}  // namespace parley
