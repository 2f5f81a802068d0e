// Schema changes as replicated transactions (DESIGN.md, "Schema and configuration changes"),
// on the public simulated cluster: a change made at one site reaches the others by sync, sites
// that have not received it keep writing on the schema they hold, and every delivery order ends
// with the same schema and the same rows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/testing/cluster.hpp"
#include "support/sites.hpp"

namespace parley::test {
namespace {

using testing::Cluster;
using testing::Options;

Options accounts(std::vector<std::string> sites = {"a", "b", "c"}) {
  Options o;
  o.sites = std::move(sites);
  o.schema = "CREATE TABLE account(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER)";
  o.clockStepMs = 5;
  return o;
}

// The columns of a table as `site` holds them, by name, with their declared types.
std::set<std::string> columnsOf(Cluster& c, std::size_t site, const std::string& table) {
  std::set<std::string> out;
  for (const auto& row : c.query(site, "SELECT name, type FROM pragma_table_info('" + table + "')"))
    out.insert(row[0].asText() + " " + row[1].asText());
  return out;
}

std::set<std::string> indexesOf(Cluster& c, std::size_t site) {
  std::set<std::string> out;
  for (const auto& row : c.query(site, "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"))
    out.insert(row[0].asText());
  return out;
}

}  // namespace

TEST_CASE("a column added at one site reaches a site that learns it from a third, which never saw the first",
          "[core][schema][issue25]") {
  Cluster c(accounts());
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 100), (2, 'bob', 50)");
  c.syncAll();
  c.partition({{0, 1}, {2}});
  c.execOk(0, "ALTER TABLE account ADD COLUMN email TEXT DEFAULT ''");
  c.execOk(0, "UPDATE account SET email = 'ann@example.com' WHERE id = 1");
  c.deliver(0, 1);  // b holds the change, but keeps writing old columns
  c.execOk(1, "UPDATE account SET balance = 75 WHERE id = 2");
  c.partition({{0}, {1, 2}});
  c.deliver(1, 2);  // c learns the column from b alone
  CHECK(columnsOf(c, 2, "account").count("email TEXT") == 1);
  CHECK(c.value(2, "SELECT email FROM account WHERE id = 1") == Value::text("ann@example.com"));
  c.heal();
  c.syncAll();
  c.assertConverged();
  CHECK(c.value(0, "SELECT balance FROM account WHERE id = 2") == Value::integer(75));
  CHECK(c.value(1, "SELECT email FROM account WHERE id = 2") == Value::text(""));
}

TEST_CASE("a site that has not received a new column keeps writing, and its writes apply at every site",
          "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 100)");
  c.syncAll();
  c.partition({{0}, {1}});
  c.execOk(0, "ALTER TABLE account ADD COLUMN note TEXT");
  c.execOk(0, "UPDATE account SET note = 'vip', balance = 90 WHERE id = 1");
  c.execOk(1, "UPDATE account SET owner = 'anne' WHERE id = 1");
  c.execOk(1, "INSERT INTO account VALUES (2, 'cy', 5)");
  c.heal();
  c.syncAll();
  c.assertConverged();
  CHECK(c.query(1, "SELECT owner, balance, note FROM account WHERE id = 1") ==
        std::vector<Row>{{Value::text("anne"), Value::integer(90), Value::text("vip")}});
  CHECK(c.value(0, "SELECT note FROM account WHERE id = 2").isNull());
}

TEST_CASE("the same column added at two sites concurrently is one column", "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 100)");
  c.syncAll();
  c.partition({{0}, {1}});
  c.execOk(0, "ALTER TABLE account ADD COLUMN tag TEXT");
  c.execOk(1, "ALTER TABLE account ADD COLUMN tag TEXT");
  c.execOk(0, "UPDATE account SET tag = 'from a' WHERE id = 1");
  c.heal();
  c.syncAll();
  c.assertConverged();
  CHECK(columnsOf(c, 1, "account").count("tag TEXT") == 1);
  CHECK(c.value(1, "SELECT tag FROM account WHERE id = 1") == Value::text("from a"));
}

