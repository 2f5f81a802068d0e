// Divergence is never silent: each origin's hash chain (a copied or restored site that writes
// again is refused as a fork, naming the site and seq; a restored site takes its own later
// transactions back), and state digests (kept by every commit and apply, equal at sites
// holding the same transactions, recomputed by verify, compared at every sync).
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <random>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/in_process.hpp"
#include "parley/sync/verify.hpp"
#include "parley/txn_codec.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using Catch::Matchers::Contains;
using testing::Cluster;
using test::execOk;
using test::tableContents;

// Sites in files of one directory, with one clock, for copying and restoring them.
struct FileSites {
  test::TempDir dir;
  ManualClock clock;
  RandomIdSource ids;
  SiteOptions options{&clock, resolvers::standard(), std::chrono::minutes(1)};

  // A site tracking t, made by `schema` and `rows`, whose `column` resolves with `strategy`.
  std::unique_ptr<Site> create(const std::string& name,
                               const std::string& schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, balance INTEGER)",
                               const std::string& rows = "INSERT INTO t VALUES (1, 1000)",
                               const std::string& column = "balance", const std::string& strategy = "merge") {
    auto site = Site::create(dir.file(name + ".db"), {name, &ids, {}}, options);
    REQUIRE_OK(site);
    execOk(**site, schema);
    execOk(**site, rows);
    TableConfig config;
    config.overrides[column] = strategy;
    REQUIRE_OK((*site)->track("t", config));
    return std::move(*site);
  }
  std::unique_ptr<Site> clone(Site& from, const std::string& name) {
    auto site = from.clone(dir.file(name + ".db"), {name, &ids, {}}, options);
    REQUIRE_OK(site);
    return std::move(*site);
  }
  std::unique_ptr<Site> open(const std::string& file) {
    auto site = Site::open(dir.file(file), options);
    REQUIRE_OK(site);
    return std::move(*site);
  }
  // A byte-for-byte copy of a site's database, as `cp` or a restored backup gives.
  std::unique_ptr<Site> copy(Site& site, const std::string& file) {
    REQUIRE_OK(site.backup(dir.file(file)));
    return open(file);
  }
  void write(Site& site, int delta) {
    clock.advance(5);
    execOk(site, "UPDATE t SET balance = balance + " + std::to_string(delta) + " WHERE id = 1");
  }
};

std::int64_t balance(Site& site) { return test::queryInt(site, "SELECT balance FROM t WHERE id = 1"); }

