// The simulated network: messages queued per link (each one direction of a real sync session,
// cluster_impl.hpp), the seeded scheduler that delivers, duplicates, reorders or drops them,
// and anti-entropy rounds until the sites settle.
#include <iterator>

#include "cluster_impl.hpp"
#include "parley/replication.hpp"
#include "parley/sync/in_process.hpp"

namespace parley::testing {

namespace {

// A bound on run(): with duplicate < 1 the queue drains long before.
constexpr std::uint64_t kMaxSteps = 10'000'000;

std::string link(const ClusterState& m, const Message& msg) {
  return "#" + std::to_string(msg.number) + " " + m.siteName(msg.from) + "->" + m.siteName(msg.to);
}

// Keeps the chunks a stream carries.
class Recorder final : public sync::ChunkSink {
 public:
  explicit Recorder(std::vector<sync::Chunk>& into) : into_(into) {}
  Status write(sync::Chunk&& chunk) override {
    into_.push_back(std::move(chunk));
    return Status::ok();
  }
  Status finish() override { return Status::ok(); }

 private:
  std::vector<sync::Chunk>& into_;
};

// The link a delivered message is: the sender's answers, as they were when it was sent.
class MessageLink final : public sync::Link {
 public:
  explicit MessageLink(const Message& m) : m_(m) {}
  Result<sync::Hello> hello(const sync::Hello&) override { return m_.hello; }
  Status pull(const VersionVector&, sync::ChunkSink& sink) override {
    for (const auto& chunk : m_.chunks)
      if (auto st = sink.write(sync::Chunk(chunk)); !st) return st;
    return sink.finish();
  }
  Result<std::unique_ptr<sync::ChunkSink>> push() override {
    return Status::unsupported("a simulated message carries nothing back");
  }
  Result<sync::Goodbye> acknowledge(const sync::Goodbye&) override { return m_.goodbye; }

