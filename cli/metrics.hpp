// `parley serve --metrics HOST:PORT`: Prometheus' text exposition format at /metrics, served by
// KJ's HTTP server (kj-http) on a thread of its own with a site connection of its own. Each
// scrape reads the site (lag per peer, log size, conflict counts, divergences) and serve's
// peer links (connection state, sync counters) at that moment; nothing is cached between
// scrapes. Every metric family is named parley_* and carries HELP and TYPE lines.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "serve_peers.hpp"

namespace parley::cli {

// The page for `site` and serve's links as they stand (`nowMs`: the site clock's now).
std::string metricsText(Site& site, const std::vector<PeerSnapshot>& links, std::uint64_t nowMs);

class MetricsServer {
 public:
  using Links = std::function<std::vector<PeerSnapshot>()>;  // called on the server's thread
  // Listens on `address` (port 0 picks one) and serves the site at `path` until stop() or
  // destruction. Throws CliError if it cannot listen.
  static std::unique_ptr<MetricsServer> start(const std::string& path, const std::string& address, Links links);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const;
  // Stops serving and joins the thread. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::cli