TEST_CASE("concurrent renames of one column end with the later name at every site, the other in the conflict log",
          "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 100)");
  c.syncAll();
  c.partition({{0}, {1}});
  c.execOk(0, "ALTER TABLE account RENAME COLUMN owner TO holder");
  c.advanceClock(1, 60'000);
  c.execOk(1, "ALTER TABLE account RENAME COLUMN owner TO name");  // later clock: wins
  c.execOk(0, "UPDATE account SET holder = 'anna' WHERE id = 1");
  c.heal();
  c.syncAll();
  c.assertConverged();
  CHECK(c.value(0, "SELECT name FROM account WHERE id = 1") == Value::text("anna"));
  auto schemaConflicts = [&](std::size_t site) {
    auto all = c.conflicts(site);
    return std::count_if(all.begin(), all.end(), [](const ConflictReport& r) { return r.kind == ConflictKind::kSchema; });
  };
  CHECK(schemaConflicts(0) + schemaConflicts(1) >= 1);
}

TEST_CASE("a table created and tracked at one site replicates with its rows and indexes", "[core][schema][issue25]") {
  Cluster c(accounts());
  c.execOk(1, "CREATE TABLE audit(id INTEGER PRIMARY KEY, what TEXT NOT NULL)");
  c.execOk(1, "CREATE INDEX audit_what ON audit(what)");
  c.execOk(1, "INSERT INTO audit VALUES (1, 'opened')");
  REQUIRE(c.site(1).trackEverywhere("audit").isOk());
  c.execOk(1, "INSERT INTO audit VALUES (2, 'closed')");
  c.syncAll();
  c.assertConverged();
  CHECK(c.value(2, "SELECT count(*) FROM audit") == Value::integer(2));
  CHECK(indexesOf(c, 0).count("audit_what") == 1);
  CHECK(c.site(0).trackedTables().size() == 2);
  c.execOk(0, "INSERT INTO audit VALUES (3, 'from a')");
  c.syncAll();
  c.assertConverged();
}

TEST_CASE("a table two sites tracked with different definitions stops the sync loudly", "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER)");
  c.execOk(1, "CREATE TABLE t(id INTEGER PRIMARY KEY, y TEXT)");
  REQUIRE(c.site(0).trackEverywhere("t").isOk());
  REQUIRE(c.site(1).trackEverywhere("t").isOk());
  CHECK_THROWS_WITH(c.deliver(0, 1), Catch::Contains("defined differently"));
}

TEST_CASE("index changes replicate, a UNIQUE index on a tracked table is refused with its reason",
          "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "CREATE INDEX by_owner ON account(owner)");
  c.syncAll();
  CHECK(indexesOf(c, 1).count("by_owner") == 1);
  c.execOk(1, "DROP INDEX by_owner");
  c.syncAll();
  CHECK(indexesOf(c, 0).count("by_owner") == 0);
  auto unique = c.exec(0, "CREATE UNIQUE INDEX one_owner ON account(owner)");
  REQUIRE_FALSE(unique);
  CHECK_THAT(unique.status().message(), Catch::Contains("UNIQUE index"));
  CHECK(indexesOf(c, 0).count("one_owner") == 0);
}

TEST_CASE("configure of a table tracked everywhere replicates, and the later of two concurrent ones wins",
          "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "CREATE TABLE wallet(id INTEGER PRIMARY KEY, balance INTEGER)");
  REQUIRE(c.site(0).trackEverywhere("wallet").isOk());
  TableConfig merge;
  merge.overrides["balance"] = "merge";
  TableConfig counter;
  counter.overrides["balance"] = "counter";
  c.syncAll();  // switching to an order-sensitive strategy needs every held transaction final
  REQUIRE(c.site(0).configure("wallet", merge).isOk());
  c.syncAll();
  CHECK(c.site(1).config("wallet").value().overrides.at("balance") == "merge");
  c.partition({{0}, {1}});
  REQUIRE(c.site(0).configure("wallet", counter).isOk());
  c.advanceClock(1, 60'000);
  REQUIRE(c.site(1).configure("wallet", merge).isOk());
  c.heal();
  c.syncAll();
  CHECK(c.site(0).config("wallet").value().overrides.at("balance") == "merge");
  CHECK(c.site(1).config("wallet").value().overrides.at("balance") == "merge");
}

TEST_CASE("configure of a table tracked by hand at every site stays local, and the fingerprint compares it",
          "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  TableConfig fwwOwner;
  fwwOwner.insertInsert = "lww";
  REQUIRE(c.site(0).configure("account", fwwOwner).isOk());
  CHECK(c.site(0).replication().schemaFingerprint() != c.site(1).replication().schemaFingerprint());
  CHECK_THROWS_WITH(c.deliver(0, 1), Catch::Contains("resolver configuration"));
  REQUIRE(c.site(1).configure("account", fwwOwner).isOk());
  c.syncAll();
  c.assertConverged();
}

TEST_CASE("a schema change inside BEGIN...COMMIT, or a table rename, is refused and changes nothing",
          "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "BEGIN");
  auto inside = c.exec(0, "ALTER TABLE account ADD COLUMN x TEXT");
  REQUIRE_FALSE(inside);
  CHECK_THAT(inside.status().message(), Catch::Contains("outside BEGIN...COMMIT"));
  c.execOk(0, "ROLLBACK");
  auto rename = c.exec(0, "ALTER TABLE account RENAME TO accounts");
  REQUIRE_FALSE(rename);
  CHECK_THAT(rename.status().message(), Catch::Contains("renaming a tracked table is not supported"));
  CHECK(c.site(0).trackedTables() == std::vector<std::string>{"account"});
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 1)");
  c.syncAll();
  c.assertConverged();
}