// Writes to a site's file through a plain SQLite connection, behind parley's back: the guard
// trigger is dropped first, then put back as it was.
void writeBehindParley(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 't'", -1, &st,
                             nullptr) == SQLITE_OK);
  std::vector<std::pair<std::string, std::string>> triggers;
  while (sqlite3_step(st) == SQLITE_ROW)
    triggers.push_back({reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                        reinterpret_cast<const char*>(sqlite3_column_text(st, 1))});
  sqlite3_finalize(st);
  std::string script = "BEGIN;";
  for (const auto& [name, text] : triggers) script += "DROP TRIGGER \"" + name + "\";";
  script += sql + ";";
  for (const auto& [name, text] : triggers) script += text + ";";
  script += "COMMIT;";
  char* error = nullptr;
  int rc = sqlite3_exec(db, script.c_str(), nullptr, nullptr, &error);
  INFO((error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("each transaction links to its origin's previous one by hash", "[core][divergence][chain]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  execOk(c[0], "UPDATE t SET a = 'b'");
  execOk(c[0], "UPDATE t SET a = 'c'");
  c.syncPair(0, 1);
  auto held = test::allTransactions(c[1]);
  std::erase_if(held, [&](const Transaction& t) { return t.dot.site != c[0].id(); });
  std::sort(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.dot < b.dot; });
  REQUIRE(held.size() == 3);
  CHECK(held[0].prev.empty());
  for (std::size_t i = 0; i < held.size(); ++i) {
    CHECK_FALSE(held[i].hash.empty());
    if (i) CHECK(held[i].prev == held[i - 1].hash);
  }
  CHECK(held[1].hash != held[2].hash);
  auto heads = c[1].replication().chainHeads();
  REQUIRE_OK(heads);
  auto head = std::find_if(heads->begin(), heads->end(), [&](const ChainHead& h) { return h.site == c[0].id(); });
  REQUIRE(head != heads->end());
  CHECK(head->seq == 3);
  CHECK(head->hash == held[2].hash);
}

TEST_CASE("an encoded transaction keeps its origin's hash when encoded again elsewhere", "[core][divergence][chain]") {
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  Transaction t = test::allTransactions(c[0]).at(0);
  std::string body = encodeTransaction(t);
  Transaction back = decodeTransaction(body).value();
  CHECK(back.hash == t.hash);
  back.context = VersionVector{};  // another context, as a forwarding site may encode it
  CHECK(decodeTransaction(encodeTransaction(back)).value().hash == t.hash);
  CHECK(chainHashInBody(body) == t.hash);
}

TEST_CASE("a copied site file that writes again is refused as a fork by a peer that holds the original's writes",
          "[core][divergence][chain]") {
  FileSites fs;
  auto ny = fs.create("ny");
  auto london = fs.clone(*ny, "london");
  auto copy = fs.copy(*ny, "ny-copy.db");
  fs.write(*ny, -100);
  fs.write(*copy, -200);  // the same dot as ny's -100, another transaction
  REQUIRE_OK(syncSites(*ny, *london));
  auto r = syncSites(*copy, *london);
  REQUIRE(r.status().code() == Status::Code::kDiverged);
  CHECK_THAT(r.status().message(), Contains("forked") || Contains("different histories"));
  CHECK_THAT(r.status().message(), Contains("parley rejoin"));
  CHECK(balance(*london) == 900);  // nothing of the copy's history was taken
}

TEST_CASE("a transaction under a held dot with another hash is a fork, not a duplicate", "[core][divergence][chain]") {
  FileSites fs;
  auto ny = fs.create("ny");
  auto london = fs.clone(*ny, "london");
  auto copy = fs.copy(*ny, "ny-copy.db");
  fs.write(*ny, -100);
  fs.write(*copy, -200);
  REQUIRE_OK(syncSites(*ny, *london));
  // Delivered without a handshake (a change set made by hand, a bug): apply itself refuses.
  auto theirs = copy->replication().changesSince(VersionVector{});
  REQUIRE_OK(theirs);
  std::erase_if(*theirs, [&](const Transaction& t) { return !(t.dot == Dot{copy->id(), copy->vector().value().get(copy->id())}); });
  REQUIRE(theirs->size() == 1);
  auto applied = london->replication().apply(*theirs);
  REQUIRE(applied.status().code() == Status::Code::kDiverged);
  CHECK_THAT(applied.status().message(), Contains(fmt::format("seq {}", theirs->front().dot.seq)));
  CHECK(balance(*london) == 900);
}

TEST_CASE("a site restored from a backup takes its own later transactions back from a peer", "[core][divergence][chain]") {
  FileSites fs;
  auto ny = fs.create("ny");
  auto london = fs.clone(*ny, "london");
  REQUIRE_OK(ny->backup(fs.dir.file("ny-backup.db")));
  fs.write(*ny, -100);
  fs.write(*ny, -50);
  REQUIRE_OK(syncSites(*ny, *london));
  VersionVector before = ny->vector().value();
  ny.reset();
  auto restored = fs.open("ny-backup.db");
  REQUIRE_OK(syncSites(*restored, *london));
  CHECK(restored->vector().value() == before);
  CHECK(balance(*restored) == 850);
  fs.write(*restored, -25);  // continues its own history: peers accept it
  REQUIRE_OK(syncSites(*restored, *london));
  CHECK(balance(*london) == 825);
}

TEST_CASE("a restored backup that wrote before syncing is refused, and its writes survive a rejoin",
          "[core][divergence][chain]") {
  FileSites fs;
  auto ny = fs.create("ny");
  auto london = fs.clone(*ny, "london");
  REQUIRE_OK(ny->backup(fs.dir.file("ny-backup.db")));
  fs.write(*ny, -100);
  REQUIRE_OK(syncSites(*ny, *london));
  ny.reset();
  auto restored = fs.open("ny-backup.db");
  fs.write(*restored, -30);  // the seq its lost -100 had
  auto r = syncSites(*restored, *london);
  REQUIRE(r.status().code() == Status::Code::kDiverged);
  CHECK(balance(*london) == 900);

  // The remedy: a clone of london under a new id, with the restored site's writes again.
  auto rejoined = fs.clone(*london, "ny-rejoined");
  VersionVector beforeFork;
  beforeFork.advance({restored->id(), restored->vector().value().get(restored->id()) - 1});
  auto mine = restored->replication().changesSince(beforeFork);
  REQUIRE_OK(mine);
  std::erase_if(*mine, [&](const Transaction& t) { return t.dot.site != restored->id(); });
  REQUIRE(mine->size() == 1);
  auto rows = rejoined->replication().reissue(*mine);
  REQUIRE_OK(rows);
  CHECK(*rows == 1);
  CHECK(balance(*rejoined) == 870);  // merge: its -30 as a delta on top of the -100
  REQUIRE_OK(syncSites(*rejoined, *london));
  CHECK(balance(*london) == 870);
}

TEST_CASE("sites holding the same transactions in any order have equal digests", "[core][divergence][digest]") {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    Cluster c(test::clusterOptions(3));
    for (int i = 0; i < 30; ++i) {
      Site& site = c[rng() % 3];
      c.clock(0).advance(1);
      int id = static_cast<int>(rng() % 6);
      switch (rng() % 4) {
        case 0: execOk(site, fmt::format("INSERT OR REPLACE INTO t VALUES ({}, 'v{}', {})", id, i, i)); break;
        case 1: execOk(site, fmt::format("UPDATE t SET a = 'u{}' WHERE id = {}", i, id)); break;
        case 2: execOk(site, fmt::format("UPDATE t SET b = coalesce(b, 0) + 1 WHERE id = {}", id)); break;
        default: execOk(site, fmt::format("DELETE FROM t WHERE id = {}", id)); break;
      }
      if (rng() % 5 == 0) {
        std::size_t a = rng() % 3, b = (a + 1 + rng() % 2) % 3;
        c.syncPair(a, b);
      }
    }
    // Different delivery orders: ring one way, then the other.
    if (round % 2) c.syncPair(0, 1), c.syncPair(1, 2), c.syncPair(2, 0);
    else c.syncPair(2, 1), c.syncPair(1, 0), c.syncPair(0, 2);
    c.syncAll();
    INFO("round " << round);
    REQUIRE(tableContents(c[0], "t") == tableContents(c[1], "t"));
    auto d0 = c[0].replication().digests(), d1 = c[1].replication().digests(),
         d2 = c[2].replication().digests();
    REQUIRE_OK(d0);
    CHECK(*d0 == *d1);
    CHECK(*d0 == *d2);
    for (std::size_t i = 0; i < 3; ++i) {
      auto checks = c[i].replication().verify();
      REQUIRE_OK(checks);
      for (const auto& check : *checks) CHECK(check.ok());
    }
  }
}

