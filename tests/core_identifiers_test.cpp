// Tables and columns with odd names (spaces, quotes, SQL keywords, '=', ',', unicode, leading
// digits, a parley_ prefix) through everything a site does with them: track, configure,
// concurrent writes, conflicts, re-folds under reject and merge, change-set files, TCP sync,
// compaction and clone. The oracle is the same workload on a table of plain names.
// Also: names that reach a site inside a change set are matched against its schema, never run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"
#include "support/sites.hpp"

namespace {

using namespace parley;
using namespace parley::test;

// Key columns first, then one column per odd kind of name.
const char* const kOddSchema = R"sql(
CREATE TABLE "order items"(
  "line id" INTEGER NOT NULL,
  "select" TEXT NOT NULL,
  "a""b" INTEGER,
  "it's" TEXT,
  "group" INTEGER,
  "from" TEXT,
  "prix €" INTEGER,
  "1st" TEXT,
  "parley_x" TEXT,
  "unit=price" INTEGER,
  "columns" TEXT,
  "a,b" TEXT,
  PRIMARY KEY ("line id", "select"));
)sql";
const char* const kOddTable = "order items";

// The same shape with plain names: what the odd table must behave like.
const char* const kPlainSchema = R"sql(
CREATE TABLE plain(k1 INTEGER NOT NULL, k2 TEXT NOT NULL, c1 INTEGER, c2 TEXT, c3 INTEGER, c4 TEXT,
                   c5 INTEGER, c6 TEXT, c7 TEXT, c8 INTEGER, c9 TEXT, c10 TEXT, PRIMARY KEY (k1, k2));
)sql";

TableConfig oddConfig() {
  TableConfig c;
  c.columns = "lww";
  c.overrides = {{"a\"b", "merge"}, {"prix €", "merge"}, {"unit=price", "counter"}, {"columns", "fww"},
                 {"group", "reject"}};
  return c;
}

TableConfig plainConfig() {
  TableConfig c;
  c.columns = "lww";
  c.overrides = {{"c1", "merge"}, {"c5", "merge"}, {"c8", "counter"}, {"c9", "fww"}, {"c3", "reject"}};
  return c;
}

ClusterOptions bothTables() {
  ClusterOptions o;
  o.resolvers = resolvers::standard();
  o.schema = std::string(kOddSchema) + kPlainSchema;
  o.tracked = {};
  return o;
}

void trackBoth(Site& site) {
  REQUIRE_OK(site.track(kOddTable, oddConfig()));
  REQUIRE_OK(site.track("plain", plainConfig()));
}

testing::Cluster makeCluster(std::size_t n) {
  testing::Cluster c(test::clusterOptions(n, bothTables()));
  for (std::size_t i = 0; i < n; ++i) trackBoth(c[i]);
  return c;
}

// Runs `sql`, written for the plain table, on both tables: names swapped for the odd ones.
void both(Site& site, std::string sql) {
  execOk(site, sql);
  const std::pair<const char*, const char*> names[] = {
      {"plain", "\"order items\""}, {"k1", "\"line id\""}, {"k2", "\"select\""}, {"c10", "\"a,b\""},
      {"c1", "\"a\"\"b\""},         {"c2", "\"it's\""},     {"c3", "\"group\""},  {"c4", "\"from\""},
      {"c5", "\"prix €\""},         {"c6", "\"1st\""},      {"c7", "\"parley_x\""}, {"c8", "\"unit=price\""},
      {"c9", "\"columns\""}};
  for (const auto& [plain, odd] : names) {
    for (std::size_t at = 0; (at = sql.find(plain, at)) != std::string::npos;) {
      sql.replace(at, std::string(plain).size(), odd);
      at += std::string(odd).size();
    }
  }
  execOk(site, sql);
}

std::vector<Row> contents(Site& site, const char* table) { return tableContents(site, table); }

void requireSameAsPlain(Site& site) {
  auto odd = contents(site, kOddTable), plain = contents(site, "plain");
  INFO("odd:\n" << describe(odd) << "plain:\n" << describe(plain));
  REQUIRE(odd == plain);
}

