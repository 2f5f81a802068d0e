// parley init, exec, track, configure, compact, backup: the commands that act on one site.
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/resolvers/bounded.hpp"
#include "parley/sync/acknowledgements.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::cli {
namespace {

const Command kInit{"init", "SITE.db --name NAME", "Creates a new site (and a new cluster) in SITE.db."};
const Command kExec{"exec", "SITE.db \"SQL\" [options]",
                    "Runs SQL at the site. Writes to tracked tables are captured and replicate; after a write the\n"
                    "commit token (the site's vector) goes to stderr, or to stdout with --token."};
const Command kTrack{"track", "SITE.db TABLE [options]", "Starts replicating TABLE, resolving its conflicts as the options say."};
const Command kConfigure{"configure", "SITE.db TABLE [options]",
                         "Changes how TABLE resolves conflicts (every site must make the same change)."};
const Command kCompact{"compact", "SITE.db", "Drops log entries every member has acknowledged and whose decisions are final."};
const Command kForget{"forget", "SITE.db PEER",
                      "Removes PEER (its id, or the start of it, as status shows it) from the cluster for good:\n"
                      "compaction and finality stop waiting for it, and every site that learns of it (at its next\n"
                      "sync) refuses to sync with it. Its writes already held stay. A forgotten site can rejoin\n"
                      "only as a new site: clone one from a current member."};
const Command kRestoreGuards{"restore-guards", "SITE.db",
                              "Recreates the guard triggers of the tracked tables after one was dropped or changed\n"
                              "outside parley (run parley verify first: rows written meanwhile were not replicated)."};
const Command kSchema{"schema", "SITE.db",
                      "Prints the schema fingerprint and, line by line, what it covers: the tracked tables' columns,\n"
                      "constraints, UNIQUE indexes, foreign keys and resolvers. Sites that sync must print the same."};
const Command kBackup{"backup", "SITE.db OUT.db", "Writes a consistent copy of the site to OUT.db."};

Format formatOf(const po::variables_map& vm) {
  if (vm.count("json") && vm.count("csv")) usage("choose one of --json and --csv");
  return vm.count("json") ? Format::kJson : vm.count("csv") ? Format::kCsv : Format::kTable;
}

void printResult(const QueryResult& r, Format format) {
  if (r.columns.empty()) return;
  if (format == Format::kJson) return printJson(std::cout, r.columns, r.rows);
  Table t{r.columns, {}};
  for (const auto& row : r.rows) {
    std::vector<std::string> cells;
    for (const auto& v : row) cells.push_back(v.isNull() ? (format == Format::kCsv ? "" : "NULL") : v.toDisplay());
    t.rows.push_back(std::move(cells));
  }
  if (format == Format::kCsv) printCsv(std::cout, t);
  else printTable(std::cout, t);
}

void addResolverOptions(po::options_description& o) {
  o.add_options()("resolver", po::value<std::string>(), "strategy for the table's columns: lww, fww, merge, counter, reject, callback:NAME")
      ("column", po::value<std::vector<std::string>>()->composing(), "COL=STRATEGY for one column (repeatable; COL is the column's name as it is, split from STRATEGY at the last '=')")
      ("on-insert-conflict", po::value<std::string>(), "insert/insert policy: merge, lww, fww, reject")
      ("on-delete-conflict", po::value<std::string>(), "update/delete and delete/update policy: lww, fww, delete-wins, update-wins, reject")
      ("on-update-delete", po::value<std::string>(), "policy when an update meets a concurrent delete")
      ("on-delete-update", po::value<std::string>(), "policy when a delete meets a concurrent update");
}

TableConfig configFrom(const po::variables_map& vm, TableConfig c) {
  if (vm.count("resolver")) c.columns = vm["resolver"].as<std::string>();
  if (vm.count("column")) {
    for (const auto& spec : vm["column"].as<std::vector<std::string>>()) {
      // Strategies never hold '=': the last one splits, so a column name may hold any character.
      auto eq = spec.rfind('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) usage(fmt::format("--column wants COL=STRATEGY, got \"{}\"", spec));
      c.overrides[spec.substr(0, eq)] = spec.substr(eq + 1);
    }
  }
  if (vm.count("on-insert-conflict")) c.insertInsert = vm["on-insert-conflict"].as<std::string>();
  if (vm.count("on-delete-conflict")) c.updateDelete = c.deleteUpdate = vm["on-delete-conflict"].as<std::string>();
  if (vm.count("on-update-delete")) c.updateDelete = vm["on-update-delete"].as<std::string>();
  if (vm.count("on-delete-update")) c.deleteUpdate = vm["on-delete-update"].as<std::string>();
  return c;
}

// The known site whose hex id is or starts with `text`; this site itself is refused.
SiteId resolvePeer(Site& site, const std::string& text) {
  std::string wanted;
  for (char c : text)
    if (c != '-') wanted += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if ((!wanted.empty() && site.id().hex().starts_with(wanted)) || text == site.name())
    throw CliError("a site cannot forget itself");
  if (wanted.size() < 4 || wanted.find_first_not_of("0123456789abcdef") != std::string::npos)
    usage(fmt::format("PEER wants a site id, or at least its first 4 hex digits, as status shows it; got \"{}\"", text));
  std::set<SiteId> known;
  for (const auto& [id, vector] : take(site.acknowledgements())) known.insert(id);
  VersionVector held = take(site.vector());
  for (const auto& [id, seq] : held.entries()) known.insert(id);
  std::vector<SiteId> matches;
  for (const auto& id : known)
    if (id != site.id() && id.hex().starts_with(wanted)) matches.push_back(id);
  if (matches.empty()) {
    if (auto exact = SiteId::fromHex(wanted)) return *exact;  // not heard of here: forgetting it still spreads
    throw CliError(fmt::format("no site this site knows has an id starting with {}; parley status lists its peers", wanted));
  }
  if (matches.size() > 1) throw CliError(fmt::format("{} sites have ids starting with {}; give more digits", matches.size(), wanted));
  return matches.front();
}

}  // namespace

int cmdInit(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("name", po::value<std::string>()->required(), "the site's human name");
  auto vm = parse(kInit, o, {"SITE"}, args);
  if (!vm) return 0;
  std::string path = (*vm)["SITE"].as<std::string>();
  auto site = take(Site::create(path, {(*vm)["name"].as<std::string>(), &env().ids, {}}, env().siteOptions()));
  std::cout << fmt::format("created site {} ({}) of cluster {} in {}\n", site->name(), site->id().hex(),
                           site->clusterId().hex(), path);
  return 0;
}

int cmdExec(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("json", "print rows as JSON")("csv", "print rows as CSV")("token", "print the commit token on stdout")
      ("after", po::value<std::string>(), "first wait until the site holds everything in TOKEN")
      ("timeout", po::value<double>()->default_value(10), "seconds to wait for --after or --wait-acks")
      ("wait-acks", po::value<std::size_t>(), "after a write, return once K distinct peer sites acknowledged it")
      ("peer", po::value<std::vector<std::string>>()->composing(), "tcp://HOST:PORT of a peer for --wait-acks");
  addSecretOption(o);
  auto vm = parse(kExec, o, {"SITE", "SQL"}, args);
  if (!vm) return 0;
  Format format = formatOf(*vm);
  std::string path = (*vm)["SITE"].as<std::string>();
  auto timeout = std::chrono::milliseconds(std::llround((*vm)["timeout"].as<double>() * 1000));
  std::optional<VersionVector> after;
  if (vm->count("after")) after = parseToken((*vm)["after"].as<std::string>());
  auto peers = vm->count("peer") ? (*vm)["peer"].as<std::vector<std::string>>() : std::vector<std::string>{};
  std::size_t needed = vm->count("wait-acks") ? (*vm)["wait-acks"].as<std::size_t>() : 0;
  std::string secretText = needed ? secret(*vm) : "";
  if (peers.size() < needed) usage(fmt::format("--wait-acks {} needs at least {} --peer", needed, needed));
  for (const auto& p : peers)
    if (!p.starts_with("tcp://")) usage(fmt::format("--peer wants tcp://HOST:PORT, got {}", p));
  if (needed && secretText.empty()) usage("--wait-acks needs the cluster secret: --secret-file FILE or PARLEY_SECRET");

  auto site = openSite(path);
  if (after) check(site->waitFor(*after, timeout));
  VersionVector before = take(site->vector());
  auto result = site->execAtomically((*vm)["SQL"].as<std::string>());
  VersionVector now = take(site->vector());
  // A write refused for lack of rights commits only its request for them (parley rights).
  bool onlyAsked = !result.ok() && resolvers::bounded::askedAfterRefusal(result.status()) &&
                   now.total() == before.total() + 1;
  if (now != before && !onlyAsked) {
    // Statements outside BEGIN..COMMIT commit one by one: say what did commit, even on error.
    std::string token = tokenOf(now);
    if (vm->count("token") && result.ok()) std::cout << token << "\n";
    else std::cerr << "token: " << token << (result.ok() ? "" : " (the statements before the error committed)") << "\n";
  }
  printResult(take(std::move(result)), format);
  if (needed && now != before) {
    for (auto& p : peers) p = tcpAddress(p);
    sync::TcpOptions tcp{secretText, std::chrono::milliseconds(2000), sync::kChunkBytes, {}};
    check(sync::waitForAcknowledgements(*site, now, {needed, peers, tcp, timeout}));
  }
  return 0;
}

int cmdTrack(const std::vector<std::string>& args) {
  po::options_description o("options");
  addResolverOptions(o);
  auto vm = parse(kTrack, o, {"SITE", "TABLE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::string table = (*vm)["TABLE"].as<std::string>();
  check(site->track(table, configFrom(*vm, env().registry->defaults())));
  std::cout << fmt::format("tracking {}: {}\n", table, take(site->config(table)).toString());
  return 0;
}

int cmdConfigure(const std::vector<std::string>& args) {
  po::options_description o("options");
  addResolverOptions(o);
  auto vm = parse(kConfigure, o, {"SITE", "TABLE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::string table = (*vm)["TABLE"].as<std::string>();
  check(site->configure(table, configFrom(*vm, take(site->config(table)))));
  std::cout << fmt::format("{}: {}\n", table, take(site->config(table)).toString());
  return 0;
}

int cmdCompact(const std::vector<std::string>& args) {
  auto vm = parse(kCompact, po::options_description("options"), {"SITE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::size_t dropped = take(site->compact());
  auto [count, bytes] = take(site->logSize());
  std::cout << fmt::format("dropped {} transactions; the log holds {} ({} bytes)\n", dropped, count, bytes);
  return 0;
}

int cmdBackup(const std::vector<std::string>& args) {
  auto vm = parse(kBackup, po::options_description("options"), {"SITE", "OUT"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  check(site->backup((*vm)["OUT"].as<std::string>()));
  std::cout << "wrote " << (*vm)["OUT"].as<std::string>() << "\n";
  return 0;
}

int cmdRestoreGuards(const std::vector<std::string>& args) {
  auto vm = parse(kRestoreGuards, po::options_description("options"), {"SITE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  check(site->restoreGuards());
  std::cout << fmt::format("restored the guard triggers of {} tracked tables\n", site->trackedTables().size());
  return 0;
}

int cmdSchema(const std::vector<std::string>& args) {
  auto vm = parse(kSchema, po::options_description("options"), {"SITE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  auto lines = take(site->schemaDescription());
  std::cout << "fingerprint " << site->schemaFingerprint() << "\n";
  for (const auto& line : lines) std::cout << line << "\n";
  return 0;
}

}  // namespace parley::cli

namespace parley::cli {

int cmdForget(const std::vector<std::string>& args) {
  auto vm = parse(kForget, po::options_description("options"), {"SITE", "PEER"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  SiteId peer = resolvePeer(*site, (*vm)["PEER"].as<std::string>());
  check(site->forget(peer));
  std::cout << fmt::format("forgot site {}: finality and compaction no longer wait for it, and its syncs are refused; "
                           "peers learn of it when they next sync\n",
                           peer.hex());
  return 0;
}

}  // namespace parley::cli
