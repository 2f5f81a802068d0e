#include "support/workload.hpp"
#include "parley/replication.hpp"

#include <algorithm>
#include <map>
#include <span>
#include <sstream>

namespace parley::test {

void ApplyTally::add(const ApplyResult& r) {
  ++applies;
  conflicts += r.conflicts.size();
  rejected += r.rejected;
  refolded += r.refolded;
}

const char* deliveryOrderName(DeliveryOrder order) {
  switch (order) {
    case DeliveryOrder::kOriginBatches:
      return "origin batches";
    case DeliveryOrder::kShuffled:
      return "shuffled with retries";
    case DeliveryOrder::kOneBatch:
      return "one batch";
  }
  return "?";
}

namespace {

bool readyAfter(const Transaction& t, const VersionVector& held) {
  return held.get(t.dot.site) + 1 == t.dot.seq && t.context.leq(held);
}

void applyChunk(Site& site, std::span<const Transaction> chunk, ApplyTally& tally,
                const std::function<void()>& afterEach) {
  tally.add(applyOk(site, chunk));
  if (afterEach) afterEach();
}

// Picks an origin whose next transaction is ready, then applies a random-length run of that
// origin's transactions, as long as each is ready after the ones before it.
void deliverByOrigin(Site& site, std::vector<Transaction> txns, std::mt19937& rng,
                     ApplyTally& tally, std::string& log, const std::function<void()>& afterEach) {
  std::map<SiteId, std::vector<Transaction>> byOrigin;  // each in seq order
  std::sort(txns.begin(), txns.end(),
            [](const Transaction& a, const Transaction& b) { return a.dot < b.dot; });
  for (auto& t : txns) byOrigin[t.dot.site].push_back(std::move(t));
  std::map<SiteId, std::size_t> next;
  VersionVector held = site.vector().value();
  for (std::size_t left = txns.size(); left > 0;) {
    std::vector<SiteId> ready;
    for (const auto& [origin, list] : byOrigin)
      if (next[origin] < list.size() && readyAfter(list[next[origin]], held))
        ready.push_back(origin);
    REQUIRE_FALSE(ready.empty());
    const SiteId& origin = ready[rng() % ready.size()];
    const auto& list = byOrigin[origin];
    std::size_t from = next[origin];
    std::size_t want = 1 + rng() % (list.size() - from);
    std::size_t to = from;
    while (to < list.size() && to - from < want && readyAfter(list[to], held))
      held.advance(list[to++].dot);
    log += " " + origin.shortHex() + "[" + std::to_string(list[from].dot.seq) + ".." +
           std::to_string(list[to - 1].dot.seq) + "]";
    applyChunk(site, std::span<const Transaction>(list.data() + from, to - from), tally, afterEach);
    next[origin] = to;
    left -= to - from;
  }
}

// Applies random chunks of the shuffled set; a chunk whose dependencies are missing is refused
// whole (kNotReady, nothing applied) and tried again later.
void deliverShuffled(Site& site, std::vector<Transaction> txns, std::mt19937& rng,
                     ApplyTally& tally, std::string& log, const std::function<void()>& afterEach) {
  std::shuffle(txns.begin(), txns.end(), rng);
  std::size_t attempts = 0;
  while (!txns.empty()) {
    REQUIRE(++attempts < 100 * (txns.size() + 10));
    std::size_t k = 1 + rng() % std::min<std::size_t>(3, txns.size());
    std::size_t start = rng() % (txns.size() - k + 1);
    std::span<const Transaction> chunk(txns.data() + start, k);
    VersionVector before = site.vector().value();
    auto r = site.replication().apply(chunk);
    if (!r.ok()) {
      INFO("apply of " << k << " shuffled transactions -> " << r.status().toString());
      REQUIRE(r.status().code() == Status::Code::kNotReady);
      REQUIRE(site.vector().value() == before);
      ++tally.notReadyRetries;
      continue;
    }
    log += " " + std::to_string(k);
    tally.add(*r);
    if (afterEach) afterEach();
    txns.erase(txns.begin() + static_cast<std::ptrdiff_t>(start),
               txns.begin() + static_cast<std::ptrdiff_t>(start + k));
  }
}

}  // namespace

void deliverInRandomOrder(Site& site, std::vector<Transaction> txns, DeliveryOrder order,
                          std::mt19937& rng, ApplyTally& tally, std::string& log,
                          const std::function<void()>& afterEach) {
  log += std::string("deliver ") + std::to_string(txns.size()) + " to " + site.name() + ", " +
         deliveryOrderName(order) + ":";
  switch (order) {
    case DeliveryOrder::kOriginBatches:
      deliverByOrigin(site, std::move(txns), rng, tally, log, afterEach);
      break;
    case DeliveryOrder::kShuffled:
      deliverShuffled(site, std::move(txns), rng, tally, log, afterEach);
      break;
    case DeliveryOrder::kOneBatch:
      std::shuffle(txns.begin(), txns.end(), rng);
      applyChunk(site, txns, tally, afterEach);
      break;
  }
  log += "\n";
}

void syncUntilEqual(testing::Cluster& cluster, ApplyTally& tally) {
  auto allEqual = [&] {
    for (std::size_t i = 1; i < cluster.size(); ++i)
      if (!(cluster[i].vector().value() == cluster[0].vector().value())) return false;
    return true;
  };
  // Through site 0: it gathers everything, then hands everything on. Once is enough for a
  // correct site; the bound catches one that does not take what it is sent.
  for (int round = 0; !allEqual(); ++round) {
    REQUIRE(round < 3);
    for (std::size_t i = 1; i < cluster.size(); ++i) tally.add(cluster.deliver(i, 0));
    for (std::size_t i = 1; i < cluster.size(); ++i) tally.add(cluster.deliver(0, i));
  }
  // Everyone now holds everything. Acknowledgements gossip: gathered at site 0, then handed on,
  // every site learns that every other holds everything.
  for (std::size_t i = 1; i < cluster.size(); ++i) passAcknowledgements(cluster[i], cluster[0]);
  for (std::size_t i = 1; i < cluster.size(); ++i) passAcknowledgements(cluster[0], cluster[i]);
}

namespace {

std::string keyText(const Row& pk) {
  std::string out = "(";
  for (std::size_t i = 0; i < pk.size(); ++i) out += (i ? ", " : "") + pk[i].toSqlLiteral();
  return out + ")";
}

std::string kindText(ConflictKind k) {
  switch (k) {
    case ConflictKind::kCell:
      return "cell";
    case ConflictKind::kInsertInsert:
      return "insert/insert";
    case ConflictKind::kUpdateDelete:
      return "update/delete";
    case ConflictKind::kDeleteUpdate:
      return "delete/update";
    case ConflictKind::kRejected:
      return "rejected";
    case ConflictKind::kSchema:
      return "schema";
  }
  return "?";
}

std::string outcomeText(ConflictOutcome o) {
  switch (o) {
    case ConflictOutcome::kAppliedRemote:
      return "applied-remote";
    case ConflictOutcome::kKeptLocal:
      return "kept-local";
    case ConflictOutcome::kMerged:
      return "merged";
    case ConflictOutcome::kRejected:
      return "rejected";
  }
  return "?";
}

// The local dots, sorted: a site may list them in any order.
std::string localDotsText(Dots dots) {
  std::sort(dots.begin(), dots.end());
  std::string out = "{";
  for (const auto& d : dots) out += (out.size() > 1 ? " " : "") + d.toString();
  return out + "}";
}

}  // namespace

std::vector<ConflictIdentity> conflictIdentities(Site& site) {
  auto log = site.conflicts();
  REQUIRE_OK(log);
  std::vector<ConflictIdentity> out;
  for (const auto& c : *log)
    out.emplace_back(c.remoteDot, c.table, keyText(c.pk), c.column, kindText(c.kind),
                     outcomeText(c.outcome), localDotsText(c.localDots));
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe(const ConflictIdentity& c) {
  const auto& [dot, table, pk, column, kind, outcome, local] = c;
  return dot.toString() + " " + table + pk + "." + column + " " + kind + " " + outcome + " over " + local;
}

std::string describe(const std::vector<ConflictIdentity>& cs) {
  std::string out;
  for (const auto& c : cs) out += describe(c) + "\n";
  return out.empty() ? "(no conflicts)\n" : out;
}

std::string difference(const std::vector<ConflictIdentity>& a,
                       const std::vector<ConflictIdentity>& b) {
  std::vector<ConflictIdentity> onlyA, onlyB;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(onlyA));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(onlyB));
  return "only in the first:\n" + describe(onlyA) + "only in the second:\n" + describe(onlyB);
}

Decision decisionOk(Site& site, const Dot& dot) {
  auto d = site.decision(dot);
  if (!d.ok()) {  // checked by hand: this runs thousands of times per test
    INFO("decision(" << dot.toString() << ") at " << site.name() << " -> "
                     << d.status().toString());
    REQUIRE(d.ok());
  }
  return *d;
}

}  // namespace parley::test
