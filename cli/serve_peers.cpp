#include "serve_peers.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cli.hpp"

namespace parley::cli {
namespace {

constexpr std::uint64_t kRepeatFailureMs = 60'000;

}  // namespace

PeerLink::PeerLink(const std::string& path, PeerSettings settings, sync::TcpOptions options, Log& log)
    : settings_(std::move(settings)), options_(std::move(options)), log_(log), syncSite_(openSite(path)) {
  record_.address = settings_.address;
  record_.state = "never connected";
  record_.sinceMs = env().clock.nowMillis();
  if (settings_.stream) {
    streamSite_ = openSite(path);
    subscriber_ = take(sync::Subscriber::start(*streamSite_, settings_.address, options_));
  }
  syncer_ = std::thread([this] { syncLoop(); });
}

PeerLink::~PeerLink() { stop(); }

void PeerLink::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (subscriber_) subscriber_->stop();
  if (syncer_.joinable()) syncer_.join();
  printLog();
}

std::string PeerLink::peerLabel() {
  std::lock_guard lock(mutex_);
  return record_.name.empty() ? settings_.url : record_.name;
}

void PeerLink::printLog() {
  if (!subscriber_) return;
  auto lines = subscriber_->takeLog();
  if (lines.empty()) return;
  std::string peer = peerLabel();
  for (const auto& line : lines) log_.library(line, peer);
}

void PeerLink::syncLoop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    syncOnce();
    lock.lock();
    wake_.wait_for(lock, settings_.interval, [this] { return stop_; });
  }
}

void PeerLink::syncOnce() {
  auto r = sync::syncTcp(*syncSite_, settings_.address, options_);
  std::uint64_t now = env().clock.nowMillis();
  {
    std::lock_guard lock(mutex_);
    ++counters_.syncs;
    lastSyncOk_ = r.ok();
    if (!r) {
      ++counters_.syncsFailed;
      ++record_.syncsFailed;
      record_.lastError = r.status().message();
      record_.lastErrorMs = now;
    } else {
      record_.lastSuccessMs = syncOkMs_ = now;
      record_.site = r->peer.site;
      record_.name = r->peer.name;
      counters_.received += r->received.applied;
      counters_.sent += r->sent.transactions;
      counters_.conflicts += r->received.conflicts;
      counters_.rejected += r->received.rejected;
    }
  }
  if (!r) {
    ++failingFor_;
    if (r.status().message() == failureLogged_ && now < failureLoggedMs_ + kRepeatFailureMs) return;
    failureLogged_ = r.status().message();
    failureLoggedMs_ = now;
    std::string again = failingFor_ > 1 ? fmt::format(" ({} failed in a row)", failingFor_) : "";
    log_.warn(fmt::format("sync with {} failed{}: {}", settings_.url, again, r.status().message()), peerLabel());
    return;
  }
  if (failingFor_) {
    log_.info(fmt::format("synced with {} ({}) again after {} failed syncs", r->peer.name, settings_.url, failingFor_),
              r->peer.name);
    failingFor_ = 0;
    failureLogged_.clear();
  }
  if (r->sent.transactions || r->received.applied || r->received.conflicts)
    log_.info(fmt::format("synced with {} ({}): {}", r->peer.name, settings_.url,
                          summaryLine(r->sent.transactions, r->received)),
              r->peer.name);
}

PeerSnapshot PeerLink::snapshot(std::uint64_t nowMs) {
  sync::Subscriber::State stream;
  sync::ApplyTotals streamed;
  std::uint64_t connections = 0;
  if (subscriber_) {
    stream = subscriber_->state();
    streamed = subscriber_->totals();
    connections = subscriber_->connections();
  }
  std::lock_guard lock(mutex_);
  if (stream.peer) {
    record_.site = stream.peer;
    record_.name = stream.peerName;
  }
  if (stream.streaming && record_.lastSuccessMs == 0) record_.lastSuccessMs = nowMs;
  if (!stream.lastError.empty() && stream.lastError != streamError_) {
    streamError_ = stream.lastError;
    record_.lastError = stream.lastError;
    record_.lastErrorMs = nowMs;
  }
  // A full sync that hangs (a peer stopped, not gone) leaves the last one's success standing:
  // connected only while syncs keep ending well.
  auto window = std::max<std::uint64_t>(3 * static_cast<std::uint64_t>(settings_.interval.count()), 5000);
  bool syncing = lastSyncOk_.value_or(false) && nowMs <= syncOkMs_ + window;
  std::string state = stream.streaming ? "streaming"
                      : syncing        ? "connected"
                      : record_.lastSuccessMs == 0 && connections == 0 ? "never connected"
                                                                       : "retrying";
  if (state != record_.state) {
    record_.state = state;
    record_.sinceMs = nowMs;
    if (state == "streaming") record_.lastSuccessMs = nowMs;
  }
  PeerSnapshot out{record_, counters_};
  out.counters.streamConnections = connections;
  out.counters.received += streamed.applied;
  out.counters.conflicts += streamed.conflicts;
  out.counters.rejected += streamed.rejected;
  return out;
}

}  // namespace parley::cli
