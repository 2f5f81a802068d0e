// The fault schedule of parley-faultproxy: which seeded fault, if any, hits each piece of data
// a proxied connection forwards, and when the whole link is cut.
//
// Every decision comes from one std::mt19937_64 seeded on the command line, so a seed fixes the
// sequence of decisions; which piece of data meets which decision still depends on how the
// kernel splits the stream into reads. Healed, the plan decides "forward now" for everything.
// Not thread-safe (the proxy is single-threaded).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

namespace parley::faultproxy {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct FaultOptions {
  std::uint64_t seed = 1;
  double drop = 0;      // per piece: close both sides of the connection (RST or FIN)
  double truncate = 0;  // per piece: forward a prefix of it, then close
  double stall = 0;     // per piece: stop forwarding this direction for stallMs (no close)
  double hang = 0;      // per piece: freeze the connection for good (a peer gone silent)
  Millis stallMs{2000};
  Millis delayMs{0};   // per piece: extra latency, uniform in [0, delayMs], order kept
  Millis cutEvery{0};  // mean time between link cuts (0: never)
  Millis cutMs{1000};  // how long a cut lasts: connections closed, new ones refused
};

enum class Kind { kForward, kDrop, kTruncate, kStall, kHang };

struct Decision {
  Kind kind = Kind::kForward;
  std::size_t keep = 0;  // kTruncate: bytes forwarded before the close
  Millis delay{0};
  bool reset = false;  // kDrop: RST instead of FIN
};

class FaultPlan {
 public:
  explicit FaultPlan(const FaultOptions& options);

  // The fault for a piece of `bytes` (> 0) just read from one side.
  Decision onPiece(std::size_t bytes);
  // Whether the link is cut at `now`; advances the cut schedule.
  bool cutAt(Clock::time_point now);
  // The next time cutAt() may change its answer.
  Clock::time_point nextCutChange() const;

  void heal() { healed_ = true; }
  void resume() { healed_ = false; }
  bool healed() const { return healed_; }
  const FaultOptions& options() const { return options_; }

 private:
  bool chance(double p);
  Millis uniform(Millis max);

  FaultOptions options_;
  std::mt19937_64 rng_;
  bool healed_ = false;
  Clock::time_point cutStart_, cutEnd_;
};

// Validates options; returns an error line or "".
std::string checkOptions(const FaultOptions& o);

}  // namespace parley::faultproxy
