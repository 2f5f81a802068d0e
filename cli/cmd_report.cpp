// parley status and parley conflicts: what a site holds, its peers' lag, and its conflicts.
#include <algorithm>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/replication.hpp"
#include "serve_record.hpp"

namespace parley::cli {
namespace {

const Command kStatus{"status", "SITE.db [--json]",
                      "Shows the site's id, vector, tracked tables and resolvers, the log's size, the open conflicts,\n"
                      "whether a parley serve runs on the site, and for each peer: its name and address, the state of\n"
                      "serve's connection to it and its last error, what it acknowledged, how many of its own\n"
                      "transactions this site applied, its lag (transactions and seconds), clock skew and divergence."};
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
  auto skews = take(site.replication().clockSkews());
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

// One peer as status shows it: what the site knows (acknowledgements, lag), and what a serve
// of this site said of its connection to it, if it is one of the serve's --peer.
struct PeerView {
  std::optional<PeerStatus> status;
  std::optional<ServePeerRecord> link;
  std::string state;           // streaming, connected, retrying, never connected, synced, offline
  std::uint64_t heldOfIts = 0;   // the peer's own transactions this site holds
  std::uint64_t knownOfIts = 0;  // ... of those this site knows it has
  std::optional<std::uint64_t> clockAheadMs;
  std::optional<std::string> divergence;

