// growth (figure 6): whether costs stay flat as history and clusters grow.
//
// (i) history: sites A and B share H transactions of history (B is a clone of A after them).
//     Each repetition, A commits K new single-row transactions and B syncs with A over
//     loopback TCP (sync::Server on A, sync::syncTcp from B); only that sync is timed.
//     Compared: H small vs H large, side by side, best of R.
// (ii) vectors: a receiver R and a producer P share a cluster of S sites that each wrote, so
//     every vector and causal context names S sites, and R holds every member's
//     acknowledgement. Each repetition, P commits K new single-row transactions and R applies
//     them as a sync does (Site::applyEncoded of what P's forEachChangeSince() hands out,
//     decoded beforehand, one call); only the apply is timed. Compared: S = 2 vs each large S
//     of --sites (50 and 1,000), side by side, best of R.
// (iii) as (ii), but one Site::apply call per transaction, as a live stream applies them: what
//     each call costs beyond its transaction (settling finality, the commit) must not grow with S.
#include <algorithm>
#include <sstream>

#include "common.hpp"
#include "parley/replication.hpp"
#include "parley/sync/in_process.hpp"
#include "parley/sync/tcp.hpp"
#include "parley/txn_codec.hpp"

namespace {

const char* kTable = "CREATE TABLE g(id INTEGER PRIMARY KEY, v INTEGER)";
constexpr std::int64_t kRows = 1000;

void commitSingles(parley::Site& site, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i)
    bench::ok(site.exec("UPDATE g SET v = v + 1 WHERE id = ?1", {parley::Value::integer(i % kRows + 1)}));
}

std::unique_ptr<parley::Site> seed(bench::SiteEnv& env, const std::string& path, const std::string& name) {
  auto site = bench::createSite(env, path, name);
  bench::exec(*site, kTable);
  bench::exec(*site, bench::fillSql("g", kRows, "0"));
  bench::check(site->track("g"));
  return site;
}

struct Pair {
  std::unique_ptr<parley::Site> a, b;
  std::string path;  // a's file
};

// The bytes a site occupies on disk: its file and its WAL.
double onDiskMb(const std::string& path) {
  std::uintmax_t bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path + suffix, ec);
    if (!ec) bytes += n;
  }
  return static_cast<double>(bytes) / 1e6;
}

Pair withHistory(bench::SiteEnv& env, const std::string& dir, const std::string& tag, std::int64_t history) {
  Pair p;
  p.path = dir + "/growth-" + tag + "-a.db";
  p.a = seed(env, p.path, tag + "-a");
  commitSingles(*p.a, history);
  p.b = bench::cloneSite(env, *p.a, dir + "/growth-" + tag + "-b.db", tag + "-b");
  return p;
}

double incrementalSync(Pair& p, std::int64_t added) {
  commitSingles(*p.a, added);
  parley::sync::TcpOptions tcp{"0159438a9235d6abde38e49fb98944660d067d6b9b03d8a8f4ee4e522feb62cb", std::chrono::seconds(60), parley::sync::kChunkBytes, {}};
  auto server = bench::ok(parley::sync::Server::start(*p.a, "127.0.0.1:0", tcp));
  parley::sync::SyncSummary r;
  double s = bench::seconds(
      [&] { r = bench::ok(parley::sync::syncTcp(*p.b, fmt::format("127.0.0.1:{}", server->port()), tcp)); });
  server->stop();
  if (r.received.applied != static_cast<std::uint64_t>(added))
    bench::fail(fmt::format("incremental sync applied {} of {} transactions", r.received.applied, added));
  return s;
}

struct Cluster {
  std::unique_ptr<parley::Site> receiver, producer;
};

// The transactions `from` holds that `to` lacks, applied at `to` as a sync applies them.
void deliver(parley::Site& from, parley::Site& to) {
  std::vector<parley::Transaction> txns;
  std::vector<std::string> bodies;
  bench::check(from.replication().forEachChangeSince(
      bench::ok(to.vector()), [&](const parley::Dot&, parley::Hlc, std::string_view body) {
        txns.push_back(parley::decodeTransaction(body).value());
        bodies.emplace_back(body);
        return parley::Status::ok();
      }));
  std::vector<std::string_view> views(bodies.begin(), bodies.end());
  bench::ok(to.replication().applyEncoded(txns, views));
}

