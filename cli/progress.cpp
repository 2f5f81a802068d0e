#include "progress.hpp"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

namespace parley::cli {
namespace {

using Phase = sync::TransferProgress::Phase;

std::string bytesText(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KB", n / 1024.0);
  if (n < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MB", n / (1024.0 * 1024));
  return fmt::format("{:.2f} GB", n / (1024.0 * 1024 * 1024));
}

std::string secondsText(double s) {
  if (s < 60) return fmt::format("{:.0f} s", s);
  if (s < 3600) {
    auto whole = static_cast<long>(s);
    return fmt::format("{} min {:02} s", whole / 60, whole % 60);
  }
  return fmt::format("{:.1f} h", s / 3600);
}

const char* verb(Phase phase) {
  switch (phase) {
    case Phase::kReceiving: return "receiving";
    case Phase::kSending: return "sending";
    case Phase::kSnapshot: return "copying";
    case Phase::kVerifying: return "checking";
  }
  return "";
}

// "61% (12,345 of 20,001 transactions), 45,678 rows, 1.2 MB, 2.1 MB/s, 3 s left"
std::string describe(const sync::TransferProgress& p, double elapsed) {
  std::string out;
  double done = -1;  // fraction, when a total is known
  if (p.totalTransactions) done = static_cast<double>(p.transactions) / static_cast<double>(p.totalTransactions);
  else if (p.totalBytes) done = static_cast<double>(p.bytes) / static_cast<double>(p.totalBytes);
  if (done > 1) done = 1;
  if (done >= 0) out += fmt::format("{:3.0f}% ", done * 100);
  if (p.phase != Phase::kSnapshot) {
    out += p.totalTransactions ? fmt::format("{} of {} transactions", p.transactions, p.totalTransactions)
                               : fmt::format("{} transactions", p.transactions);
    if (p.rows) out += fmt::format(", {} rows", p.rows);
    out += ", ";
  }
  out += p.totalBytes ? fmt::format("{} of {}", bytesText(p.bytes), bytesText(p.totalBytes)) : bytesText(p.bytes);
  if (elapsed > 0.05) out += fmt::format(", {}/s", bytesText(static_cast<std::uint64_t>(p.bytes / elapsed)));
  if (done > 0.001 && done < 1 && elapsed > 0.05) out += fmt::format(", {} left", secondsText(elapsed * (1 - done) / done));
  return out;
}

}  // namespace

ProgressLine::ProgressLine(std::string what) : what_(std::move(what)) {
  const char* off = std::getenv("PARLEY_PROGRESS");
  enabled_ = ::isatty(STDERR_FILENO) && !(off && std::string(off) == "0");
  if (const char* ms = std::getenv("PARLEY_PROGRESS_MS")) period_ = std::chrono::milliseconds(std::atoi(ms));
  lastDraw_ = phaseStart_ = Clock::now();
}

ProgressLine::~ProgressLine() { finish(); }

sync::TransferObserver ProgressLine::observer() {
  if (!enabled_) return {};
  return [this](const sync::TransferProgress& p) { update(p); };
}

Site::CopyProgress ProgressLine::copyProgress() {
  if (!enabled_) return {};
  return [this](std::uint64_t copied, std::uint64_t total) {
    sync::TransferProgress p{Phase::kSnapshot};
    p.bytes = copied;
    p.totalBytes = total;
    update(p);
  };
}

void ProgressLine::update(const sync::TransferProgress& p) {
  auto now = Clock::now();
  if (static_cast<int>(p.phase) != phase_) {
    phase_ = static_cast<int>(p.phase);
    phaseStart_ = now;
  }
  if (now - lastDraw_ < period_) return;
  lastDraw_ = now;
  double elapsed = std::chrono::duration<double>(now - phaseStart_).count();
  draw(fmt::format("{}: {} {}", what_, verb(p.phase), describe(p, elapsed)));
}

void ProgressLine::draw(const std::string& text) {
  std::cerr << "\r\033[K" << text << std::flush;  // back to the start, erase, write
  drawn_ = true;
}

void ProgressLine::finish() {
  if (drawn_) std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace parley::cli