  std::string name() const {
    if (link && !link->name.empty()) return link->name;
    if (status && !status->name.empty()) return status->name;
    return status ? status->site.shortHex() : link && link->site ? link->site->shortHex() : "unknown";
  }
  std::optional<SiteId> id() const { return status ? std::optional(status->site) : link ? link->site : std::nullopt; }
};

struct StatusView {
  std::optional<ServeReport> serve;
  std::string stale;  // why the serve's report is not current; empty if it is
  std::vector<PeerView> peers;
};

StatusView viewOf(Site& site) {
  StatusView v;
  std::uint64_t now = env().clock.nowMillis();
  v.serve = take(site.replication().serveReport());
  if (v.serve) v.stale = staleness(*v.serve, now);
  auto acks = take(site.replication().acknowledgements());
  VersionVector held = take(site.vector());
  for (auto& p : take(site.replication().peers()))
    v.peers.push_back({std::move(p), {}, "", 0, 0, {}, {}});
  if (v.serve)
    for (const auto& link : v.serve->peers) {
      auto it = std::find_if(v.peers.begin(), v.peers.end(),
                             [&](const PeerView& p) { return link.site && p.status && p.status->site == *link.site; });
      if (it != v.peers.end()) it->link = link;
      else v.peers.push_back({{}, link, "", 0, 0, {}, {}});
    }
  auto skews = take(site.replication().clockSkews());
  auto divergences = take(site.replication().divergences());
  for (auto& p : v.peers) {
    if (p.link) p.state = v.stale.empty() ? p.link->state : "offline";
    else {
      bool recent = p.status && p.status->lastSyncMs && now < *p.status->lastSyncMs + kStaleAfter.count();
      p.state = recent ? "synced" : "offline";
    }
    auto id = p.id();
    if (!id) continue;
    p.heldOfIts = held.get(*id);
    for (const auto& [who, vector] : acks) p.knownOfIts = std::max(p.knownOfIts, vector.get(*id));
    p.knownOfIts = std::max(p.knownOfIts, p.heldOfIts);
    for (const auto& r : skews)
      if (r.origin == *id || r.source == *id) p.clockAheadMs = std::max(p.clockAheadMs.value_or(0), r.aheadNowMs);
    for (const auto& d : divergences)
      if (d.peer == *id) p.divergence = d.message;
  }
  return v;
}

std::string jsonOr(const std::optional<std::string>& s) { return s ? jsonString(*s) : "null"; }
std::string jsonOr(std::optional<std::uint64_t> n) { return n ? std::to_string(*n) : "null"; }
std::optional<std::uint64_t> nonZero(std::uint64_t n) { return n ? std::optional(n) : std::nullopt; }

void serveJson(const StatusView& v) {
  if (!v.serve) {
    std::cout << "null";
    return;
  }
  const auto& r = *v.serve;
  std::cout << "{\"running\": " << (v.stale.empty() ? "true" : "false") << ", \"pid\": " << r.pid
            << ", \"host\": " << jsonString(r.host) << ", \"listen\": " << jsonString(r.listen)
            << ", \"started_ms\": " << r.startedMs << ", \"updated_ms\": " << r.updatedMs
            << ", \"stopped_ms\": " << jsonOr(nonZero(r.stoppedMs))
            << ", \"stale\": " << (v.stale.empty() ? "null" : jsonString(v.stale)) << "}";
}

void peerJson(const PeerView& p) {
  auto id = p.id();
  const auto* link = p.link ? &*p.link : nullptr;
  std::cout << "{\"site\": " << (id ? jsonString(id->hex()) : "null") << ", \"name\": " << jsonString(p.name())
            << ", \"address\": " << (link ? jsonString(link->address) : "null") << ", \"state\": " << jsonString(p.state)
            << ", \"reported_state\": " << (link ? jsonString(link->state) : "null")
            << ", \"state_since_ms\": " << (link ? jsonOr(nonZero(link->sinceMs)) : "null")
            << ", \"last_error\": " << (link && !link->lastError.empty() ? jsonString(link->lastError) : "null")
            << ", \"last_error_ms\": " << (link ? jsonOr(nonZero(link->lastErrorMs)) : "null")
            << ", \"syncs_failed\": " << (link ? link->syncsFailed : 0);
  if (p.status)
    std::cout << ", \"acknowledged\": " << jsonString(tokenOf(p.status->acknowledged)) << ", \"pending\": "
              << p.status->pending << ", \"lag_seconds\": " << p.status->lagSeconds
              << ", \"last_sync_ms\": " << jsonOr(p.status->lastSyncMs);
  else
    std::cout << ", \"acknowledged\": null, \"pending\": null, \"lag_seconds\": null, \"last_sync_ms\": null";
  std::cout << ", \"applied\": {\"held\": " << p.heldOfIts << ", \"known\": " << p.knownOfIts << "}"
            << ", \"behind\": " << p.knownOfIts - p.heldOfIts << ", \"clock_ahead_ms\": " << jsonOr(p.clockAheadMs)
            << ", \"divergence\": " << jsonOr(p.divergence) << "}";
}

void statusJson(Site& site) {
  auto [count, bytes] = take(site.replication().logSize());
  Counts counts = countConflicts(site);
  StatusView view = viewOf(site);
  std::cout << "{\"site\": " << jsonString(site.id().hex()) << ", \"name\": " << jsonString(site.name())
            << ", \"cluster\": " << jsonString(site.clusterId().hex()) << ", \"vector\": " << jsonString(tokenOf(take(site.vector())))
            << ", \"tables\": {";
  auto tables = site.trackedTables();
  for (std::size_t i = 0; i < tables.size(); ++i)
    std::cout << (i ? ", " : "") << jsonString(tables[i]) << ": " << jsonString(take(site.config(tables[i])).toString());
  std::cout << "}, \"serve\": ";
  serveJson(view);
  std::cout << ", \"peers\": [";
  for (std::size_t i = 0; i < view.peers.size(); ++i) {
    std::cout << (i ? ", " : "");
    peerJson(view.peers[i]);
  }
  std::cout << "], \"divergences\": [";
  auto divergences = take(site.replication().divergences());
  for (std::size_t i = 0; i < divergences.size(); ++i) {
    const auto& d = divergences[i];
    std::cout << (i ? ", " : "") << "{\"peer\": " << jsonString(d.peer.hex()) << ", \"name\": " << jsonString(d.peerName)
              << ", \"detected_ms\": " << d.detectedMs << ", \"message\": " << jsonString(d.message) << "}";
  }
  std::cout << "], \"clock_skew\": [";
  auto skews = take(site.replication().clockSkews());
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

// Control characters of a name a peer chose become '?': one row stays one line.
std::string printable(std::string s) {
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

void serveText(const StatusView& v) {
  if (!v.serve) {
    std::cout << "serve    never ran on this file: no connection state (peers below as this site knows them)\n";
    return;
  }
  const auto& r = *v.serve;
  if (v.stale.empty())
    std::cout << fmt::format("serve    running: pid {} on {}, listening on {}, reported {}\n", r.pid, r.host, r.listen,
                             ago(r.updatedMs));
  else
    std::cout << fmt::format("serve    NOT RUNNING ({}): the connection states below are as it last saw them\n",
                             v.stale);
}

void peersText(const StatusView& v) {
  Table t{{"peer", "address", "state", "acknowledged", "applied", "pending", "lag", "last sync", "clock", "divergence"}, {}};
  for (const auto& p : v.peers) {
    std::string state = p.state;
    if (p.link && p.state == "offline") state += " (was " + p.link->state + ")";
    else if (p.link && p.link->sinceMs) {
      auto now = env().clock.nowMillis();
      state += " for " + duration(now > p.link->sinceMs ? now - p.link->sinceMs : 0);
    }
    t.rows.push_back({printable(p.name()), p.link ? p.link->address : "-", state,
                      p.status ? p.status->acknowledged.toString() : "-",
                      fmt::format("{}/{}", p.heldOfIts, p.knownOfIts),
                      p.status ? std::to_string(p.status->pending) : "-",
                      p.status ? fmt::format("{:.1f} s", p.status->lagSeconds) : "-",
                      p.status ? lastSync(*p.status) : "never",
                      p.clockAheadMs ? duration(*p.clockAheadMs) + " ahead" : "ok",
                      p.divergence ? "DIVERGED" : "none found"});
  }
  std::cout << "\n";
  printTable(std::cout, t);
  for (const auto& p : v.peers)
    if (p.link && !p.link->lastError.empty())
      std::cout << fmt::format("last error from {} ({}): {}\n", printable(p.name()), ago(p.link->lastErrorMs),
                               printable(p.link->lastError));
}

void statusText(Site& site) {
  auto [count, bytes] = take(site.replication().logSize());
  Counts counts = countConflicts(site);
  StatusView view = viewOf(site);
  std::cout << fmt::format("site     {} ({})\ncluster  {}\nvector   {}\n", site.name(), site.id().hex(),
                           site.clusterId().hex(), take(site.vector()).toString());
  for (const auto& t : site.trackedTables()) std::cout << fmt::format("table    {}: {}\n", t, take(site.config(t)).toString());
  std::cout << fmt::format("log      {} transactions, {} bytes\nconflicts {} open (provisional), {} of this site's writes rejected\n",
                           count, bytes, counts.open, counts.rejectedHere);
  serveText(view);
  peersText(view);
  for (const auto& d : take(site.replication().divergences()))
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
