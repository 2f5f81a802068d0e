// A progress line for long transfers (sync, import, export, clone) on a terminal.
//
// The line goes to stderr and is redrawn in place, at most once every 200 ms (by time, never
// by count: an event that comes sooner only updates what the next draw shows), and erased
// when the operation ends, so the command's own output follows on a clean line. An operation
// that ends within the first 200 ms shows nothing. When stderr is not a terminal (a pipe, a
// file, a log) nothing is drawn at all. PARLEY_PROGRESS=0 turns it off on a terminal too;
// PARLEY_PROGRESS_MS sets the period (tests use 0: a draw per event).
#pragma once

#include <chrono>
#include <string>

#include "parley/site.hpp"
#include "parley/sync/session.hpp"

namespace parley::cli {

class ProgressLine {
 public:
  // `what` starts the line: "sync", "import", "export", "clone".
  explicit ProgressLine(std::string what);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Empty (no callback at all) when nothing is to be drawn.
  sync::TransferObserver observer();
  Site::CopyProgress copyProgress();
  // Erases the line if one was drawn.
  void finish();

 private:
  void update(const sync::TransferProgress& p);
  void draw(const std::string& text);

  using Clock = std::chrono::steady_clock;
  std::string what_;
  bool enabled_ = false;
  std::chrono::milliseconds period_{200};
  Clock::time_point lastDraw_;
  Clock::time_point phaseStart_;
  int phase_ = -1;
  bool drawn_ = false;
};

}  // namespace parley::cli
