// parley export, import, sync, serve, clone: moving transactions between sites.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <csignal>
#include <functional>
#include <iostream>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "cli.hpp"
#include "metrics.hpp"
#include "output.hpp"
#include "parley/replication.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/in_process.hpp"
#include "parley/sync/tcp.hpp"
#include "progress.hpp"
#include "serve_peers.hpp"
#include "serve_record.hpp"
#include "serve_relay.hpp"

namespace parley::cli {
namespace {

const Command kExport{"export", "SITE.db --out FILE [--for PEER | --since VECTOR] [--force]",
                      "Writes a change-set file with what a peer lacks (everything by default). PEER is a site's\n"
                      "name, id, or the start of its id as status shows it; VECTOR is a vector as status prints it\n"
                      "or a commit token. An export --for PEER counts as a sync with PEER in status."};
const Command kImport{"import", "SITE.db FILE",
                      "Verifies a change-set file, then applies it. Re-importing is a no-op. An import that applies\n"
                      "transactions counts as a sync with the file's site in status."};
const Command kSync{"sync", "SITE.db PEER",
                    "Syncs both directions with PEER: another site file, or tcp://HOST:PORT of parley serve."};
const Command kServe{"serve",
                     "SITE.db [--listen HOST:PORT] [--peer tcp://HOST:PORT ...] [--nats nats://HOST:PORT[,...]]\n"
                     "      [--interval MS] [--timeout S] [--no-stream] [--poll-ms MS] [--heartbeat-ms MS]\n"
                     "      [--logins-per-source N] [--metrics HOST:PORT] [--log-format text|json]",
                     "Serves syncs and live subscriptions. With peers, subscribes to each (their commits arrive\n"
                     "within milliseconds; reconnects with backoff) and also runs a full sync with each every\n"
                     "interval (anti-entropy). With --nats, also (or only) replicates through NATS JetStream.\n"
                     "Answers other sites' requests for rights on bounded columns (parley rights). Logs\n"
                     "connections and syncs that moved something, each line with a UTC timestamp and a level;\n"
                     "keeps each peer's state in the site file for parley status; with --metrics, serves\n"
                     "Prometheus metrics at /metrics. Stops cleanly on SIGINT or SIGTERM."};
const Command kClone{"clone", "SOURCE NEW.db --name NAME",
                     "Creates a new site of SOURCE's cluster from a snapshot of it (SOURCE: a site file or\n"
                     "tcp://HOST:PORT), like pg_basebackup; then they sync incrementally."};

// The sites a command knows by name, as its messages show them: "name (1a2b3c4d)".
using Names = std::unordered_map<SiteId, std::string, SiteIdHash>;

std::function<std::string(const SiteId&)> namer(Names names) {
  return [names = std::move(names)](const SiteId& id) {
    auto it = names.find(id);
    return it == names.end() ? id.shortHex() : fmt::format("{} ({})", it->second, id.shortHex());
  };
}

// One "warning: clock skew: ..." line on stderr per origin whose transactions arrived at
// `site` beyond the clock skew bound since `sinceMs` (this site's clock).
void warnSkews(Site& site, std::uint64_t sinceMs, const Names& names, std::string_view here = "this site") {
  for (const auto& r : take(site.replication().clockSkews()))
    if (r.lastAtMs >= sinceMs) std::cerr << "warning: " << describe(r, namer(names), here) << "\n";
}

// The apply warnings other than clock skew, which warnSkews() reports once per origin.
void warnOthers(const std::vector<ApplyWarning>& warnings) {
  for (const auto& w : warnings)
    if (w.kind != ApplyWarning::Kind::kClockSkew) std::cerr << "warning: " << w.message << "\n";
}

// parley serve: the log line of each origin whose transactions arrived beyond the clock skew
// bound, whichever connection brought them, each time more arrive. Reads the site through a
// connection of serve's main thread (the server's is its thread's).
class SkewWatch {
 public:
  explicit SkewWatch(Site& site) : site_(site), sinceMs_(env().clock.nowMillis()) {}
  void print(Log& out) {
    auto now = std::chrono::steady_clock::now();
    if (now - lastLook_ < std::chrono::milliseconds(250)) return;
    lastLook_ = now;
    auto records = site_.replication().clockSkews();
    if (!records) return out.warn(fmt::format("reading clock skew records failed: {}", records.status().message()));
    for (const auto& r : *records) {
      auto& printed = printedMs_[r.origin];
      if (r.lastAtMs < sinceMs_ || r.lastAtMs <= printed) continue;
      printed = r.lastAtMs;
      out.warn(describe(r));
    }
  }