// Conflicts of one table with the column named as in the plain table, for comparing.
std::vector<std::string> conflictSummary(Site& site, const std::string& table) {
  const std::map<std::string, std::string> toPlain = {
      {"a\"b", "c1"}, {"it's", "c2"}, {"group", "c3"}, {"from", "c4"}, {"prix €", "c5"}, {"1st", "c6"},
      {"parley_x", "c7"}, {"unit=price", "c8"}, {"columns", "c9"}, {"a,b", "c10"}, {"", ""}};
  auto reports = site.conflicts(table);
  REQUIRE_OK(reports);
  std::vector<std::string> out;
  for (const auto& r : *reports) {
    std::string column = table == "plain" ? r.column : toPlain.at(r.column);
    out.push_back(toString(r.kind) + " " + column + " " + r.resolver + " " + toString(r.outcome) + " " +
                  r.result.toSqlLiteral());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void concurrentWrites(testing::Cluster& c) {
  both(c[0], "INSERT INTO plain VALUES (1, 'a', 100, 'x', 1, 'f', 10, 'one', 'p', 5, 'cols', 'ab')");
  c.syncAll();
  c.clock(0).advance(5);
  c.clock(1).advance(7);
  both(c[0], "UPDATE plain SET c1 = c1 - 30, c2 = 'at 0', c5 = c5 + 1, c8 = c8 + 2, c9 = 'zero' WHERE k1 = 1");
  both(c[1], "UPDATE plain SET c1 = c1 - 50, c2 = 'at 1', c5 = c5 + 4, c8 = c8 + 3, c9 = 'one', c10 = 'z' WHERE k1 = 1");
  // Reject: of two concurrent writes to c3, the later transaction is rejected as a whole.
  both(c[0], "UPDATE plain SET c3 = 2, c6 = 'rejected?' WHERE k1 = 1");
  both(c[1], "UPDATE plain SET c3 = 3, c7 = 'rejected?' WHERE k1 = 1");
  both(c[1], "INSERT INTO plain VALUES (2, 'b''c', 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
}

}  // namespace

TEST_CASE("a table config with odd column names prints and parses back to itself", "[identifiers]") {
  TableConfig c = oddConfig();
  c.overrides["has space"] = "fww";
  c.overrides["\"quoted\""] = "merge";
  c.overrides["insert/insert"] = "lww";
  c.overrides["tab\there"] = "lww";
  std::string text = c.toString();
  INFO(text);
  auto parsed = TableConfig::parse(text);
  REQUIRE_OK(parsed);
  CHECK(*parsed == c);
  CHECK(parsed->insertInsert == "merge");
  CHECK(parsed->columns == "lww");
}

TEST_CASE("a table config of plain names keeps the text older sites stored", "[identifiers]") {
  const std::string stored = "columns=lww balance=merge insert/insert=merge update/delete=lww delete/update=lww";
  auto parsed = TableConfig::parse(stored);
  REQUIRE_OK(parsed);
  CHECK(parsed->overrides.at("balance") == "merge");
  CHECK(parsed->toString() == stored);
}

TEST_CASE("a malformed table config is refused in one line", "[identifiers]") {
  for (const char* bad : {"columns", "=lww", "\"unterminated=lww", "\"a\"lww", "a=", "a=b=c", "\"a\" =lww"}) {
    auto parsed = TableConfig::parse(bad);
    INFO(bad);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.status().message().find('\n') == std::string::npos);
  }
}

TEST_CASE("a table with odd names is tracked, configured and reports its columns as declared", "[identifiers]") {
  testing::Cluster c = makeCluster(1);
  auto columns = c[0].columns(kOddTable);
  REQUIRE_OK(columns);
  CHECK(*columns == std::vector<std::string>{"line id", "select", "a\"b", "it's", "group", "from", "prix €", "1st",
                                             "parley_x", "unit=price", "columns", "a,b"});
  auto config = c[0].config(kOddTable);
  REQUIRE_OK(config);
  CHECK(*config == oddConfig());
  TableConfig changed = oddConfig();
  changed.overrides["it's"] = "fww";
  REQUIRE_OK(c[0].configure(kOddTable, changed));
  CHECK(*c[0].config(kOddTable) == changed);
  TableConfig unknown = oddConfig();
  unknown.overrides["no such"] = "merge";
  Status refused = c[0].configure(kOddTable, unknown);
  CHECK(refused.code() == Status::Code::kInvalidArgument);
  CHECK(refused.message().find("\"no such\"") != std::string::npos);
}

TEST_CASE("a site with a resolver on a column named with a space opens again (its stored config once did not parse)",
          "[identifiers]") {
  TempDir dir;
  ManualClock clock(1'700'000'000'000ULL);
  FixedIdSource ids(testSiteId(1));
  {
    auto site = Site::create(dir.file("s.parley"), CreateOptions{"s", &ids, testClusterId()},
                             SiteOptions{&clock, resolvers::standard()});
    REQUIRE_OK(site);
    execOk(**site, kOddSchema);
    REQUIRE_OK((*site)->track(kOddTable, oddConfig()));
  }
  auto reopened = Site::open(dir.file("s.parley"), SiteOptions{&clock, resolvers::standard()});
  REQUIRE_OK(reopened);
  CHECK(*(*reopened)->config(kOddTable) == oddConfig());
}

TEST_CASE("concurrent writes to odd names converge and conflict exactly as on plain names", "[identifiers]") {
  testing::Cluster c = makeCluster(2);
  concurrentWrites(c);
  c.syncAll();
  for (std::size_t i = 0; i < 2; ++i) {
    requireSameAsPlain(c[i]);
    CHECK(conflictSummary(c[i], kOddTable) == conflictSummary(c[i], "plain"));
    CHECK_FALSE(conflictSummary(c[i], kOddTable).empty());
  }
  CHECK(contents(c[0], kOddTable) == contents(c[1], kOddTable));
  // merge: 100 - 30 - 50; reject: one of the two group writes stands.
  CHECK(queryInt(c[0], "SELECT \"a\"\"b\" FROM \"order items\" WHERE \"line id\" = 1") == 20);
  CHECK(queryInt(c[0], "SELECT \"unit=price\" FROM \"order items\" WHERE \"line id\" = 1") == 10);
}

TEST_CASE("a re-fold of odd names under reject and merge gives what the plain table gets", "[identifiers]") {
  testing::Cluster c = makeCluster(3);
  concurrentWrites(c);
  // Site 2 gets the later write first, then the earlier one: it must re-fold.
  c.deliver(1, 2);
  requireSameAsPlain(c[2]);
  c.deliver(0, 2);
  c.syncAll();
  for (std::size_t i = 0; i < 3; ++i) {
    requireSameAsPlain(c[i]);
    CHECK(contents(c[i], kOddTable) == contents(c[0], kOddTable));
  }
}

TEST_CASE("odd names travel by change-set file and by TCP, and survive compact and clone", "[identifiers]") {
  testing::Cluster c = makeCluster(3);
  concurrentWrites(c);
  TempDir dir;
  auto exported = sync::exportChanges(c[1], dir.file("changes.pcs"), c[0].vector().value());
  REQUIRE_OK(exported);
  auto imported = sync::importChanges(c[0], dir.file("changes.pcs"));
  REQUIRE_OK(imported);
  CHECK(imported->applied.applied > 0);

  sync::TcpOptions options;
  options.secret = "e9e86dd88be06a788f3313d1be9a261da3755406040110e25053560a20edf28d";
  auto server = sync::Server::start(c[0], "127.0.0.1:0", options);
  REQUIRE_OK(server);
  REQUIRE_OK(sync::syncTcp(c[2], "127.0.0.1:" + std::to_string((*server)->port()), options));
  REQUIRE_OK(sync::syncTcp(c[1], "127.0.0.1:" + std::to_string((*server)->port()), options));
  (*server)->stop();
  c.syncAll();
  for (std::size_t i = 0; i < 3; ++i) requireSameAsPlain(c[i]);

  REQUIRE_OK(c[0].replication().compact());
  both(c[0], "UPDATE plain SET c6 = 'after compact' WHERE k1 = 2");
  requireSameAsPlain(c[0]);

  FixedIdSource ids(testSiteId(9));
  ManualClock clock(1'700'000'100'000ULL);
  auto clone = c[0].clone(dir.file("clone.parley"), CreateOptions{"clone", &ids, testClusterId()},
                          SiteOptions{&clock, resolvers::standard()});
  REQUIRE_OK(clone);
  requireSameAsPlain(**clone);
  CHECK(*(*clone)->config(kOddTable) == oddConfig());
  both(**clone, "UPDATE plain SET c2 = 'from the clone' WHERE k1 = 1");
  test::transfer(**clone, c[1]);
  requireSameAsPlain(c[1]);
}

TEST_CASE("a column named a,b and columns named a and b give different schema fingerprints", "[identifiers]") {
  ClusterOptions one;
  one.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, \"a,b\");";
  ClusterOptions two;
  two.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);";
  testing::Cluster c1(test::clusterOptions(1, one)), c2(test::clusterOptions(1, two));
  CHECK(c1[0].replication().schemaFingerprint() != c2[0].replication().schemaFingerprint());
  ClusterOptions star;
  star.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, \"*a\");";
  ClusterOptions key;
  key.schema = "CREATE TABLE t(\"a\" INTEGER PRIMARY KEY, x);";
  testing::Cluster c3(test::clusterOptions(1, star)), c4(test::clusterOptions(1, key));
  CHECK(c3[0].replication().schemaFingerprint() != c4[0].replication().schemaFingerprint());
}

TEST_CASE("a peer's transaction naming a table that is not tracked here is refused and runs nothing",
          "[identifiers]") {
  testing::Cluster c = makeCluster(2);
  Transaction t = captureOne(c[0], "INSERT INTO \"order items\"(\"line id\", \"select\") VALUES (7, 'x')");
  auto before = contents(c[1], kOddTable);
  for (const char* name : {"order items\"; DROP TABLE plain; --", "ORDER ITEMS", "order  items", "plain\" --"}) {
    Transaction forged = t;
    forged.rows.at(0).table = name;
    INFO(name);
    CHECK_FALSE(c[1].replication().checkFits(forged).isOk());
    auto applied = c[1].replication().apply(std::span<const Transaction>(&forged, 1));
    CHECK_FALSE(applied.ok());
    CHECK(applied.status().message().find('\n') == std::string::npos);
    CHECK(contents(c[1], kOddTable) == before);
    CHECK(queryInt(c[1], "SELECT count(*) FROM plain") == 0);
  }
  Transaction wrongColumn = t;
  wrongColumn.rows.at(0).columns.at(0).column = 12;
  CHECK_FALSE(c[1].replication().checkFits(wrongColumn).isOk());
}
