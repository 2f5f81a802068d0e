// parley init, exec, track, configure, compact, backup: the commands that act on one site.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <optional>
#include <set>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/replication.hpp"
#include "parley/resolvers/bounded.hpp"
#include "parley/sync/acknowledgements.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::cli {
namespace {

const Command kInit{"init", "SITE.db --name NAME", "Creates a new site (and a new cluster) in SITE.db."};
const Command kExec{"exec", "SITE.db \"SQL\" | --file FILE.sql | - [options]",
                    "Runs SQL at the site: the argument, a file (--file), or standard input (-). Writes to tracked\n"
                    "tables are captured and replicate. Several statements run as one transaction (all or none)\n"
                    "unless the text has its own BEGIN..COMMIT, or --autocommit commits each on its own. Each\n"
                    "statement that returns rows prints them, in order. After a write the commit token (the\n"
                    "site's vector) goes to stderr, or to stdout with --token."};
const Command kTrack{"track", "SITE.db TABLE [options]", "Starts replicating TABLE, resolving its conflicts as the options say."};
const Command kUntrack{"untrack", "SITE.db TABLE",
                       "Stops replicating TABLE; its rows stay as a plain table. A table tracked with --everywhere\n"
                       "is untracked at every site (by sync); one tracked without it, at this site only."};
const Command kConfigure{"configure", "SITE.db TABLE [options]",
                         "Changes how TABLE resolves conflicts; the change replicates to every site. Switching to an\n"
                         "order-sensitive strategy (merge, counter, fww, reject...) needs every held transaction final."};
const Command kCompact{"compact", "SITE.db", "Drops log entries every member has acknowledged and whose decisions are final."};
const Command kForget{"forget", "SITE.db PEER",
                      "Removes PEER (its name, its id, or the start of it as status shows it) from the cluster\n"
                      "for good: compaction and finality stop waiting for it, and every site that learns of it (at its next\n"
                      "sync) refuses to sync with it. Its writes already held stay. A forgotten site can rejoin\n"
                      "only as a new site: clone one from a current member."};
const Command kRestoreGuards{"restore-guards", "SITE.db",
                              "Recreates the guard triggers of the tracked tables after one was dropped or changed\n"
                              "outside parley (run parley verify first: rows written meanwhile were not replicated)."};
const Command kSchema{"schema", "SITE.db",
                      "Prints the tracked tables line by line as this site holds them: columns, constraints, UNIQUE\n"
                      "indexes, foreign keys and resolvers. Schema changes replicate, so sites that hold the same\n"
                      "transactions print the same lines. The fingerprint covers tables tracked by hand at every site\n"
                      "before schema changes replicated."};
const Command kBackup{"backup", "SITE.db OUT.db", "Writes a consistent copy of the site to OUT.db."};

Format formatOf(const po::variables_map& vm) {
  if (vm.count("json") && vm.count("csv")) usage("choose one of --json and --csv");
  return vm.count("json") ? Format::kJson : vm.count("csv") ? Format::kCsv : Format::kTable;
}

void printRows(const std::vector<std::string>& columns, const std::vector<Row>& rows, Format format) {
  if (format == Format::kJson) return printJson(std::cout, columns, rows);
  Table t{columns, {}};
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& v : row) cells.push_back(v.isNull() ? (format == Format::kCsv ? "" : "NULL") : v.toDisplay());
    t.rows.push_back(std::move(cells));
  }
  if (format == Format::kCsv) printCsv(std::cout, t);
  else printTable(std::cout, t);
}

// Each statement's rows in order, as the sqlite3 shell prints them: tables and CSV blocks
// apart by a blank line, one JSON array per statement.
void printResult(const QueryResult& r, Format format) {
  if (r.columns.empty()) return;
  for (const auto& set : r.earlier) {
    printRows(set.columns, set.rows, format);
    if (format != Format::kJson) std::cout << "\n";
  }
  printRows(r.columns, r.rows, format);
}