 private:
  Site& site_;
  std::uint64_t sinceMs_;
  std::chrono::steady_clock::time_point lastLook_{};
  std::unordered_map<SiteId, std::uint64_t, SiteIdHash> printedMs_;
};

// The page cache of each site `parley sync a.db b.db` opens (SiteOptions::cacheKiB).
constexpr std::size_t kSyncFilesCacheKiB = 16384;

// sync --json: what one side applied of the other's transactions.
std::string totalsJson(const sync::ApplyTotals& got) {
  return fmt::format("{{\"applied\": {}, \"duplicates\": {}, \"conflicts\": {}, \"rejected\": {}}}", got.applied,
                     got.duplicates, got.conflicts, got.rejected);
}

void printSynced(bool json, const std::string& here, const SiteId& peerId, const std::string& peerName,
                 const std::string& peerArg, std::uint64_t sent, const sync::ApplyTotals& got, std::string_view via) {
  if (json)
    std::cout << fmt::format("{{\"site\": {}, \"peer\": {{\"site\": \"{}\", \"name\": {}, \"at\": {}}}, \"sent\": {}, "
                             "\"received\": {}}}\n",
                             jsonString(here), peerId.hex(), jsonString(peerName), jsonString(peerArg), sent,
                             totalsJson(got));
  else
    std::cout << fmt::format("synced {} with {}{}: {}\n", here, peerName, via, summaryLine(sent, got));
}

int syncFiles(const std::string& a, const std::string& b, bool json) {
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) throw CliError(fmt::format("{} and {} are the same site file", a, b));
  std::uint64_t startMs = env().clock.nowMillis();
  // Two sites in one process: each gets a share of the page cache one site has alone.
  SiteOptions halves = env().siteOptions();
  halves.cacheKiB = kSyncFilesCacheKiB;
  auto local = take(Site::open(a, halves));
  auto peer = take(Site::open(b, halves));
  ProgressLine progress("sync");
  sync::SessionOptions options;
  options.observer = progress.observer();
  auto r = take(sync::syncInProcess(*local, *peer, options));
  progress.finish();
  printSynced(json, local->name(), peer->id(), peer->name(), b, r.a.sent.transactions, r.a.received, "");
  Names names{{local->id(), local->name()}, {peer->id(), peer->name()}};
  warnOthers(r.a.received.warnings);
  warnSkews(*local, startMs, names, local->name());
  warnOthers(r.receivedByB.warnings);
  warnSkews(*peer, startMs, names, peer->name());
  return 0;
}

std::atomic<bool> stopRequested{false};
void onSignal(int) { stopRequested = true; }

}  // namespace

std::string summaryLine(std::uint64_t sent, const sync::ApplyTotals& got) {
  return fmt::format("sent {} transactions, received {} ({} already held), {} conflicts, {} rejected", sent,
                     got.applied, got.duplicates, got.conflicts, got.rejected);
}

int cmdExport(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("out", po::value<std::string>()->required(), "the file to write")
      ("for", po::value<std::string>(), "what PEER lacks, as far as this site knows (its name, id, or id's start)")
      ("since", po::value<std::string>(), "what a site holding VECTOR lacks (as status prints it, or a token)")
      ("force", "overwrite FILE if it exists (it is replaced only once the new file is whole)")
      ("json", "print the summary as JSON");
  auto vm = parse(kExport, o, {"SITE"}, args);
  if (!vm) return 0;
  if (vm->count("for") && vm->count("since")) usage("choose one of --for and --since");
  std::string out = (*vm)["out"].as<std::string>();
  std::error_code ec;
  bool replace = std::filesystem::exists(out, ec);
  if (replace && !vm->count("force")) throw CliError(fmt::format("{} already exists; --force overwrites it", out));
  if (replace && std::filesystem::is_directory(out, ec)) throw CliError(fmt::format("{} is a directory", out));
  auto site = openSite((*vm)["SITE"].as<std::string>());
  VersionVector since;
  if (vm->count("since")) since = parseVector(*site, (*vm)["since"].as<std::string>(), "--since");
  std::optional<SiteId> peer;
  if (vm->count("for")) {
    peer = resolveSite(*site, (*vm)["for"].as<std::string>(), "--for");
    if (*peer == site->id()) usage("--for names this site itself");
    for (const auto& [site_id, v] : take(site->replication().acknowledgements()))
      if (site_id == *peer) since = v;
  }
  // Written beside the old file and renamed over it once whole: a failed export keeps the old one.
  std::string path = replace ? out + ".new" : out;
  if (replace) std::filesystem::remove(path, ec);
  ProgressLine progress("export");
  auto r = take(sync::exportChanges(*site, path, since, progress.observer()));
  progress.finish();
  if (replace) std::filesystem::rename(path, out);
  if (peer) check(site->replication().noteSync(*peer));
  if (vm->count("json"))
    std::cout << fmt::format("{{\"file\": {}, \"transactions\": {}, \"bytes\": {}}}\n", jsonString(out),
                             r.info.transactions, r.bytes);
  else
    std::cout << fmt::format("wrote {} transactions ({} bytes) to {}\n", r.info.transactions, r.bytes, out);
  return 0;
}

