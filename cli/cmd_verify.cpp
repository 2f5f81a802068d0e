// parley verify and parley rejoin: finding where sites disagree, and giving a forked site a
// history of its own.
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/replication.hpp"
#include "parley/sync/verify.hpp"

namespace parley::cli {
namespace {

const Command kVerify{"verify", "SITE.db [--peer PEER] [--accept]",
                      "Recomputes each tracked table's digest from its rows and compares it with the digest the\n"
                      "site keeps (they differ when rows were written behind parley's back). With a peer site,\n"
                      "compares their rows too and names the rows that differ. Exit 1 if anything differs.\n"
                      "--accept keeps the recomputed digests: syncs then report the difference to peers."};
const Command kRejoin{"rejoin", "SITE.db --from PEER",
                      "Remedy for a forked history (a copy of a site's file, or a restored backup, that wrote\n"
                      "under the site's id): SITE.db becomes a new site cloned from PEER (a site file or\n"
                      "tcp://HOST:PORT of parley serve), with a new id, and\n"
                      "the writes it made since the fork are written again under that id. The forked file is\n"
                      "kept beside it as SITE.db.forked."};

std::string keyText(const Row& key) {
  std::string out;
  for (const auto& v : key) out += (out.empty() ? "" : ", ") + v.toSqlLiteral();
  return "(" + out + ")";
}

// verify --json: what the text lines say, collected and printed as one object at the end.
struct JsonReport {
  std::vector<std::string> tables, rows;
  std::optional<std::string> peer;
  std::optional<bool> same;
  void print(bool ok) const {
    auto list = [](const std::vector<std::string>& items) {
      std::string out;
      for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
      return "[" + out + "]";
    };
    std::cout << fmt::format("{{\"ok\": {}, \"tables\": {}, \"peer\": {}, \"same_rows\": {}, \"rows\": {}}}\n", ok,
                             list(tables), peer ? jsonString(*peer) : "null",
                             same ? (*same ? "true" : "false") : "null", list(rows));
  }
};

void noteKept(JsonReport& json, Site& site, const DigestCheck& c, bool accept) {
  json.tables.push_back(fmt::format(
      "{{\"site\": {}, \"table\": {}, \"rows\": {}, \"digest\": \"{}\", \"kept\": \"{}\", \"as_kept\": {}, \"accepted\": {}}}",
      jsonString(site.name()), jsonString(c.table), c.rows, c.recomputed, c.kept, c.ok(), accept && !c.ok()));
}

// Compares the kept digests with the rows; true if they agree.
bool verifyKept(Site& site, bool accept = false, JsonReport* json = nullptr) {
  bool ok = true;
  for (const auto& c : take(site.replication().verify(accept))) {
    if (json) {
      noteKept(*json, site, c, accept);
      ok = ok && (c.ok() || accept);
      continue;
    }
    if (c.ok()) {
      std::cout << fmt::format("{} table {}: {} rows, digest {}: as kept\n", site.name(), c.table, c.rows,
                               c.recomputed.substr(0, 8));
      continue;
    }
    if (accept) {
      std::cout << fmt::format("{} table {}: {} rows, digest {} kept from now on (was {}): peers holding the same "
                               "transactions will report the difference until the rows agree\n",
                               site.name(), c.table, c.rows, c.recomputed.substr(0, 8), c.kept.substr(0, 8));
      continue;
    }
    ok = false;
    std::cout << fmt::format("{} table {}: {} rows, digest {} but {} kept: rows were written behind parley's back "
                             "(compare with --peer to find them; undo them, or write them again through parley)\n",
                             site.name(), c.table, c.rows, c.recomputed.substr(0, 8), c.kept.substr(0, 8));
  }
  return ok;
}

// Compares the rows of every table with the peer's; true if equal.
bool verifyAgainst(Site& site, const sync::Summarizer& summarize, const std::string& peerName,
                   JsonReport* json = nullptr) {
  bool same = true;
  for (const auto& table : site.trackedTables()) {
    auto differences = take(sync::findDifferences(site, summarize, table));
    if (differences.empty()) continue;
    same = false;
    for (const auto& d : differences) {
      const char* what = d.kind == sync::RowDifference::Kind::kOnlyHere    ? "only at"
                         : d.kind == sync::RowDifference::Kind::kOnlyThere ? "missing at"
                                                                             : "differs between";
      if (json) {
        const char* kind = d.kind == sync::RowDifference::Kind::kOnlyHere    ? "only here"
                           : d.kind == sync::RowDifference::Kind::kOnlyThere ? "only at the peer"
                                                                               : "different";
        json->rows.push_back(fmt::format("{{\"table\": {}, \"key\": {}, \"where\": \"{}\"}}", jsonString(table),
                                         jsonString(keyText(d.key)), kind));
        continue;
      }
      std::string where = d.kind == sync::RowDifference::Kind::kDifferent
                              ? fmt::format("{} and {}", site.name(), peerName)
                              : site.name();
      std::cout << fmt::format("row {} {}: {} {}\n", table, keyText(d.key), what, where);
    }
  }
  if (json) {
    json->peer = peerName;
    json->same = same;
  } else {
    std::cout << fmt::format("{} and {}: {}\n", site.name(), peerName, same ? "same rows" : "rows differ");
  }
  return same;
}

}  // namespace

int cmdVerify(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("peer", po::value<std::string>(),
                  "a site of the cluster to compare rows with: a site file or tcp://HOST:PORT of parley serve")(
      "accept", "keep the digests of the rows as they are (after writes behind parley's back that should stay)")(
      "json", "print the findings as JSON");
  addSecretOption(o);
  addTimeoutOption(o);
  auto vm = parse(kVerify, o, {"SITE"}, args);
  if (!vm) return 0;
  JsonReport report;
  JsonReport* json = vm->count("json") ? &report : nullptr;
  auto done = [&](bool ok) {
    if (json) json->print(ok);
    return ok ? 0 : 1;
  };
  auto site = openSite((*vm)["SITE"].as<std::string>());
  bool ok = verifyKept(*site, vm->count("accept") > 0, json);
  if (!vm->count("peer")) return done(ok);
  std::string peerArg = (*vm)["peer"].as<std::string>();
  if (!tcpAddress(peerArg).empty()) {
    check(sync::withRemoteSummaries(*site, tcpAddress(peerArg), tcpOptions(*vm),
                                    [&](const sync::Summarizer& summarize, const sync::Hello& hello) {
                                      ok = verifyAgainst(*site, summarize, hello.name, json) && ok;
                                      return Status::ok();
                                    }));
    return done(ok);
  }
  auto peer = openSite(peerArg);
  if (peer->clusterId() != site->clusterId()) throw CliError(fmt::format("{} belongs to another cluster", peerArg));
  ok = verifyKept(*peer, false, json) && ok;
  sync::Summarizer summarize = [&](std::string_view t, const KeyRange& range,
                                   std::size_t listUpTo) {
    return peer->replication().summarize(t, range, listUpTo);
  };
  ok = verifyAgainst(*site, summarize, peer->name(), json) && ok;
  return done(ok);
}

namespace {

// The first seq of `origin` whose transaction `peer` holds with another hash; nullopt if none.
std::optional<std::uint64_t> forkPoint(Site& site, Site& peer, const SiteId& origin) {
  std::uint64_t common = std::min(take(site.vector()).get(origin), take(peer.vector()).get(origin));
  std::optional<std::uint64_t> fork;
  for (std::uint64_t seq = common; seq >= 1; --seq) {
    auto mine = site.replication().hashOf({origin, seq});
    auto theirs = peer.replication().hashOf({origin, seq});
    if (!mine || !theirs) break;  // compacted: what both compacted was final everywhere
    if (*mine == *theirs) break;
    fork = seq;
  }
  return fork;
}

}  // namespace

int cmdRejoin(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("from", po::value<std::string>()->required(),
                  "a site of the cluster that holds the other history: a site file or tcp://HOST:PORT");
  addSecretOption(o);
  addTimeoutOption(o);
  auto vm = parse(kRejoin, o, {"SITE"}, args);
  if (!vm) return 0;
  std::string path = (*vm)["SITE"].as<std::string>(), from = (*vm)["from"].as<std::string>();
  std::string fresh = path + ".rejoin", forked = path + ".forked";
  if (std::filesystem::exists(forked)) throw CliError(fmt::format("{} already exists: move it away first", forked));
  std::filesystem::remove(fresh);
  std::filesystem::remove(fresh + "-wal");
  auto site = openSite(path);
  std::string name = site->name();
  CreateOptions create{name, &env().ids, {}};
  auto rejoined = cloneFrom(from, fresh, create, *vm);
  struct Cleanup {
    std::string path;
    bool keep = false;
    ~Cleanup() {
      if (keep) return;
      std::error_code ec;
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    }
  } cleanup{fresh};
  auto fork = forkPoint(*site, *rejoined, site->id());
  if (!fork)
    throw CliError(fmt::format("{} holds no other history of {}: nothing to rejoin (sync them instead)", from, name));
  VersionVector held = take(site->vector()), upToFork;
  for (const auto& [origin, seq] : held.entries())
    upToFork.advance({origin, origin == site->id() ? *fork - 1 : seq});
  auto mine = take(site->replication().changesSince(upToFork));
  std::erase_if(mine, [&](const Transaction& t) { return t.dot.site != site->id(); });
  std::uint64_t rows = take(rejoined->replication().reissue(mine));
  SiteId newId = rejoined->id();
  rejoined.reset();
  site.reset();
  cleanup.keep = true;
  std::filesystem::rename(path, forked);
  std::filesystem::rename(fresh, path);
  std::cout << fmt::format(
      "{} forked at seq {}: it is now a new site ({}) cloned from {}; {} transactions written since the fork were "
      "written again ({} rows); the forked file is kept as {}\n",
      name, *fork, newId.hex(), from, mine.size(), rows, forked);
  return 0;
}

}  // namespace parley::cli
