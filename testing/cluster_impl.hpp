// The state behind parley::testing::Cluster, shared by its .cpp files: the sites with their
// clocks and ids, the partition, and the simulated network.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "parley/sync/session.hpp"
#include "parley/testing/cluster.hpp"
#include "rng.hpp"

namespace parley::testing {

// One message on the link from -> to: a sync session's stream (the chunks of what `to` lacked
// when it was sent, cut by parley/sync/session.hpp as over TCP) and the sender's
// acknowledgements. The handshake's checks ran when it was sent.
struct Message {
  std::uint64_t number = 0;  // in send order, for the trace
  std::size_t from = 0;
  std::size_t to = 0;
  std::vector<sync::Chunk> chunks;
  std::uint64_t transactions = 0;
  std::vector<std::pair<SiteId, VersionVector>> acknowledgements;
};

struct ClusterState {
  explicit ClusterState(Options o) : options(std::move(o)), rng(options.seed) {}

  Options options;
  // Declared before sites so they outlive them.
  std::vector<std::unique_ptr<ManualClock>> clocks;
  std::vector<std::unique_ptr<FixedIdSource>> ids;
  std::vector<std::unique_ptr<Site>> sites;
  std::vector<std::string> tables;  // tracked, in the order they were tracked
  std::vector<std::size_t> group;   // per site: its partition group
  std::deque<Message> queue;        // messages in flight, oldest first
  std::uint64_t messages = 0;
  Rng rng;
  NetworkStats stats;
  std::vector<std::string> trace;

  // Throws ClusterError(what) with the seed.
  [[noreturn]] void fail(const std::string& what) const;
  // Throws ClusterError unless `site` is an index of a site.
  Site& at(std::size_t site) const;
  std::string siteName(std::size_t site) const;

  // cluster_sites.cpp
  void createSite(std::size_t index);
  void findTables();
  // Tracks the tables at site `index` and registers it with every site before it.
  void joinSite(std::size_t index);
  void trackTables(Site& site);
  // The tables converged() and dump() read: the tracked ones (site 0's when the test tracks).
  std::vector<std::string> comparedTables() const;

  // network.cpp
  // The hello checks of a session between two sites (compatible, same histories, same rows
  // at equal vectors, forgotten sites): fail() naming the refusal.
  void handshake(std::size_t from, std::size_t to);
  Message compose(std::size_t from, std::size_t to);
  void enqueue(std::size_t from, std::size_t to);
  // What `m.to` applied of the message.
  ApplyResult receive(const Message& m);
  std::size_t pick();
  bool settled() const;
  void antiEntropyRound();
};

// What a receiver's applier counted, as Site::apply's result; and `more` added to `total`.
ApplyResult applyResultOf(const sync::ApplyTotals& totals);
void addApplyResult(ApplyResult& total, ApplyResult more);

// SQL text for a value list: "(1, 'x', NULL)".
std::string rowText(const Row& row);

}  // namespace parley::testing
