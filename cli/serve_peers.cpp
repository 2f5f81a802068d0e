#include "serve_peers.hpp"

#include <fmt/format.h>

#include <iostream>

#include "cli.hpp"

namespace parley::cli {

void Lines::print(const std::string& line) {
  std::lock_guard lock(mutex_);
  std::cout << line << std::endl;
}

PeerLink::PeerLink(const std::string& path, PeerSettings settings, sync::TcpOptions options, Lines& out)
    : settings_(std::move(settings)), options_(std::move(options)), out_(out), syncSite_(openSite(path)) {
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

void PeerLink::printLog() {
  if (!subscriber_) return;
  for (const auto& line : subscriber_->takeLog()) out_.print(line);
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
  if (!r)
    out_.print(fmt::format("sync with {} failed: {}", settings_.url, r.status().message()));
  else if (r->sent.transactions || r->received.applied)
    out_.print(fmt::format("synced with {} ({}): {}", r->peer.name, settings_.url,
                           summaryLine(r->sent.transactions, r->received)));
}

}  // namespace parley::cli
