// Hybrid logical clock (Kulkarni et al. 2014) and the injected physical clock it reads.
//
// An Hlc packs 48 bits of physical milliseconds and a 16-bit logical counter into 64 bits, so
// comparing the packed integers compares timestamps. HlcClock::now() is the send/local rule,
// receive() the receive rule; both are monotonic even if the physical clock steps backwards.
// Only the top-level program creates a SystemClock; tests use ManualClock.
// HlcClock is not thread-safe; a Site owns one.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

namespace parley {

struct Hlc {
  std::uint64_t value = 0;

  static constexpr int kLogicalBits = 16;
  static Hlc make(std::uint64_t physicalMs, std::uint32_t logical) {
    return {(physicalMs << kLogicalBits) | (logical & 0xffffu)};
  }
  std::uint64_t physicalMs() const { return value >> kLogicalBits; }
  std::uint32_t logical() const { return static_cast<std::uint32_t>(value & 0xffffu); }
  friend auto operator<=>(const Hlc&, const Hlc&) = default;
  std::string toString() const;  // "1700000000123.4"
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual std::uint64_t nowMillis() = 0;
};

class SystemClock final : public Clock {
 public:
  std::uint64_t nowMillis() override;
};

// A clock that moves only when told to. For tests and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::uint64_t startMs = 1'700'000'000'000ULL) : now_(startMs) {}
  std::uint64_t nowMillis() override { return now_; }
  void set(std::uint64_t ms) { now_ = ms; }
  void advance(std::uint64_t ms) { now_ += ms; }

 private:
  std::uint64_t now_;
};

// What receive() noticed about a remote timestamp ahead of our physical clock.
struct ClockSkew {
  std::uint64_t aheadMs = 0;  // remote physical time minus ours
};

class HlcClock {
 public:
  HlcClock(Clock& clock, std::chrono::milliseconds maxSkew) : clock_(clock), maxSkew_(maxSkew) {}

  // Timestamp for a local event (a commit). Strictly greater than every earlier result.
  Hlc now();
  // Merges a remote timestamp so later local events sort after it. Returns the skew when
  // the remote physical time is ahead of ours by more than the configured bound; the
  // timestamp is still merged (causality needs it) but the caller must report it.
  std::optional<ClockSkew> receive(Hlc remote);
  // Raises the clock to at least `floor` (used when reopening a site).
  void restore(Hlc floor);
  Hlc last() const { return last_; }
  std::chrono::milliseconds maxSkew() const { return maxSkew_; }

 private:
  Clock& clock_;
  std::chrono::milliseconds maxSkew_;
  Hlc last_;
};

}  // namespace parley