// The SQL to run: the argument, --file FILE, or standard input for "-". No size limit.
std::string sqlText(const po::variables_map& vm) {
  bool fromFile = vm.count("file") > 0, fromArg = vm.count("SQL") > 0;
  if (!fromFile && !fromArg) usage("missing SQL: give it as an argument, with --file FILE, or - for standard input");
  if (fromFile && fromArg) usage("give the SQL as an argument or with --file, not both");
  std::string source = fromFile ? vm["file"].as<std::string>() : vm["SQL"].as<std::string>();
  if (!fromFile && source != "-") return source;
  std::ostringstream text;
  if (fromFile && source != "-") {
    std::ifstream in(source, std::ios::binary);
    if (!in) throw CliError(fmt::format("cannot read {}: {}", source, std::strerror(errno)));
    text << in.rdbuf();
    if (in.bad()) throw CliError(fmt::format("cannot read {}", source));
  } else {
    text << std::cin.rdbuf();
  }
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos)
    throw CliError(fmt::format("{} holds no SQL", source == "-" ? "standard input" : source));
  return std::move(text).str();
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

void addJsonOption(po::options_description& o) { o.add_options()("json", "print as JSON"); }

// track and configure: the table's configuration after the change.
void printConfig(Site& site, const std::string& table, bool json, std::string_view prefix) {
  std::string config = take(site.config(table)).toString();
  if (json) std::cout << "{\"table\": " << jsonString(table) << ", \"config\": " << jsonString(config) << "}\n";
  else std::cout << fmt::format("{}{}: {}\n", prefix, table, config);
}

}  // namespace

int cmdInit(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("name", po::value<std::string>()->required(), "the site's human name");
  addJsonOption(o);
  auto vm = parse(kInit, o, {"SITE"}, args);
  if (!vm) return 0;
  std::string path = (*vm)["SITE"].as<std::string>();
  auto site = take(Site::create(path, {(*vm)["name"].as<std::string>(), &env().ids, {}}, env().siteOptions()));
  if (vm->count("json"))
    std::cout << fmt::format("{{\"site\": \"{}\", \"name\": {}, \"cluster\": \"{}\", \"path\": {}}}\n", site->id().hex(),
                             jsonString(site->name()), site->clusterId().hex(), jsonString(path));
  else
    std::cout << fmt::format("created site {} ({}) of cluster {} in {}\n", site->name(), site->id().hex(),
                             site->clusterId().hex(), path);
  return 0;
}

int cmdExec(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("file", po::value<std::string>(), "read the SQL from FILE (- for standard input)")
      ("autocommit", "commit each statement outside BEGIN..COMMIT on its own, as the sqlite3 shell does")
      ("json", "print rows as JSON")("csv", "print rows as CSV")("token", "print the commit token on stdout")
      ("after", po::value<std::string>(), "first wait until the site holds everything in TOKEN")
      ("timeout", po::value<double>()->default_value(10), "seconds to wait for --after or --wait-acks")
      ("wait-acks", po::value<std::size_t>(), "after a write, return once K distinct peer sites acknowledged it")
      ("peer", po::value<std::vector<std::string>>()->composing(), "tcp://HOST:PORT of a peer for --wait-acks");
  addSecretOption(o);
  auto vm = parse(kExec, o, {"SITE", "SQL"}, args, 1);
  if (!vm) return 0;
  Format format = formatOf(*vm);
  std::string sql = sqlText(*vm);
  std::string path = (*vm)["SITE"].as<std::string>();
  auto timeout = std::chrono::milliseconds(std::llround((*vm)["timeout"].as<double>() * 1000));

  auto peers = vm->count("peer") ? (*vm)["peer"].as<std::vector<std::string>>() : std::vector<std::string>{};
  std::size_t needed = vm->count("wait-acks") ? (*vm)["wait-acks"].as<std::size_t>() : 0;
  std::string secretText = needed ? secret(*vm) : "";
  if (peers.size() < needed) usage(fmt::format("--wait-acks {} needs at least {} --peer", needed, needed));
  for (const auto& p : peers)
    if (!p.starts_with("tcp://")) usage(fmt::format("--peer wants tcp://HOST:PORT, got {}", p));
  if (needed && secretText.empty()) usage("--wait-acks needs the cluster secret: --secret-file FILE or PARLEY_SECRET");

  auto site = openSite(path);
  if (vm->count("after")) check(site->waitFor(parseVector(*site, (*vm)["after"].as<std::string>(), "--after"), timeout));
  VersionVector before = take(site->vector());
  auto result = vm->count("autocommit") ? site->exec(sql) : site->execAtomically(sql);
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
    sync::TcpOptions tcp = tcpOptions(*vm);
    tcp.timeout = std::chrono::milliseconds(2000);
    check(sync::waitForAcknowledgements(*site, now, {needed, peers, tcp, timeout}));
  }
  return 0;
}

