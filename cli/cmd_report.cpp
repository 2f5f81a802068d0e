// parley status and parley conflicts: what a site holds, its peers' lag, and its conflicts.
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"

namespace parley::cli {
namespace {

const Command kStatus{"status", "SITE.db [--json]",
                      "Shows the site's id, vector, tracked tables and resolvers, each peer's acknowledged vector\n"
                      "and lag (transactions and seconds), the log's size and the open conflicts."};
const Command kConflicts{"conflicts", "SITE.db [options]",
                         "Lists the conflict log. Settle a conflict by hand by writing the value you want with\n"
                         "parley exec: it is a new write and replicates like any other."};

std::string keyText(const Row& pk) {
  std::string out;
  for (const auto& v : pk) out += (out.empty() ? "" : ",") + v.toSqlLiteral();
  return out;
}

std::string lastSync(const PeerStatus& p) {
  if (!p.lastSyncMs) return "never";
  auto now = env().clock.nowMillis();
  return now > *p.lastSyncMs ? fmt::format("{:.1f} s ago", (now - *p.lastSyncMs) / 1000.0) : "just now";
}

std::string ago(std::uint64_t atMs) {
  auto now = env().clock.nowMillis();
  return now > atMs ? fmt::format("{:.1f} s ago", (now - atMs) / 1000.0) : "just now";
}

std::string duration(std::uint64_t ms) {
  double seconds = static_cast<double>(ms) / 1000.0;
  if (seconds < 120) return fmt::format("{:.1f} s", seconds);
  if (seconds < 7200) return fmt::format("{:.1f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

// The origins whose transactions arrived beyond the clock skew bound and are still ahead.
void printSkews(Site& site) {
  auto skews = take(site.clockSkews());
  if (skews.empty()) return;
  Table t{{"clock skew", "greatest", "seen", "ahead now", "fix the clock at"}, {}};
  for (const auto& r : skews)
    t.rows.push_back({r.origin.shortHex(), duration(r.greatestAheadMs), ago(r.greatestAtMs), duration(r.aheadNowMs),
                      r.source.shortHex()});
  std::cout << "\n";
  printTable(std::cout, t);
  std::cout << "These sites' transactions arrive stamped ahead of this site's clock. Fix the clock at the site\n"
               "named: its writes win lww conflicts until real time catches up.\n";
}

struct Counts {
  std::size_t open = 0, rejectedHere = 0;
};

Counts countConflicts(Site& site) {
  Counts c;
  for (const auto& r : take(site.conflicts())) c.open += !r.final;
  c.rejectedHere = take(site.rejectedWrites()).size();
  return c;
}

void statusJson(Site& site) {
  auto [count, bytes] = take(site.logSize());
  Counts counts = countConflicts(site);
  std::cout << "{\"site\": " << jsonString(site.id().hex()) << ", \"name\": " << jsonString(site.name())
            << ", \"cluster\": " << jsonString(site.clusterId().hex()) << ", \"vector\": " << jsonString(tokenOf(take(site.vector())))
            << ", \"tables\": {";
  auto tables = site.trackedTables();
  for (std::size_t i = 0; i < tables.size(); ++i)
    std::cout << (i ? ", " : "") << jsonString(tables[i]) << ": " << jsonString(take(site.config(tables[i])).toString());
  std::cout << "}, \"peers\": [";
  auto peers = take(site.peers());
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const auto& p = peers[i];
    std::cout << (i ? ", " : "") << "{\"site\": " << jsonString(p.site.hex()) << ", \"acknowledged\": "
              << jsonString(tokenOf(p.acknowledged)) << ", \"pending\": " << p.pending << ", \"lag_seconds\": "
              << p.lagSeconds << ", \"last_sync_ms\": " << (p.lastSyncMs ? std::to_string(*p.lastSyncMs) : "null") << "}";
  }
  std::cout << "], \"divergences\": [";
  auto divergences = take(site.divergences());
  for (std::size_t i = 0; i < divergences.size(); ++i) {
    const auto& d = divergences[i];
    std::cout << (i ? ", " : "") << "{\"peer\": " << jsonString(d.peer.hex()) << ", \"name\": " << jsonString(d.peerName)
              << ", \"detected_ms\": " << d.detectedMs << ", \"message\": " << jsonString(d.message) << "}";
  }
  std::cout << "], \"clock_skew\": [";
  auto skews = take(site.clockSkews());
  for (std::size_t i = 0; i < skews.size(); ++i) {
    const auto& r = skews[i];
    std::cout << (i ? ", " : "") << "{\"site\": " << jsonString(r.origin.hex()) << ", \"source\": "
              << jsonString(r.source.hex()) << ", \"greatest_ahead_ms\": " << r.greatestAheadMs
              << ", \"seen_ms\": " << r.greatestAtMs << ", \"last_ms\": " << r.lastAtMs
              << ", \"ahead_now_ms\": " << r.aheadNowMs << "}";
  }
  std::cout << "], \"log\": {\"transactions\": " << count << ", \"bytes\": " << bytes << "}, \"open_conflicts\": "
            << counts.open << ", \"rejected_writes\": " << counts.rejectedHere << "}\n";
}

void statusText(Site& site) {
  auto [count, bytes] = take(site.logSize());
  Counts counts = countConflicts(site);
  std::cout << fmt::format("site     {} ({})\ncluster  {}\nvector   {}\n", site.name(), site.id().hex(),
                           site.clusterId().hex(), take(site.vector()).toString());
  for (const auto& t : site.trackedTables()) std::cout << fmt::format("table    {}: {}\n", t, take(site.config(t)).toString());
  std::cout << fmt::format("log      {} transactions, {} bytes\nconflicts {} open (provisional), {} of this site's writes rejected\n",
                           count, bytes, counts.open, counts.rejectedHere);
  Table peers{{"peer", "acknowledged", "pending", "lag", "last sync"}, {}};
  for (const auto& p : take(site.peers()))
    peers.rows.push_back({p.site.shortHex(), p.acknowledged.toString(), std::to_string(p.pending),
                          fmt::format("{:.1f} s", p.lagSeconds), lastSync(p)});
  std::cout << "\n";
  printTable(std::cout, peers);
  for (const auto& d : take(site.divergences()))
    std::cout << fmt::format("\nDIVERGED from {} ({}): {}\n", d.peerName.empty() ? d.peer.shortHex() : d.peerName,
                             d.peer.shortHex(), d.message);
  printSkews(site);
  printRightsSummary(site);
}

}  // namespace

int cmdStatus(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("json", "print as JSON");
  auto vm = parse(kStatus, o, {"SITE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  if (vm->count("json")) statusJson(*site);
  else statusText(*site);
  return 0;
}

int cmdConflicts(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("json", "print as JSON")("table", po::value<std::string>(), "only this table's conflicts")
      ("rejected", "only this site's own rejected writes");
  auto vm = parse(kConflicts, o, {"SITE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::optional<std::string> table;
  if (vm->count("table")) table = (*vm)["table"].as<std::string>();
  auto rows = vm->count("rejected") ? take(site->rejectedWrites()) : take(site->conflicts(table));
  std::vector<std::string> columns{"table", "key", "column", "resolver", "local", "remote", "result",
                                   "outcome", "transaction", "final", "reason"};
  if (vm->count("json")) {
    std::vector<Row> values;
    for (const auto& c : rows)
      values.push_back({Value::text(c.table), Value::text(keyText(c.pk)), Value::text(c.column), Value::text(c.resolver),
                        c.localValue, c.remoteValue, c.result, Value::text(toString(c.outcome)),
                        Value::text(c.remoteDot.toString()), Value::integer(c.final), Value::text(c.reason)});
    printJson(std::cout, columns, values);
    return 0;
  }
  Table t{columns, {}};
  for (const auto& c : rows)
    t.rows.push_back({c.table, keyText(c.pk), c.column, c.resolver, c.localValue.toDisplay(), c.remoteValue.toDisplay(),
                      c.result.toDisplay(), toString(c.outcome), c.remoteDot.toString(), c.final ? "final" : "provisional",
                      c.reason});
  printTable(std::cout, t);
  return 0;
}

}  // namespace parley::cli