TEST_CASE("a transaction writing several tables keeps every table's digest, here and where it applies",
          "[core][divergence][digest]") {
  test::ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE u(id INTEGER PRIMARY KEY, c);"
             "CREATE TABLE w(id INTEGER PRIMARY KEY, d)";
  o.tracked = {"t", "u", "w"};
  Cluster c(test::clusterOptions(2, o));
  execOk(c[0], "BEGIN");
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1)");
  execOk(c[0], "INSERT INTO u VALUES (1, 'y'), (2, 'z')");
  execOk(c[0], "INSERT INTO w VALUES (7, 0)");
  execOk(c[0], "COMMIT");
  c.syncPair(0, 1);
  for (std::size_t i = 0; i < 2; ++i) {
    auto checks = c[i].replication().verify();
    REQUIRE_OK(checks);
    REQUIRE(checks->size() == 3);
    for (const auto& check : *checks) {
      INFO("site " << i << " table " << check.table);
      CHECK(check.ok());
      CHECK(check.kept != std::string(32, '0'));
    }
  }
}

TEST_CASE("digests kept with local commits survive reopening, another connection's view, compaction and cloning",
          "[core][divergence][digest]") {
  FileSites fs;
  auto ny = fs.create("ny");
  auto london = fs.clone(*ny, "london");
  auto other = fs.open("ny.db");  // a second connection to the same file, as another process
  fs.write(*ny, -100);
  fs.write(*london, -7);
  auto expectKept = [](Site& site) {
    auto checks = site.replication().verify();
    REQUIRE_OK(checks);
    for (const auto& c : *checks) {
      INFO(site.name() << " table " << c.table);
      CHECK(c.ok());
    }
  };
  CHECK(*other->replication().digests() == *ny->replication().digests());
  expectKept(*other);
  REQUIRE_OK(syncSites(*ny, *london));  // an apply after the commits
  for (int i = 0; i < 300; ++i) fs.write(*ny, -1);  // past the base's rewrite every 256 transactions
  other = fs.open("ny.db");
  expectKept(*other);
  CHECK(*other->replication().digests() == *ny->replication().digests());
  REQUIRE_OK(syncSites(*ny, *london));
  REQUIRE_OK(syncSites(*ny, *london));   // acknowledgements: everything is final
  auto dropped = ny->replication().compact();
  REQUIRE_OK(dropped);
  CHECK(*dropped > 0);
  ny.reset();
  ny = fs.open("ny.db");
  expectKept(*ny);
  CHECK(*ny->replication().digests() == *london->replication().digests());
  auto tokyo = fs.clone(*ny, "tokyo");
  expectKept(*tokyo);
  CHECK(*tokyo->replication().digests() == *ny->replication().digests());
}