int cmdTrack(const std::vector<std::string>& args) {
  po::options_description o("options");
  addResolverOptions(o);
  addJsonOption(o);
  o.add_options()("everywhere", "also send the table's definition, indexes and configuration to every site by sync "
                                "(tracking at one site is enough); without it, every site tracks it itself");
  auto vm = parse(kTrack, o, {"SITE", "TABLE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::string table = (*vm)["TABLE"].as<std::string>();
  auto config = configFrom(*vm, env().registry->defaults());
  check(vm->count("everywhere") ? site->trackEverywhere(table, config) : site->track(table, config));
  printConfig(*site, table, vm->count("json") > 0, "tracking ");
  return 0;
}

int cmdUntrack(const std::vector<std::string>& args) {
  po::options_description o("options");
  auto vm = parse(kUntrack, o, {"SITE", "TABLE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::string table = (*vm)["TABLE"].as<std::string>();
  check(site->untrack(table));
  std::cout << "untracked " << table << "\n";
  return 0;
}

int cmdConfigure(const std::vector<std::string>& args) {
  po::options_description o("options");
  addResolverOptions(o);
  addJsonOption(o);
  auto vm = parse(kConfigure, o, {"SITE", "TABLE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::string table = (*vm)["TABLE"].as<std::string>();
  check(site->configure(table, configFrom(*vm, take(site->config(table)))));
  printConfig(*site, table, vm->count("json") > 0, "");
  return 0;
}

int cmdCompact(const std::vector<std::string>& args) {
  po::options_description o("options");
  addJsonOption(o);
  auto vm = parse(kCompact, o, {"SITE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  std::size_t dropped = take(site->replication().compact());
  auto [count, bytes] = take(site->replication().logSize());
  if (vm->count("json"))
    std::cout << fmt::format("{{\"dropped\": {}, \"log\": {{\"transactions\": {}, \"bytes\": {}}}}}\n", dropped, count, bytes);
  else
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
  check(site->replication().restoreGuards());
  std::cout << fmt::format("restored the guard triggers of {} tracked tables\n", site->trackedTables().size());
  return 0;
}

int cmdSchema(const std::vector<std::string>& args) {
  po::options_description o("options");
  addJsonOption(o);
  auto vm = parse(kSchema, o, {"SITE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  auto lines = take(site->replication().schemaNow());
  if (vm->count("json")) {
    std::cout << "{\"fingerprint\": " << jsonString(site->replication().schemaFingerprint())
              << ", \"lines\": [";
    for (std::size_t i = 0; i < lines.size(); ++i) std::cout << (i ? ", " : "") << jsonString(lines[i]);
    std::cout << "]}\n";
    return 0;
  }
  std::cout << "fingerprint " << site->replication().schemaFingerprint() << "\n";
  for (const auto& line : lines) std::cout << line << "\n";
  return 0;
}

}  // namespace parley::cli

namespace parley::cli {

int cmdForget(const std::vector<std::string>& args) {
  auto vm = parse(kForget, po::options_description("options"), {"SITE", "PEER"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  SiteId peer = resolveSite(*site, (*vm)["PEER"].as<std::string>(), "PEER");
  if (peer == site->id()) throw CliError("a site cannot forget itself");
  check(site->replication().forget(peer));
  std::cout << fmt::format("forgot site {}: finality and compaction no longer wait for it, and its syncs are refused; "
                           "peers learn of it when they next sync\n",
                           peer.hex());
  return 0;
}

}  // namespace parley::cli