int cmdImport(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("json", "print the summary as JSON");
  auto vm = parse(kImport, o, {"SITE", "FILE"}, args);
  if (!vm) return 0;
  std::uint64_t startMs = env().clock.nowMillis();
  auto site = openSite((*vm)["SITE"].as<std::string>());
  ProgressLine progress("import");
  auto r = take(sync::importChanges(*site, (*vm)["FILE"].as<std::string>(), progress.observer()));
  progress.finish();
  if (vm->count("json"))
    std::cout << fmt::format("{{\"file\": {}, \"from\": {{\"site\": \"{}\", \"name\": {}}}, \"received\": {}}}\n",
                             jsonString((*vm)["FILE"].as<std::string>()), r.info.origin.hex(),
                             jsonString(r.info.originName), totalsJson(r.applied));
  else
    std::cout << fmt::format("imported {} from {}: {}\n", (*vm)["FILE"].as<std::string>(), r.info.originName,
                             summaryLine(0, r.applied).substr(std::string("sent 0 transactions, ").size()));
  warnOthers(r.applied.warnings);
  warnSkews(*site, startMs, {{r.info.origin, r.info.originName}});
  return 0;
}

int cmdSync(const std::vector<std::string>& args) {
  po::options_description o("options");
  addSecretOption(o);
  addTimeoutOption(o);
  o.add_options()("json", "print the summary as JSON");
  auto vm = parse(kSync, o, {"SITE", "PEER"}, args);
  if (!vm) return 0;
  bool json = vm->count("json") > 0;
  std::string peer = (*vm)["PEER"].as<std::string>();
  if (tcpAddress(peer).empty()) return syncFiles((*vm)["SITE"].as<std::string>(), peer, json);
  std::uint64_t startMs = env().clock.nowMillis();
  auto site = openSite((*vm)["SITE"].as<std::string>());
  auto options = tcpOptions(*vm);
  ProgressLine progress("sync");
  options.observer = progress.observer();
  auto r = take(sync::syncTcp(*site, tcpAddress(peer), options));
  progress.finish();
  printSynced(json, site->name(), r.peer.site, r.peer.name, peer, r.sent.transactions, r.received,
              fmt::format(" ({})", peer));
  warnOthers(r.received.warnings);
  warnSkews(*site, startMs, {{r.peer.site, r.peer.name}});
  return 0;
}