// The receiver hears from S - 2 writers, each a clone of the cluster's first state that wrote one
// transaction, and from the producer; then every member acknowledges what the receiver holds, as
// in a cluster at rest. Each writer's transaction is delivered alone, so that setting up costs
// O(S) (syncing each writer with the receiver, acknowledgements both ways, cost O(S^2): 1,000
// sites took hours).
Cluster withSites(bench::SiteEnv& env, const std::string& dir, const std::string& tag, std::int64_t sites) {
  Cluster c;
  c.receiver = seed(env, dir + "/growth-" + tag + "-r.db", tag + "-r");
  auto first = bench::cloneSite(env, *c.receiver, dir + "/growth-" + tag + "-0.db", tag + "-0");
  std::vector<parley::SiteId> members;
  for (std::int64_t k = 2; k < sites; ++k) {
    auto w = bench::cloneSite(env, *first, dir + "/growth-" + tag + "-w.db", fmt::format("{}-w{}", tag, k));
    bench::ok(w->exec("UPDATE g SET v = v + 1 WHERE id = ?1", {parley::Value::integer(k % kRows + 1)}));
    deliver(*w, *c.receiver);
    members.push_back(w->id());
  }
  c.producer = bench::cloneSite(env, *c.receiver, dir + "/growth-" + tag + "-p.db", tag + "-p");
  commitSingles(*c.producer, 1);
  deliver(*c.producer, *c.receiver);
  members.push_back(c.producer->id());
  auto held = bench::ok(c.receiver->vector());
  std::vector<std::pair<parley::SiteId, parley::VersionVector>> acks;
  for (const auto& m : members) acks.emplace_back(m, held);
  bench::check(c.receiver->replication().acknowledge(acks));
  bench::check(c.producer->replication().acknowledge(acks));
  auto named = static_cast<std::int64_t>(held.entries().size());
  if (named != sites) bench::fail(fmt::format("the receiver's vector names {} sites, expected {}", named, sites));
  return c;
}

// What the producer has that the receiver lacks, decoded and as encoded, as a sync receives it.
struct Received {
  std::vector<parley::Transaction> txns;
  std::vector<std::string> bodies;
};

Received receive(Cluster& c) {
  Received in;
  bench::check(c.producer->replication().forEachChangeSince(
      c.receiver->vector().value(), [&](const parley::Dot&, parley::Hlc, std::string_view body) {
        in.txns.push_back(parley::decodeTransaction(body).value());
        in.bodies.emplace_back(body);
        return parley::Status::ok();
      }));
  return in;
}

// Applies in[first, first + n) as sync and streams do: applyEncoded, which keeps the bytes.
std::size_t applyRange(Cluster& c, const Received& in, std::size_t first, std::size_t n) {
  std::vector<std::string_view> bodies(in.bodies.begin() + static_cast<std::ptrdiff_t>(first),
                                       in.bodies.begin() + static_cast<std::ptrdiff_t>(first + n));
  return bench::ok(
             c.receiver->replication().applyEncoded(std::span(in.txns).subspan(first, n), bodies))
      .applied;
}

double applyNew(Cluster& c, std::int64_t added) {
  commitSingles(*c.producer, added);
  Received in = receive(c);
  std::size_t applied = 0;
  double s = bench::seconds([&] { applied = applyRange(c, in, 0, in.txns.size()); });
  if (applied != static_cast<std::size_t>(added))
    bench::fail(fmt::format("apply applied {} of {} transactions", applied, added));
  return s;
}

// As applyNew, one apply call per transaction.
double applyEach(Cluster& c, std::int64_t added) {
  commitSingles(*c.producer, added);
  Received in = receive(c);
  std::size_t applied = 0;
  double s = bench::seconds([&] {
    for (std::size_t i = 0; i < in.txns.size(); ++i) applied += applyRange(c, in, i, 1);
  });
  if (applied != static_cast<std::size_t>(added))
    bench::fail(fmt::format("apply applied {} of {} transactions", applied, added));
  return s;
}