 private:
  const Message& m_;
};

}  // namespace

Message ClusterState::compose(std::size_t from, std::size_t to) {
  std::string session = siteName(from) + "->" + siteName(to);
  Message m{++messages, from, to, {}, {}, 0, {}};
  sync::InProcessLink wire(at(from));  // from's side, answering as a server does
  auto mine = sync::helloOf(at(to));
  if (!mine) fail("hello of " + siteName(to) + ": " + mine.status().toString());
  auto said = wire.hello(*mine);
  if (!said) fail("sync " + session + " refused at " + siteName(from) + ": " + said.status().toString());
  m.hello = std::move(*said);
  Recorder chunks(m.chunks);
  if (auto st = wire.pull(mine->vector, chunks); !st)
    fail("composing a message " + session + ": " + st.toString());
  for (const auto& chunk : m.chunks)
    for (const auto& piece : chunk.pieces) m.transactions += piece.last;
  auto goodbye = sync::goodbyeOf(at(from));
  if (!goodbye) fail("goodbye of " + siteName(from) + ": " + goodbye.status().toString());
  m.goodbye = std::move(*goodbye);
  return m;
}

ApplyResult ClusterState::receive(const Message& m) {
  MessageLink wire(m);
  sync::SessionOptions oneWay;
  oneWay.push = false;
  oneWay.keepConflicts = true;  // deliver() returns them
  auto r = sync::runSession(at(m.to), wire, oneWay);
  if (!r) fail("delivery of message " + link(*this, m) + " refused at " + siteName(m.to) + ": " + r.status().toString());
  ++stats.delivered;
  const sync::ApplyTotals& applied = r->received;
  trace.push_back("deliver " + link(*this, m) + ": " + std::to_string(m.transactions) + " txns, " +
                  std::to_string(applied.applied) + " new, " + std::to_string(applied.conflicts) + " conflicts");
  for (const auto& warning : applied.warnings)
    trace.push_back("warning at " + siteName(m.to) + ": " + warning.message);
  return applied.result();
}

std::size_t ClusterState::pick() {
  bool shuffle = rng.chance(options.faults.reorder);
  if (!shuffle || queue.size() < 2) return 0;
  std::size_t i = rng.below(queue.size());
  if (i != 0) ++stats.reordered;
  return i;
}

bool ClusterState::settled() const {
  for (std::size_t i = 0; i < sites.size(); ++i) {
    auto acks = sites[i]->replication().acknowledgements();
    if (!acks) fail("reading acknowledgements at " + siteName(i) + ": " + acks.status().toString());
    for (std::size_t j = 0; j < sites.size(); ++j) {
      if (i == j || group[i] != group[j]) continue;
      VersionVector held = sites[j]->vector().value();
      if (sites[i]->vector().value() != held) return false;
      bool known = false;
      for (const auto& [site, vector] : *acks)
        if (site == sites[j]->id()) known = vector == held;
      if (!known) return false;
    }
  }
  return true;
}

void ClusterState::antiEntropyRound() {
  for (std::size_t i = 0; i < sites.size(); ++i)
    for (std::size_t j = 0; j < sites.size(); ++j)
      if (i != j && group[i] == group[j]) enqueue(i, j);
}

void ClusterState::enqueue(std::size_t from, std::size_t to) {
  queue.push_back(compose(from, to));
  ++stats.sent;
  trace.push_back("send " + link(*this, queue.back()) + ": " +
                  std::to_string(queue.back().transactions) + " txns");
}

void Cluster::send(std::size_t from, std::size_t to) {
  ClusterState& m = *impl_;
  if (from == to) m.fail("send: " + m.siteName(from) + " cannot send to itself");
  if (!connected(from, to))
    m.fail("send: " + m.siteName(from) + " and " + m.siteName(to) + " are partitioned");
  m.enqueue(from, to);
}

ApplyResult Cluster::deliver(std::size_t from, std::size_t to) {
  send(from, to);
  ClusterState& m = *impl_;
  ApplyResult total;
  for (auto it = m.queue.begin(); it != m.queue.end();) {
    if (it->from != from || it->to != to) {
      ++it;
      continue;
    }
    Message msg = std::move(*it);
    it = m.queue.erase(it);
    addApplyResult(total, m.receive(msg));
  }
  return total;
}

bool Cluster::step() {
  ClusterState& m = *impl_;
  if (m.queue.empty()) return false;
  auto it = m.queue.begin() + static_cast<std::ptrdiff_t>(m.pick());
  Message msg = std::move(*it);
  m.queue.erase(it);
  if (m.group[msg.from] != m.group[msg.to]) {
    ++m.stats.cut;
    m.trace.push_back("cut " + link(m, msg));
    return true;
  }
  if (m.rng.chance(m.options.faults.drop)) {
    ++m.stats.dropped;
    m.trace.push_back("drop " + link(m, msg));
    return true;
  }
  bool again = m.rng.chance(m.options.faults.duplicate);
  m.receive(msg);
  if (again) {
    ++m.stats.duplicated;
    m.trace.push_back("duplicate " + link(m, msg));
    m.queue.push_back(std::move(msg));
  }
  return true;
}

void Cluster::run() {
  for (std::uint64_t n = 0; step(); ++n)
    if (n >= kMaxSteps)
      impl_->fail("run: the queue did not drain in " + std::to_string(kMaxSteps) + " steps");
}

void Cluster::syncAll() {
  ClusterState& m = *impl_;
  for (std::size_t round = 0; round < m.options.maxRounds; ++round) {
    if (m.queue.empty() && m.settled()) return;
    m.antiEntropyRound();
    run();
  }
  if (m.queue.empty() && m.settled()) return;
  m.fail("syncAll: connected sites still differ after " + std::to_string(m.options.maxRounds) +
         " anti-entropy rounds (drop=" + std::to_string(m.options.faults.drop) + ")");
}

std::size_t Cluster::pending() const {
  return impl_->queue.size();
}
const NetworkStats& Cluster::stats() const {
  return impl_->stats;
}
const std::vector<std::string>& Cluster::trace() const {
  return impl_->trace;
}

}  // namespace parley::testing
