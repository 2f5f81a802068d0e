// Status and Result<T>: expected failures as values.
//
// A Status is Ok or carries a code and a one-line message meant for a user
// ("track: table \"t\" has no PRIMARY KEY; parley needs one to identify rows across sites").
// Public API functions return Status/Result; internal code may throw parley::Error,
// which the API boundary converts into the Status it carries.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

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
    kNotReady,     // a remote transaction whose causal dependencies are missing
    kBusy,         // a transaction is open on the site, or the database is locked
    kConstraint,   // a constraint of the database (UNIQUE, CHECK, NOT NULL, FK) refused a change
    kDiverged,     // two sites disagree where they must agree: a forked history, different data
  };

  Status() = default;
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

  bool isOk() const { return code_ == Code::kOk; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ok" or "<code name>: <message>".
  std::string toString() const;
  // The same status with "<context>: " before its message.
  Status withContext(std::string_view context) const {
    return isOk() ? *this : Status(code_, std::string(context) + ": " + message_);
  }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Thrown inside parley's implementation; caught and turned into a Status at the API boundary.
class Error : public std::runtime_error {
 public:
  explicit Error(Status status) : std::runtime_error(status.message()), status_(std::move(status)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

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
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace parley