void row(const std::string& figure, const std::string& what, const std::string& small, const std::string& large,
         double s, double l, std::int64_t added) {
  std::printf("| %s | %s | %s: %.4f s (%s) | %s: %.4f s (%s) | %.2fx |\n", figure.c_str(), what.c_str(), small.c_str(), s,
              bench::rate(static_cast<double>(added) / s).c_str(), large.c_str(), l,
              bench::rate(static_cast<double>(added) / l).c_str(), l / s);
  bench::summary(fmt::format("{} growth: {}, {} vs {}", figure, what, large, small), "<= 1.2x (flat)",
                 fmt::format("{:.2f}x ({:.4f} s vs {:.4f} s)", l / s, l, s), l / s <= 1.2);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     {{"new", "1000"}, {"small-history", "1000"}, {"large-history", "100000"}, {"sites", "50,1000"},
                      {"reps", "3"}, {"dir", "/tmp/parley-bench"}},
                     "[--new K] [--small-history H] [--large-history H] [--sites S,S..] [--reps R] [--dir D]");
  if (flags.smoke()) {
    flags.fallback("new", "100");
    flags.fallback("small-history", "100");
    flags.fallback("large-history", "1000");
    flags.fallback("sites", "5");
    flags.fallback("reps", "1");
  }
  std::int64_t added = flags.integer("new"), reps = flags.integer("reps");
  std::vector<std::int64_t> sizes;
  {
    std::stringstream in(flags.text("sites"));
    for (std::string item; std::getline(in, item, ',');)
      if (!item.empty()) sizes.push_back(std::stoll(item));
  }
  std::int64_t smallH = flags.integer("small-history"), largeH = flags.integer("large-history");
  std::string dir = bench::workDir(flags.text("dir"));
  bench::SiteEnv env;

  Pair small = withHistory(env, dir, "h1", smallH), large = withHistory(env, dir, "h2", largeH);
  double smallMb = onDiskMb(small.path), largeMb = onDiskMb(large.path);
  double syncSmall = 1e9, syncLarge = 1e9;
  for (std::int64_t r = 0; r < reps; ++r) {
    syncSmall = std::min(syncSmall, incrementalSync(small, added));
    syncLarge = std::min(syncLarge, incrementalSync(large, added));
  }
  // Per large size: 6ii and 6iii against the same two-site cluster, alternating.
  struct Sized {
    std::int64_t sites;
    double applyTwo = 1e9, applyMany = 1e9, eachTwo = 1e9, eachMany = 1e9;
  };
  std::vector<Sized> sized;
  Cluster two = withSites(env, dir, "s1", 2);
  for (std::int64_t sites : sizes) {
    Cluster many = withSites(env, dir, fmt::format("s{}", sites), sites);
    Sized z{sites};
    for (std::int64_t r = 0; r < reps; ++r) {
      z.applyTwo = std::min(z.applyTwo, applyNew(two, added));
      z.applyMany = std::min(z.applyMany, applyNew(many, added));
    }
    for (std::int64_t r = 0; r < reps; ++r) {
      z.eachTwo = std::min(z.eachTwo, applyEach(two, added));
      z.eachMany = std::min(z.eachMany, applyEach(many, added));
    }
    sized.push_back(z);
  }
  std::printf("| figure | measured | small | large | large / small |\n|---|---|---:|---:|---:|\n");
  row("6i", fmt::format("TCP sync of {} new txns", added), fmt::format("{} txns of history", smallH),
      fmt::format("{} txns of history", largeH), syncSmall, syncLarge, added);
  for (const auto& z : sized)
    row("6ii", fmt::format("apply of {} new txns", added), "2 sites", fmt::format("{} sites", z.sites), z.applyTwo,
        z.applyMany, added);
  for (const auto& z : sized)
    row("6iii", fmt::format("apply of {} new txns, one call each", added), "2 sites", fmt::format("{} sites", z.sites),
        z.eachTwo, z.eachMany, added);
  std::printf("\nBest of %lld alternating repetitions; the vectors of 6ii name every site of the cluster.\n"
              "On disk after the history (site file + WAL, while open): %.1f MB for %lld txns, %.1f MB for %lld txns"
              " (%.1f KB per transaction).\n",
              static_cast<long long>(reps), smallMb, static_cast<long long>(smallH), largeMb,
              static_cast<long long>(largeH), largeMb * 1e3 / static_cast<double>(largeH));
  return 0;
}
