#include "parley/sync/acknowledgements.hpp"
#include "parley/replication.hpp"

#include <set>
#include <thread>

#include <fmt/format.h>

namespace parley::sync {
namespace {

Result<bool> acknowledgedBy(Site& site, const SiteId& peer, const VersionVector& token) {
  auto acks = site.replication().acknowledgements();
  if (!acks) return acks.status();
  for (const auto& [id, v] : *acks)
    if (id == peer && token.leq(v)) return true;
  return false;
}

// One round: a sync with every peer. What it found.
struct Round {
  std::set<SiteId> acked;
  std::string lastError;
  bool sameSiteTwice = false;
};

Result<Round> pushToAll(Site& site, const VersionVector& token, const AckWait& wait) {
  Round round;
  std::set<SiteId> reached;
  for (const auto& peer : wait.peers) {
    auto r = syncTcp(site, peer, wait.tcp);
    if (!r) {
      round.lastError = r.status().message();
      continue;
    }
    if (!reached.insert(r->peer.site).second) round.sameSiteTwice = true;
    if (r->peer.site == site.id()) continue;
    auto acked = acknowledgedBy(site, r->peer.site, token);
    if (!acked) return acked.status();
    if (*acked) round.acked.insert(r->peer.site);
  }
  return round;
}

}  // namespace

Status waitForAcknowledgements(Site& site, const VersionVector& token, const AckWait& wait) {
  if (wait.peers.size() < wait.needed)
    return Status::invalidArgument(fmt::format("waiting for {} acknowledgements needs at least {} peers, got {}",
                                               wait.needed, wait.needed, wait.peers.size()));
  auto deadline = std::chrono::steady_clock::now() + wait.timeout;  // how long the caller waits; no data sees it
  Round round;
  while (true) {
    auto r = pushToAll(site, token, wait);
    if (!r) return r.status();
    round = std::move(r).value();
    if (round.acked.size() >= wait.needed) return Status::ok();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(wait.poll);
  }
  return Status::notReady(fmt::format(
      "the write is committed locally (token {}), but only {} of {} peers acknowledged it within {} s{}",
      commitToken(token), round.acked.size(), wait.needed, static_cast<double>(wait.timeout.count()) / 1000,
      round.sameSiteTwice        ? " (several --peer addresses reach the same site; it counts once)"
      : round.lastError.empty() ? ""
                                 : " (" + round.lastError + ")"));
}

}  // namespace parley::sync