TEST_CASE("a dropped column goes everywhere, writes to it made concurrently are dropped with it, others stay",
          "[core][schema][issue25]") {
  Cluster c(accounts({"a", "b"}));
  c.execOk(0, "ALTER TABLE account ADD COLUMN note TEXT");
  c.execOk(0, "INSERT INTO account VALUES (1, 'ann', 100, 'x'), (2, 'bob', 5, 'y')");
  c.syncAll();
  c.partition({{0}, {1}});
  c.execOk(0, "ALTER TABLE account DROP COLUMN owner");
  c.execOk(0, "UPDATE account SET balance = 90 WHERE id = 1");
  c.execOk(1, "UPDATE account SET owner = 'anne', note = 'z' WHERE id = 1");  // b still has owner
  c.execOk(1, "DELETE FROM account WHERE id = 2");
  c.heal();
  c.syncAll();
  c.assertConverged();
  CHECK(columnsOf(c, 1, "account") == std::set<std::string>{"id INTEGER", "balance INTEGER", "note TEXT"});
  CHECK(c.query(1, "SELECT id, balance, note FROM account") ==
        std::vector<Row>{{Value::integer(1), Value::integer(90), Value::text("z")}});
  for (std::size_t s = 0; s < 2; ++s) {
    auto v = c.site(s).replication().verify();
    REQUIRE(v);
    for (const auto& d : *v) CHECK(d.ok());
  }
  c.execOk(1, "INSERT INTO account VALUES (3, 7, 'new')");
  c.syncAll();
  c.assertConverged();
}