TEST_CASE("digests stay right when a site hears from a clock a day ahead and writes after it",
          "[core][divergence][digest]") {
  FileSites fs;
  auto a = fs.create("a");
  auto fast = fs.clone(*a, "fast");
  auto c = fs.clone(*a, "c");
  ManualClock tomorrow(fs.clock.nowMillis() + 24ULL * 3600 * 1000);
  SiteOptions fastOptions = fs.options;
  fastOptions.clock = &tomorrow;
  {
    auto ahead = Site::open(fs.dir.file("fast.db"), fastOptions);
    REQUIRE_OK(ahead);
    execOk(**ahead, "UPDATE t SET balance = balance + 1 WHERE id = 1");
  }
  fast = fs.open("fast.db");
  REQUIRE_OK(syncSites(*a, *fast));
  fs.write(*a, -5);
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    a = fs.open("a.db"), fast = fs.open("fast.db"), c = fs.open("c.db");
    REQUIRE_OK(syncSites(*a, *fast));
    a = fs.open("a.db"), fast = fs.open("fast.db");
    REQUIRE_OK(syncSites(*a, *c));
    c = fs.open("c.db"), fast = fs.open("fast.db");
    REQUIRE_OK(syncSites(*fast, *c));
  }
}

TEST_CASE("digests read back right past many transactions and after a re-fold", "[core][divergence][digest]") {
  test::ClusterOptions o;
  o.config = TableConfig{};
  o.config->columns = "fww";  // order-sensitive: a late arrival re-folds what sorts after it
  Cluster c(test::clusterOptions(2, o));
  for (int i = 0; i < 300; ++i) {  // past the base's rewrite every 256 transactions
    c.clock(0).advance(1);
    execOk(c[0], fmt::format("INSERT OR REPLACE INTO t VALUES ({}, 'v{}', {})", i % 40, i, i));
  }
  c.clock(1).advance(1);  // sorts before most of site 0's writes: a re-fold at site 1's peer
  execOk(c[1], "UPDATE t SET a = 'early' WHERE id = 3");
  c.syncPair(0, 1);
  REQUIRE(tableContents(c[0], "t") == tableContents(c[1], "t"));
  for (std::size_t i = 0; i < 2; ++i) {
    auto checks = c[i].replication().verify();
    REQUIRE_OK(checks);
    for (const auto& check : *checks) CHECK(check.ok());
  }
  CHECK(*c[0].replication().digests() == *c[1].replication().digests());
}

TEST_CASE("a digest tells different rows apart and does not depend on the order rows were written",
          "[core][divergence][digest]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1); INSERT INTO t VALUES (2, 'y', 2)");
  execOk(c[1], "INSERT INTO t VALUES (2, 'y', 2); INSERT INTO t VALUES (1, 'x', 1)");
  CHECK(c[0].replication().digests().value().at(0).digest ==
        c[1].replication().digests().value().at(0).digest);
  execOk(c[1], "UPDATE t SET b = 3 WHERE id = 2");
  CHECK(c[0].replication().digests().value().at(0).digest !=
        c[1].replication().digests().value().at(0).digest);
  execOk(c[1], "UPDATE t SET b = 2 WHERE id = 2");
  CHECK(c[0].replication().digests().value().at(0).digest ==
        c[1].replication().digests().value().at(0).digest);
  execOk(c[1], "UPDATE t SET b = '2' WHERE id = 2");  // text '2' is not integer 2
  CHECK(c[0].replication().digests().value().at(0).digest !=
        c[1].replication().digests().value().at(0).digest);
}

