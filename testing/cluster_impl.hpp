// The state behind parley::testing::Cluster, shared by its .cpp files: the sites with their
// clocks and ids, the partition, and the simulated network.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "parley/sync/link.hpp"
#include "parley/testing/cluster.hpp"
#include "rng.hpp"

namespace parley::testing {

// One message on the link from -> to: one direction of a sync session (parley/sync/link.hpp).
// When it is sent, `from` answers `to`'s hello and pull through the session's answering side
// (an InProcessLink: its hello checks, its chunks cut as over TCP), and the answers are kept:
// `from`'s hello, the chunks of what `to` lacked then, and `from`'s goodbye (acknowledgements
// and end state). When it is delivered, `to` runs the real session (runSession) over a link
// that replays them: its hello checks, each chunk applied as it arrives, the goodbye taken.
// Nothing goes back: the faults act on whole messages.
struct Message {
  std::uint64_t number = 0;  // in send order, for the trace
  std::size_t from = 0;
  std::size_t to = 0;
  sync::Hello hello;
  std::vector<sync::Chunk> chunks;
  std::uint64_t transactions = 0;
  sync::Goodbye goodbye;
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
  // `from`'s side of a session with `to`, now: fail() naming a refusal.
  Message compose(std::size_t from, std::size_t to);
  void enqueue(std::size_t from, std::size_t to);
  // What `m.to` applied of the message.
  ApplyResult receive(const Message& m);
  std::size_t pick();
  bool settled() const;
  void antiEntropyRound();
};

// `more` added to `total`.
void addApplyResult(ApplyResult& total, ApplyResult more);

// SQL text for a value list: "(1, 'x', NULL)".
std::string rowText(const Row& row);

}  // namespace parley::testing