int cmdServe(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("listen", po::value<std::string>(), "HOST:PORT to listen on")
      ("peer", po::value<std::vector<std::string>>()->composing(), "tcp://HOST:PORT to replicate with continuously")
      ("interval", po::value<int>()->default_value(1000), "milliseconds between full syncs with each peer")
      ("no-stream", po::bool_switch(), "no live subscriptions to the peers: full syncs only")
      ("poll-ms", po::value<int>()->default_value(1), "how often subscriptions to this site look for new commits")
      ("heartbeat-ms", po::value<int>()->default_value(1000),
       "heartbeat asked of peers when idle; 3 missed heartbeats drop the connection")
      ("logins-per-source", po::value<int>()->default_value(4),
       "connections one address may hold open before login at once; more are closed")
      ("metrics", po::value<std::string>(), "HOST:PORT to serve Prometheus metrics on, at /metrics")
      ("log-format", po::value<std::string>()->default_value("text"), "text, or json: one JSON object per line");
  addSecretOption(o);
  addTimeoutOption(o);
  addRelayOptions(o);
  auto vm = parse(kServe, o, {"SITE"}, args);
  if (!vm) return 0;
  std::string path = (*vm)["SITE"].as<std::string>();
  LogFormat logFormat = logFormatOf((*vm)["log-format"].as<std::string>());
  if (!vm->count("listen") && !vm->count("nats")) usage("serve wants --listen HOST:PORT, --nats URL, or both");
  auto options = tcpOptions(*vm);
  auto peers = vm->count("peer") ? (*vm)["peer"].as<std::vector<std::string>>() : std::vector<std::string>{};
  for (const auto& peer : peers)
    if (tcpAddress(peer).empty()) usage(fmt::format("--peer wants tcp://HOST:PORT, got {}", peer));
  if ((*vm)["interval"].as<int>() < 1) usage("--interval must be at least 1 ms");
  if ((*vm)["poll-ms"].as<int>() < 1) usage("--poll-ms must be at least 1 ms");
  if ((*vm)["heartbeat-ms"].as<int>() < 10) usage("--heartbeat-ms must be at least 10 ms");
  options.poll = std::chrono::milliseconds((*vm)["poll-ms"].as<int>());
  options.heartbeat = std::chrono::milliseconds((*vm)["heartbeat-ms"].as<int>());
  if ((*vm)["logins-per-source"].as<int>() < 1) usage("--logins-per-source must be at least 1");
  options.loginsPerSource = (*vm)["logins-per-source"].as<int>();
  auto served = openSite(path);
  std::unique_ptr<sync::Server> server;
  if (vm->count("listen")) server = take(sync::Server::start(*served, (*vm)["listen"].as<std::string>(), options));
  auto relay = startRelay(*vm, path);
  RelayReport relayReport;
  Log log(logFormat, std::cout);
  if (server) log.info(fmt::format("serving {} on port {}", served->name(), server->port()));
  else log.info(fmt::format("serving {} through NATS", served->name()));
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  std::vector<std::unique_ptr<PeerLink>> links;
  for (const auto& peer : peers)
    links.push_back(std::make_unique<PeerLink>(
        path, PeerSettings{peer, tcpAddress(peer), std::chrono::milliseconds((*vm)["interval"].as<int>()),
                           !(*vm)["no-stream"].as<bool>()},
        options, log));
  auto snapshots = [&links] {
    std::vector<PeerSnapshot> out;
    for (auto& link : links) out.push_back(link->snapshot(env().clock.nowMillis()));
    return out;
  };
  auto records = [&snapshots] {
    std::vector<ServePeerRecord> out;
    for (auto& s : snapshots()) out.push_back(std::move(s.record));
    return out;
  };
  std::unique_ptr<MetricsServer> metrics;
  if (vm->count("metrics")) {
    metrics = MetricsServer::start(path, (*vm)["metrics"].as<std::string>(), snapshots);
    log.info(fmt::format("metrics on port {} at /metrics", metrics->port()));
  }
  auto watched = openSite(path);  // serve's main thread's: skew records, and the report for status
  ServeRecorder recorder(*watched, vm->count("listen") ? (*vm)["listen"].as<std::string>() : "", log);
  SkewWatch skews(*watched);
  RightsAnswers rights(*watched, std::chrono::milliseconds(std::min((*vm)["interval"].as<int>(), 200)));
  while (!stopRequested) {
    if (server)
      for (const auto& line : server->takeLog()) log.library(line);
    relayReport.print(relay.get(), log);
    for (auto& link : links) link->printLog();
    skews.print(log);
    recorder.update(records());
    if (auto line = rights.tick(); !line.empty()) log.info(line);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (metrics) metrics->stop();
  for (auto& link : links) link->stop();
  if (relay) relay->stop();
  relayReport.print(relay.get(), log);
  if (server) server->stop();
  if (server)
    for (const auto& line : server->takeLog()) log.library(line);
  recorder.stopped(records());
  log.info("stopped");
  return 0;
}

int cmdClone(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("name", po::value<std::string>()->required(), "the new site's name")("json", "print as JSON");
  addSecretOption(o);
  addTimeoutOption(o);
  auto vm = parse(kClone, o, {"SOURCE", "NEW"}, args);
  if (!vm) return 0;
  std::string source = (*vm)["SOURCE"].as<std::string>(), path = (*vm)["NEW"].as<std::string>();
  CreateOptions create{(*vm)["name"].as<std::string>(), &env().ids, {}};
  std::unique_ptr<Site> site;
  ProgressLine progress("clone");
  if (tcpAddress(source).empty()) {
    site = take(openSite(source)->clone(path, create, env().siteOptions(), progress.copyProgress()));
  } else {
    auto options = tcpOptions(*vm);
    options.observer = progress.observer();
    site = take(sync::cloneTcp(tcpAddress(source), path, create, env().siteOptions(), options));
  }
  progress.finish();
  if (vm->count("json"))
    std::cout << fmt::format("{{\"source\": {}, \"path\": {}, \"site\": \"{}\", \"name\": {}, \"vector\": {}}}\n",
                             jsonString(source), jsonString(path), site->id().hex(), jsonString(site->name()),
                             jsonString(tokenOf(take(site->vector()))));
  else
    std::cout << fmt::format("cloned {} into {}: site {} ({}), vector {}\n", source, path, site->name(),
                             site->id().hex(), take(site->vector()).toString());
  return 0;
}

}  // namespace parley::cli
