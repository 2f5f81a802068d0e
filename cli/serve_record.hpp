// What `parley serve` keeps in the site file for `parley status` (Site::recordServe): its pid,
// host and address, and each --peer's connection state and last error. Written when a peer's
// record changes and every kRefresh otherwise (so status can tell a serve that stopped
// answering), never on every idle round; and once more, marked stopped, when serve stops
// cleanly. Used by serve's main thread only, through that thread's site connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "log.hpp"
#include "parley/site.hpp"

namespace parley::cli {

// How often a running serve refreshes its report; status calls it stale after kStaleAfter.
inline constexpr std::chrono::milliseconds kRefresh{5000}, kStaleAfter{15000};

class ServeRecorder {
 public:
  ServeRecorder(Site& site, std::string listen, Log& log);
  void update(const std::vector<ServePeerRecord>& peers);
  void stopped(const std::vector<ServePeerRecord>& peers);

 private:
  void write(const std::vector<ServePeerRecord>& peers, std::uint64_t nowMs);

  Site& site_;
  ServeReport report_;
  Log& log_;
  std::uint64_t writtenMs_ = 0;
  bool failing_ = false;
};

// Why the report is stale ("serve stopped 3.2 s ago", "serve (pid 123) is not running",
// "serve last reported 40.0 s ago"), or empty if a serve is running and reporting.
std::string staleness(const ServeReport& report, std::uint64_t nowMs);

}  // namespace parley::cli