TEST_CASE("a write behind parley's back is found by verify", "[core][divergence][digest]") {
  FileSites fs;
  auto ny = fs.create("ny");
  auto london = fs.clone(*ny, "london");
  REQUIRE_OK(syncSites(*ny, *london));
  ny.reset();
  writeBehindParley(fs.dir.file("ny.db"), "UPDATE t SET balance = 5 WHERE id = 1");
  ny = fs.open("ny.db");
  auto checks = ny->replication().verify();
  REQUIRE_OK(checks);
  REQUIRE(checks->size() == 1);
  CHECK_FALSE(checks->front().ok());
  CHECK(checks->front().rows == 1);
  sync::Summarizer peer = [&](std::string_view table, const KeyRange& range, std::size_t listUpTo) {
    return london->replication().summarize(table, range, listUpTo);
  };
  auto diffs = sync::findDifferences(*ny, peer, "t");
  REQUIRE_OK(diffs);
  REQUIRE(diffs->size() == 1);
  CHECK(diffs->front().key == Row{test::Int(1)});
}

TEST_CASE("sites that fold the same transactions to different rows fail the sync, and both record it",
          "[core][divergence][digest]") {
  // A callback registered under one name with other code at each site breaks the rule that
  // every site runs the same code: the fold differs, the transactions do not.
  auto keepLocal = resolvers::standard();
  REQUIRE_OK(keepLocal->addCallback("pick", [](const resolvers::CallbackArgs& a) { return a.local.value; }));
  auto takeRemote = resolvers::standard();
  REQUIRE_OK(takeRemote->addCallback("pick", [](const resolvers::CallbackArgs& a) { return a.remote.value; }));
  FileSites fs;
  fs.options.resolvers = keepLocal;
  auto ny = fs.create("ny", "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'start')", "v",
                      "callback:pick");
  SiteOptions other = fs.options;
  other.resolvers = takeRemote;
  auto cloned = ny->clone(fs.dir.file("london.db"), {"london", &fs.ids, {}}, other);
  REQUIRE_OK(cloned);
  auto london = std::move(*cloned);
  fs.clock.advance(5);
  execOk(*ny, "UPDATE t SET v = 'ny'");
  execOk(*london, "UPDATE t SET v = 'london'");
  auto r = syncSites(*ny, *london);
  REQUIRE(r.status().code() == Status::Code::kDiverged);
  CHECK_THAT(r.status().message(), Contains("same transactions but different rows in table \"t\"") &&
                                       Contains("parley verify"));
  CHECK(ny->vector().value() == london->vector().value());
  for (Site* site : {ny.get(), london.get()}) {
    auto standing = site->replication().divergences();
    REQUIRE_OK(standing);
    CHECK(standing->size() == 1);
  }
  // A change set of london's says the same at import: refused whole.
  std::string file = fs.dir.file("london.pcs");
  REQUIRE_OK(sync::exportChanges(*london, file, VersionVector{}));
  auto imported = sync::importChanges(*ny, file);
  REQUIRE(imported.status().code() == Status::Code::kDiverged);
  CHECK_THAT(imported.status().message(), Contains("different rows in table \"t\"") && Contains("nothing was imported"));
}

TEST_CASE("range summaries narrow two sites' tables down to the rows that differ", "[core][divergence][verify]") {
  Cluster c(test::clusterOptions(2));
  std::string insert = "INSERT INTO t VALUES ";
  for (int i = 1; i <= 500; ++i) insert += fmt::format("{}({}, 'r{}', {})", i > 1 ? ", " : "", i, i, i);
  execOk(c[0], insert);
  c.syncPair(0, 1);
  // Diverge the copies by hand through apply-free paths: each site writes, no sync.
  execOk(c[0], "UPDATE t SET a = 'changed' WHERE id = 137");
  execOk(c[1], "DELETE FROM t WHERE id = 404");
  execOk(c[0], "INSERT INTO t VALUES (777, 'new', 0)");
  sync::Summarizer peer = [&](std::string_view table, const KeyRange& range, std::size_t listUpTo) {
    return c[1].replication().summarize(table, range, listUpTo);
  };
  auto diffs = sync::findDifferences(c[0], peer, "t");
  REQUIRE_OK(diffs);
  std::vector<std::pair<std::int64_t, sync::RowDifference::Kind>> found;
  for (const auto& d : *diffs) found.push_back({d.key.at(0).asInteger(), d.kind});
  std::sort(found.begin(), found.end());
  using K = sync::RowDifference::Kind;
  std::vector<std::pair<std::int64_t, K>> expected{{137, K::kDifferent}, {404, K::kOnlyHere}, {777, K::kOnlyHere}};
  CHECK(found == expected);
}

}  // namespace parley