TEST_CASE("a table altered outside parley still reads and shows status, refuses writes naming the way back",
          "[core][schema][issue25]") {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("parley-outside-{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::string path = (dir / "a.db").string();
  std::filesystem::remove(path);
  ManualClock clock;
  SiteOptions options;
  options.clock = &clock;
  options.resolvers = resolvers::standard();
  {
    SiteId id;
    id.bytes.fill(7);
    FixedIdSource ids(id);
    auto site = Site::create(path, CreateOptions{"a", &ids, std::nullopt}, options);
    REQUIRE(site);
    REQUIRE((*site)->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, x TEXT)").ok());
    REQUIRE((*site)->track("t").isOk());
    REQUIRE((*site)->exec("INSERT INTO t VALUES (1, 'one')").ok());
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "ALTER TABLE t ADD COLUMN y TEXT", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto site = Site::open(path, options);
  REQUIRE(site);
  auto read = (*site)->exec("SELECT x FROM t");
  REQUIRE(read);
  CHECK(read->rows.size() == 1);
  CHECK((*site)->vector().ok());
  auto write = (*site)->exec("UPDATE t SET x = 'two'");
  REQUIRE_FALSE(write);
  CHECK_THAT(write.status().message(), Catch::Contains("changed outside parley") && Catch::Contains("put the table back"));
  REQUIRE(sqlite3_exec(raw, "ALTER TABLE t DROP COLUMN y", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  CHECK((*site)->exec("UPDATE t SET x = 'two'").ok());
  site->reset();
  std::filesystem::remove_all(dir);
}

// Random schema changes interleaved with writes across partitioned sites, delivered in random
// orders: every run converges, every site holds the same schema, and every cell's last write
// survives (each site writes its own cells, so the last write of a cell is known).
TEST_CASE("random schema changes and writes across partitions converge in every delivery order",
          "[core][schema][issue25][property]") {
  const int runs = 60;
  for (int run = 0; run < runs; ++run) {
    CAPTURE(run);
    Options o = test::faultyRun(accounts({"a", "b", "c"}), run);
    Cluster c(o);
    std::mt19937_64 rng(o.seed);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    for (int id = 1; id <= 6; ++id) c.execOk(0, fmt::format("INSERT INTO account VALUES ({}, 'o{}', 0)", id, id));
    c.syncAll();
    // Each site owns rows: site s writes rows with id % 3 == s, so the last write is known.
    std::map<std::pair<int, std::string>, std::string> last;  // (row, column) -> its last write
    std::set<std::string> dropped;
    int step = 0;
    for (int round = 0; round < 12; ++round) {
      if (pick(3) == 0) c.partition({{0}, {1, 2}});
      else if (pick(2) == 0) c.partition({{0, 1}, {2}});
      else c.heal();
      std::size_t s = pick(3);
      switch (pick(8)) {
        case 0: {
          std::string name = fmt::format("c{}_{}", s, round);
          c.execOk(s, "ALTER TABLE account ADD COLUMN " + name + " TEXT");
          break;
        }
        case 1: {
          std::string to = fmt::format("owner_{}", round);
          std::string from = c.query(s, "SELECT name FROM pragma_table_info('account') WHERE cid = 1")[0][0].asText();
          c.execOk(s, "ALTER TABLE account RENAME COLUMN " + from + " TO " + to);
          break;
        }
        case 2: c.exec(s, fmt::format("CREATE INDEX IF NOT EXISTS i{} ON account(balance)", round)); break;
        case 7: {
          // Drop one of the added columns this site holds (writes to it, anywhere, go with it).
          auto cols = c.query(s, "SELECT name FROM pragma_table_info('account') WHERE name LIKE 'c%\\_%' ESCAPE '\\'");
          if (cols.empty()) break;
          std::string column = cols[pick(cols.size())][0].asText();
          c.execOk(s, "ALTER TABLE account DROP COLUMN " + column);
          dropped.insert(column);
          break;
        }
        case 3: {
          // Order-insensitive changes: switching to an order-sensitive strategy needs a quiet
          // cluster (README, "Changing the schema").
          TableConfig cfg;
          cfg.insertInsert = pick(2) ? "merge" : "lww";
          for (const auto& table : c.site(s).trackedTables())
            if (table != "account") REQUIRE(c.site(s).configure(table, cfg).isOk());
          break;
        }
        case 4: {
          std::string table = fmt::format("t{}_{}", s, round);
          c.execOk(s, "CREATE TABLE " + table + "(k INTEGER PRIMARY KEY, v TEXT)");
          REQUIRE(c.site(s).trackEverywhere(table).isOk());
          c.execOk(s, "INSERT INTO " + table + " VALUES (1, 'x')");
          break;
        }
        default: {
          // A write to a row this site owns, in a column added by schema changes it holds.
          int id = static_cast<int>(s) == 0 ? 3 + 3 * static_cast<int>(pick(2)) : static_cast<int>(s) + 3 * static_cast<int>(pick(2));
          auto cols = c.query(s, "SELECT name FROM pragma_table_info('account') WHERE name LIKE 'c%\\_%' ESCAPE '\\'");
          if (cols.empty()) break;
          std::string column = cols[pick(cols.size())][0].asText();
          std::string value = fmt::format("v{}", ++step);
          c.execOk(s, fmt::format("UPDATE account SET \"{}\" = '{}' WHERE id = {}", column, value, id));
          last[{id, column}] = value;
          break;
        }
      }
      for (int k = 0; k < 3; ++k) c.step();
    }
    c.heal();
    c.syncAll();
    c.assertConverged();
    for (std::size_t s = 1; s < 3; ++s) {
      CHECK(columnsOf(c, s, "account") == columnsOf(c, 0, "account"));
      CHECK(indexesOf(c, s) == indexesOf(c, 0));
      CHECK(c.site(s).trackedTables().size() == c.site(0).trackedTables().size());
      for (const auto& table : c.site(0).trackedTables())
        CHECK(c.site(s).config(table).value() == c.site(0).config(table).value());
    }
    for (const auto& [cell, value] : last)
      if (!dropped.count(cell.second))
        CHECK(c.value(2, fmt::format("SELECT \"{}\" FROM account WHERE id = {}", cell.second, cell.first)) ==
            Value::text(value));
  }
}

}  // namespace parley::test
