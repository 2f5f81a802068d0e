// Change-set files (sync/changeset.hpp) against two oracles: a site that imports what another
// exported ends up as the sender, and the same as in-process sync would leave it; and a file
// that is refused leaves the importer's database exactly as it was (every table, parley's own
// included, the vector, and the bytes of a file-backed database).
//
// Rare paths are made to fire: every truncation of a small file, thousands of seeded byte
// flips, forged files whose checksums were rewritten to match, and decodeTransaction on random
// and damaged bytes. Random tests print their seed; PARLEY_SEED=<n> replays one.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fuzz/changeset_frames.hpp"
#include "fuzz/decode_bounds.hpp"
#include "fuzz/fuzz_schema.hpp"
#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/txn_codec.hpp"
#include "support/files.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using sync::exportChanges;
using sync::FileInfo;
using sync::importChanges;
using sync::ImportSummary;
using sync::inspectChanges;
using test::Bytes;
using testing::Cluster;
using test::ClusterOptions;
using test::execOk;
using test::Int;
using test::queryInt;
using test::Real;
using test::tableContents;
using test::TempDir;
using test::testClusterId;
using test::Txt;

namespace fs = std::filesystem;

using test::readFile;
using test::writeFile;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A fresh seed, or PARLEY_SEED's. Callers INFO it, so every failure prints it.
std::uint64_t newSeed() {
  if (const char* env = std::getenv("PARLEY_SEED")) return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

// A refusal a user can read: not ok, and one non-empty line.
void checkOneLine(const Status& s) {
  INFO(s.toString());
  CHECK_FALSE(s.isOk());
  CHECK_FALSE(s.message().empty());
  CHECK_FALSE(contains(s.message(), "\n"));
}

// Everything an import could change: the vector, every table of the database (parley's own
// included), and the log's size as SQLite counts it.
struct DbState {
  VersionVector vector;
  std::int64_t logRows = 0;
  std::vector<std::pair<std::string, std::vector<Row>>> tables;
  friend bool operator==(const DbState&, const DbState&) = default;
};

DbState stateOf(Site& site) {
  DbState s;
  s.vector = site.vector().value();
  s.logRows = queryInt(site, "SELECT count(*) FROM parley_log");
  auto names = execOk(site, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").rows;
  for (const auto& row : names) s.tables.emplace_back(row[0].asText(), tableContents(site, row[0].asText()));
  return s;
}

// Rows as test::describe() shows them, cut short: rows may hold megabytes.
std::string shortly(const std::vector<Row>& rows) {
  std::string all = test::describe(rows);
  return all.size() <= 600 ? all : all.substr(0, 600) + "... (" + std::to_string(all.size()) + " chars)\n";
}

// CHECKs that `after` equals `before`, saying which part differs.
void checkUnchanged(const DbState& before, const DbState& after) {
  CHECK(after.vector == before.vector);
  CHECK(after.logRows == before.logRows);
  REQUIRE(after.tables.size() == before.tables.size());
  for (std::size_t i = 0; i < before.tables.size(); ++i) {
    INFO("table " << before.tables[i].first << " before:\n"
                  << shortly(before.tables[i].second) << "after:\n"
                  << shortly(after.tables[i].second));
    CHECK((after.tables[i] == before.tables[i]));
  }
}

FileInfo inspectOk(const std::string& path) {
  auto r = inspectChanges(path);
  REQUIRE_OK(r);
  return *r;
}

sync::ExportSummary exportOk(Site& from, const std::string& path, const VersionVector& since) {
  auto r = exportChanges(from, path, since);
  REQUIRE_OK(r);
  return *r;
}

ImportSummary importOk(Site& to, const std::string& path) {
  auto r = importChanges(to, path);
  REQUIRE_OK(r);
  return *r;
}

// Exports from `from` what `to` lacks and imports it at `to`, as a user carrying a file would.
ImportSummary carry(Site& from, Site& to, const std::string& path) {
  INFO("carrying " << from.name() << " -> " << to.name() << " in " << path);
  exportOk(from, path, to.vector().value());
  return importOk(to, path);
}

std::vector<std::string> encodedLog(const Site& site) {
  std::vector<std::string> out;
  for (const auto& t : test::allTransactions(site)) out.push_back(encodeTransaction(t));
  return out;
}

// A site owning its clock and id source, on a file or in memory, in any cluster.
struct OwnedSite {
  std::unique_ptr<ManualClock> clock = std::make_unique<ManualClock>();
  std::unique_ptr<test::FixedIdSource> ids;
  std::unique_ptr<Site> site;
  Site& operator*() { return *site; }
};

OwnedSite makeSite(const std::string& path, std::uint8_t idByte, SiteId cluster, const ClusterOptions& o = {}) {
  OwnedSite s;
  s.ids = std::make_unique<test::FixedIdSource>(test::testSiteId(idByte));
  auto created = Site::create(path, CreateOptions{"owned" + std::to_string(idByte), s.ids.get(), cluster},
                              SiteOptions{s.clock.get(), o.resolvers, o.maxClockSkew});
  REQUIRE_OK(created);
  s.site = std::move(created).value();
  execOk(*s.site, o.schema);
  for (const auto& t : o.tracked) REQUIRE_OK(s.site->track(t, o.config));
  return s;
}

// The bytes of a file-backed site's database and its WAL or journal, if any.
std::string diskBytes(const std::string& dbPath) {
  std::string out = readFile(dbPath);
  for (const char* suffix : {"-wal", "-journal"})
    if (fs::exists(dbPath + suffix)) out += "|" + std::string(suffix) + "|" + readFile(dbPath + suffix);
  return out;
}

std::string wideSchema() {
  std::string sql = "CREATE TABLE wide(id INTEGER PRIMARY KEY";
  for (int i = 1; i <= 60; ++i) sql += ", c" + std::to_string(i);
  return sql + ");";
}

ClusterOptions manyTables() {
  ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);"
             "CREATE TABLE kv(k TEXT, n INTEGER, v, PRIMARY KEY (k, n));" +
             wideSchema();
  o.tracked = {"t", "kv", "wide"};
  return o;
}

// 1 MiB of bytes with every value, zeros included.
std::string bigBlob() {
  std::string b(1 << 20, '\0');
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return b;
}

// Inserts, updates and deletes of every storage class at `s`, in several transactions.
void writeEverything(Site& s) {
  execOk(s, "INSERT INTO t VALUES (1, NULL, 42), (2, 1.5, 'text \xc3\xbcnic\xc3\xb8" "de'), (3, X'', X'00FF00')");
  execOk(s, "INSERT INTO t VALUES (4, ?1, ?2), (5, ?3, ?4)",
         {Int(INT64_MIN), Int(INT64_MAX), Real(-2.5e300), Real(1e-300)});
  execOk(s, "INSERT INTO t VALUES (6, ?1, ?2)", {Bytes(bigBlob()), Txt(std::string(100000, 'x'))});
  execOk(s, "INSERT INTO t VALUES (7, ?1, ?2)", {Bytes(""), Txt("")});
  execOk(s, "UPDATE t SET a = 'updated', b = NULL WHERE id = 1");
  execOk(s, "DELETE FROM t WHERE id = 3");
  execOk(s, "BEGIN; INSERT INTO kv VALUES ('a', 1, 'x'), ('a', 2, X'01'), ('b', 1, 0.25);"
            "UPDATE kv SET v = v || 'y' WHERE k = 'a' AND n = 1; COMMIT;");
  execOk(s, "DELETE FROM kv WHERE n = 2");
  std::string insert = "INSERT INTO wide VALUES (1", second = "INSERT INTO wide VALUES (2";
  for (int i = 1; i <= 60; ++i) {
    static const char* kinds[] = {"NULL", "%d", "%d.5", "'c%d'", "X'0%d'"};
    char buf[32];
    std::snprintf(buf, sizeof buf, kinds[i % 5], i % 10);
    insert += std::string(", ") + buf;
    second += ", " + std::to_string(i);
  }
  execOk(s, insert + ")");
  execOk(s, second + ")");
  execOk(s, "UPDATE wide SET c1 = 'one', c30 = 30.25, c60 = X'' WHERE id = 1");
  execOk(s, "DELETE FROM wide WHERE id = 2");
}

}  // namespace

TEST_CASE("a change set carries every kind of value and write to a site that lacks them", "[sync][file]") {
  // Regression: the reader folded the header's CRC into the trailer's checksum and the writer
  // did not, so every exported file was refused ("trailer checksum mismatch").
  TempDir dir;
  Cluster c(test::clusterOptions(2, manyTables()));
  Site& a = c[0];
  Site& b = c[1];
  writeEverything(a);
  VersionVector since = b.vector().value();
  std::uint64_t n = a.vector().value().get(a.id());
  REQUIRE(n >= 10);

  std::string path = dir.file("a-to-b.parley");
  auto exported = exportOk(a, path, since);
  CHECK(exported.info.transactions == n);
  CHECK(exported.bytes == fs::file_size(path));

  FileInfo info = inspectOk(path);
  CHECK(info.cluster == testClusterId());
  CHECK(info.origin == a.id());
  CHECK(info.originName == a.name());
  CHECK(info.fingerprint == a.replication().schemaFingerprint());
  CHECK(info.since == since);
  CHECK(info.upTo == a.vector().value());
  CHECK(info.transactions == n);

  auto imported = importOk(b, path);
  CHECK(imported.applied.applied == n);
  CHECK(imported.applied.duplicates == 0);
  CHECK(imported.info.origin == a.id());
  CHECK(b.vector().value() == a.vector().value());
  for (const char* table : {"t", "kv", "wide"}) {
    INFO("table " << table);
    CHECK(tableContents(b, table) == tableContents(a, table));
  }
  CHECK(encodedLog(b) == encodedLog(a));
  auto big = execOk(b, "SELECT a FROM t WHERE id = 6").rows;
  REQUIRE(big.size() == 1);
  CHECK(big[0][0] == Bytes(bigBlob()));
  CHECK(execOk(b, "SELECT typeof(a), length(a) FROM t WHERE id = 7").rows == std::vector<Row>{{Txt("blob"), Int(0)}});
}

TEST_CASE("a transaction larger than a chunk is split across chunks and rejoined", "[sync][file]") {
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, ?1, ?2)", {Bytes(bigBlob()), Bytes(bigBlob() + "tail")});
  std::string path = dir.file("big.parley");
  exportOk(c[0], path, c[1].vector().value());

  // The file holds more than one chunk frame.
  std::string file = readFile(path);
  std::size_t at = 12 + 4 + test::loadU32(file, 12) + 4, chunks = 0;
  while (test::loadU32(file, at) != 0) at += 4 + test::loadU32(file, at) + 4, ++chunks;
  CHECK(chunks >= 2);

  CHECK(importOk(c[1], path).applied.applied == 1);
  CHECK(tableContents(c[1], "t") == tableContents(c[0], "t"));
}

TEST_CASE("exporting what the peer already holds writes a valid file of no transactions", "[sync][file]") {
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 'y')");
  c.syncPair(0, 1);

  std::string path = dir.file("nothing.parley");
  auto exported = exportOk(c[0], path, c[1].vector().value());
  CHECK(exported.info.transactions == 0);
  FileInfo info = inspectOk(path);
  CHECK(info.transactions == 0);
  CHECK(info.upTo == c[0].vector().value());

  DbState before = stateOf(c[1]);
  auto imported = importOk(c[1], path);
  CHECK(imported.applied.applied == 0);
  CHECK(imported.applied.duplicates == 0);
  checkUnchanged(before, stateOf(c[1]));

  SECTION("and so does a site that never wrote") {
    Cluster fresh(test::clusterOptions(2));
    std::string empty = dir.file("fresh.parley");
    exportOk(fresh[0], empty, {});
    CHECK(inspectOk(empty).transactions == 0);
    CHECK(importOk(fresh[1], empty).applied.applied == 0);
  }
}

namespace {

// Concurrent writes at sites 0 and 1 of `c` (insert/insert, update/update, update/delete),
// identical in every cluster made with the same options since clocks are manual.
void writeConcurrently(Cluster& c) {
  execOk(c[0], "INSERT INTO t VALUES (1, 'a0', 10), (2, 'a0', 20)");
  c.clock(1).advance(5);
  execOk(c[1], "INSERT INTO t VALUES (1, 'b1', 11), (3, 'b1', 30)");
  c.clock(0).advance(10);
  execOk(c[0], "UPDATE t SET b = 12 WHERE id = 1");
  execOk(c[1], "UPDATE t SET a = 'b2', b = 13 WHERE id = 1");
  execOk(c[1], "DELETE FROM t WHERE id = 3");
  c.clock(2).advance(30);
  execOk(c[2], "INSERT INTO t VALUES (4, 'c', 40)");
}

}  // namespace

TEST_CASE("a transaction holding a long run of zero bytes is exported and imported", "[sync][file]") {
  // Regression: decodeTransaction bounded its work by 8 words per packed byte, but a run of
  // zero words packs 256 words to two bytes: a zeroblob of 100 kB (12548 words from about 200
  // bytes) was refused by the site's own changesSince(), so it could never ship it.
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, zeroblob(100000), 'zeros')");
  auto held = c[0].replication().changesSince({});
  REQUIRE_OK(held);
  std::string path = dir.file("zeros.parley");
  exportOk(c[0], path, {});
  CHECK(importOk(c[1], path).applied.applied == 1);
  CHECK(tableContents(c[1], "t") == tableContents(c[0], "t"));
}

TEST_CASE("change sets carried by hand go both ways, are forwarded along a chain and resolve as in-process sync",
          "[sync][file]") {
  TempDir dir;
  Cluster viaFiles(test::clusterOptions(3)), inProcess(test::clusterOptions(3));
  writeConcurrently(viaFiles);
  writeConcurrently(inProcess);

  // A -> B, B -> A, then B -> C carries A's transactions on to C, and C -> B brings C's back.
  auto atB = carry(viaFiles[0], viaFiles[1], dir.file("ab"));
  auto atA = carry(viaFiles[1], viaFiles[0], dir.file("ba"));
  auto atC = carry(viaFiles[1], viaFiles[2], dir.file("bc"));
  CHECK(atB.applied.applied == 2);
  CHECK(atA.applied.applied == 3);
  CHECK(atC.applied.applied == 5);
  CHECK(atB.applied.conflicts > 0);
  CHECK(viaFiles[2].vector().value().get(viaFiles[0].id()) == 2);

  inProcess.deliver(0, 1);
  inProcess.deliver(1, 0);
  inProcess.deliver(1, 2);

  for (std::size_t i = 0; i < 3; ++i) {
    INFO("site " << i);
    CHECK(viaFiles[i].vector().value() == inProcess[i].vector().value());
    CHECK(tableContents(viaFiles[i], "t") == tableContents(inProcess[i], "t"));
    auto fileConflicts = viaFiles[i].conflicts();
    auto syncConflicts = inProcess[i].conflicts();
    REQUIRE_OK(fileConflicts);
    REQUIRE_OK(syncConflicts);
    CHECK(fileConflicts->size() == syncConflicts->size());
  }
  CHECK(tableContents(viaFiles[0], "t") == tableContents(viaFiles[1], "t"));

  carry(viaFiles[2], viaFiles[1], dir.file("cb"));
  carry(viaFiles[1], viaFiles[0], dir.file("ba2"));
  CHECK(viaFiles[0].vector().value() == viaFiles[2].vector().value());
  CHECK(tableContents(viaFiles[0], "t") == tableContents(viaFiles[2], "t"));
}

TEST_CASE("importing the same change set twice is a no-op the second time", "[sync][file]") {
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)");
  execOk(c[0], "UPDATE t SET a = 'z' WHERE id = 1");
  execOk(c[0], "DELETE FROM t WHERE id = 2");
  std::string path = dir.file("twice.parley");
  exportOk(c[0], path, c[1].vector().value());

  CHECK(importOk(c[1], path).applied.applied == 3);
  DbState once = stateOf(c[1]);
  auto again = importOk(c[1], path);
  CHECK(again.applied.applied == 0);
  CHECK(again.applied.duplicates == 3);
  checkUnchanged(once, stateOf(c[1]));

  SECTION("and importing a site's own export is a no-op too") {
    DbState own = stateOf(c[0]);
    auto back = importOk(c[0], path);
    CHECK(back.applied.applied == 0);
    checkUnchanged(own, stateOf(c[0]));
  }
}

TEST_CASE("a change set from another cluster is refused, says so and changes nothing", "[sync][file]") {
  TempDir dir;
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "INSERT INTO t VALUES (1, 'mine', 1)");
  SiteId otherCluster = test::testSiteId(0xdd);
  OwnedSite foreign = makeSite(":memory:", 9, otherCluster);
  execOk(*foreign, "INSERT INTO t VALUES (1, 'foreign', 2)");
  std::string path = dir.file("foreign.parley");
  exportOk(*foreign, path, {});

  DbState before = stateOf(c[0]);
  auto r = importChanges(c[0], path);
  checkOneLine(r.status());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(contains(r.status().message(), "cluster"));
  checkUnchanged(before, stateOf(c[0]));
}

TEST_CASE("a change set from a site with another schema or resolver configuration is refused", "[sync][file]") {
  TempDir dir;
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "INSERT INTO t VALUES (1, 'mine', 1)");
  ClusterOptions other;
  SECTION("another column") { other.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, extra);"; }
  SECTION("another table") {
    other.schema += "CREATE TABLE more(id INTEGER PRIMARY KEY, v);";
    other.tracked = {"t", "more"};
  }
  SECTION("another resolver") {
    other.config = TableConfig{};
    other.config->columns = "fww";
  }
  other.idBytes = {9};
  Cluster them(test::clusterOptions(1, other));
  execOk(them[0], "INSERT INTO t(id, a, b) VALUES (2, 'theirs', 2)");
  std::string path = dir.file("other-schema.parley");
  exportOk(them[0], path, {});
  REQUIRE(them[0].replication().schemaFingerprint() != c[0].replication().schemaFingerprint());

  DbState before = stateOf(c[0]);
  auto r = importChanges(c[0], path);
  checkOneLine(r.status());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(contains(r.status().message(), "schema"));
  checkUnchanged(before, stateOf(c[0]));
}

TEST_CASE("a change set whose transactions need ones the importer lacks is refused as not ready", "[sync][file]") {
  TempDir dir;
  Cluster c(test::clusterOptions(3));
  Site& a = c[0];
  Site& b = c[1];
  Site& later = c[2];
  execOk(a, "INSERT INTO t VALUES (1, 'one', 1)");
  execOk(a, "INSERT INTO t VALUES (2, 'two', 2)");
  VersionVector ahead = a.vector().value();
  execOk(a, "UPDATE t SET a = 'three' WHERE id = 1");
  std::string first = dir.file("first.parley"), gap = dir.file("gap.parley");
  exportOk(a, first, {});
  exportOk(a, gap, ahead);

  DbState before = stateOf(b);
  auto r = importChanges(b, gap);
  checkOneLine(r.status());
  CHECK(r.status().code() == Status::Code::kNotReady);
  CHECK(contains(r.status().message(), Dot{a.id(), 3}.toString()));
  checkUnchanged(before, stateOf(b));

  SECTION("a dependency through the causal context, not the origin, is named too") {
    importOk(b, first);
    execOk(b, "UPDATE t SET b = 20 WHERE id = 2");  // context: a:3
    std::string fromB = dir.file("from-b.parley");
    exportOk(b, fromB, a.vector().value());  // only b's own transaction
    DbState laterBefore = stateOf(later);
    auto refused = importChanges(later, fromB);
    checkOneLine(refused.status());
    CHECK(refused.status().code() == Status::Code::kNotReady);
    CHECK(contains(refused.status().message(), Dot{b.id(), 1}.toString()));
    checkUnchanged(laterBefore, stateOf(later));

    // Importing the earlier change set first, as the message advises, makes it importable.
    importOk(later, first);
    CHECK(importOk(later, fromB).applied.applied == 1);
    CHECK(tableContents(later, "t") == tableContents(b, "t"));
  }
}

namespace {

// A few transactions of every storage class: the file truncated and corrupted below.
std::string smallChangeSet(Cluster& c, const TempDir& dir) {
  execOk(c[0], "INSERT INTO t VALUES (1, 'one', X'0102'), (2, 2.5, NULL)");
  execOk(c[0], "UPDATE t SET a = 'uno' WHERE id = 1");
  execOk(c[0], "DELETE FROM t WHERE id = 2");
  execOk(c[0], "INSERT INTO t VALUES (3, X'', -7)");
  std::string path = dir.file("small.parley");
  exportOk(c[0], path, {});
  return readFile(path);
}

}  // namespace

TEST_CASE("a change set truncated at any byte is refused in one line and leaves the database byte-identical",
          "[sync][file][corruption]") {
  TempDir dir;
  Cluster c(test::clusterOptions(1));
  std::string file = smallChangeSet(c, dir);
  REQUIRE(inspectOk(dir.file("small.parley")).transactions == 4);

  // The importer is file-backed, so its bytes on disk can be compared too.
  OwnedSite b = makeSite(dir.file("b.db"), 2, testClusterId());
  execOk(*b, "INSERT INTO t VALUES (100, 'own', 1)");
  const DbState before = stateOf(*b);
  const std::string diskBefore = diskBytes(dir.file("b.db"));

  std::string cut = dir.file("cut.parley");
  std::size_t refused = 0;
  for (std::size_t n = 0; n < file.size(); ++n) {
    INFO("truncated to " << n << " of " << file.size() << " bytes");
    writeFile(cut, std::string_view(file).substr(0, n));
    auto inspected = inspectChanges(cut);
    CHECK_FALSE(inspected.ok());
    auto r = importChanges(*b, cut);
    if (r.ok()) {
      FAIL_CHECK("import accepted a truncated file");
      continue;
    }
    ++refused;
    checkOneLine(r.status());
    CHECK(r.status().code() == Status::Code::kCorruption);
    CHECK(contains(r.status().message(), cut));
    DbState after = stateOf(*b);
    if (!(after == before)) checkUnchanged(before, after);
    CHECK(diskBytes(dir.file("b.db")) == diskBefore);
  }
  CHECK(refused == file.size());

  // The whole file imports: the refusals were about the cut, not the file.
  writeFile(cut, file);
  CHECK(importOk(*b, cut).applied.applied == 4);
  CHECK(tableContents(*b, "t").size() == tableContents(c[0], "t").size() + 1);
}

TEST_CASE("a change set with any one byte flipped is refused and changes nothing", "[sync][file][corruption]") {
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  std::string file = smallChangeSet(c, dir);
  Site& b = c[1];
  const DbState before = stateOf(b);

  const std::uint64_t seed = newSeed();
  INFO("seed " << seed << " (replay with PARLEY_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  std::string flipped = dir.file("flipped.parley");
  for (int i = 0; i < 2000; ++i) {
    std::string copy = file;
    std::size_t at = rng() % copy.size();
    auto mask = static_cast<unsigned char>(1 + rng() % 255);
    copy[at] = static_cast<char>(copy[at] ^ mask);
    INFO("flip " << i << ": byte " << at << " of " << file.size() << " xor " << int(mask));
    writeFile(flipped, copy);
    CHECK_FALSE(inspectChanges(flipped).ok());
    auto r = importChanges(b, flipped);
    if (r.ok()) {
      FAIL_CHECK("import accepted a corrupted file");
      continue;
    }
    checkOneLine(r.status());
    DbState after = stateOf(b);
    if (!(after == before)) checkUnchanged(before, after);
  }
  checkUnchanged(before, stateOf(b));
}

TEST_CASE("files that are not change sets of this format are refused", "[sync][file][corruption]") {
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  std::string file = smallChangeSet(c, dir);
  const DbState before = stateOf(c[1]);
  std::string path = dir.file("bad.parley");

  auto refuse = [&](const std::string& bytes, Status::Code code, const std::string& says) {
    writeFile(path, bytes);
    CHECK_FALSE(inspectChanges(path).ok());
    auto r = importChanges(c[1], path);
    checkOneLine(r.status());
    CHECK(r.status().code() == code);
    INFO(r.status().toString());
    CHECK(contains(r.status().message(), says));
    checkUnchanged(before, stateOf(c[1]));
  };

  SECTION("wrong magic") { refuse("PARLEYCX" + file.substr(8), Status::Code::kCorruption, "magic"); }
  SECTION("a SQLite database") {
    REQUIRE_OK(c[0].backup(dir.file("backup.db")));
    refuse(readFile(dir.file("backup.db")), Status::Code::kCorruption, "magic");
  }
  SECTION("a later format version") {
    std::string v2 = file;
    test::storeU32(v2, 8, sync::kFileFormatVersion + 1);
    refuse(v2, Status::Code::kCorruption, "format " + std::to_string(sync::kFileFormatVersion + 1));
  }
  SECTION("the previous format, whose transactions were packed Cap'n Proto") {
    std::string v1 = file;
    test::storeU32(v1, 8, 1);
    refuse(v1, Status::Code::kCorruption, "change-set format 1 is not supported (this parley reads 3)");
  }
  SECTION("format version 0") {
    std::string v0 = file;
    test::storeU32(v0, 8, 0);
    refuse(v0, Status::Code::kCorruption, "format 0");
  }
  SECTION("one byte after the trailer") { refuse(file + "x", Status::Code::kCorruption, "after the trailer"); }
  SECTION("a second trailer after the trailer") {
    refuse(file + file.substr(file.size() - 16), Status::Code::kCorruption, "after the trailer");
  }
  SECTION("the file twice") { refuse(file + file, Status::Code::kCorruption, "after the trailer"); }
  SECTION("an empty file") { refuse("", Status::Code::kCorruption, "truncated"); }
  SECTION("a header length beyond the limit") {
    std::string huge = file;
    test::storeU32(huge, 12, 0xFFFFFFF8u);
    refuse(huge, Status::Code::kCorruption, "header length");
  }
  SECTION("a chunk length not a multiple of a word") {
    std::string odd = file;
    std::size_t chunk = 12 + 4 + test::loadU32(file, 12) + 4;
    test::storeU32(odd, chunk, test::loadU32(file, chunk) + 1);
    refuse(odd, Status::Code::kCorruption, "chunk length");
  }
  SECTION("a trailer count that disagrees, checksums intact") {
    std::string wrong = file;
    std::uint64_t count = 5;
    std::memcpy(wrong.data() + wrong.size() - 12, &count, 8);
    refuse(wrong, Status::Code::kCorruption, "trailer says 5");
  }
  SECTION("a chunk dropped, checksums rewritten to match") {
    std::size_t chunk = 12 + 4 + test::loadU32(file, 12) + 4;
    std::string dropped = file.substr(0, chunk) + file.substr(chunk + 4 + test::loadU32(file, chunk) + 4);
    REQUIRE(test::refreshChecksums(dropped));
    refuse(dropped, Status::Code::kCorruption, "trailer says 4");
  }
  SECTION("a missing file") {
    auto r = importChanges(c[1], dir.file("no-such-file"));
    checkOneLine(r.status());
    CHECK(r.status().code() == Status::Code::kNotFound);
    CHECK_FALSE(inspectChanges(dir.file("no-such-file")).ok());
  }
  SECTION("a directory") {
    auto r = importChanges(c[1], dir.path().string());
    checkOneLine(r.status());
    checkUnchanged(before, stateOf(c[1]));
  }
}

TEST_CASE("a refusal quoting text from the file is still one printable line", "[sync][file][corruption]") {
  // Regression (found by fuzz_changeset): Cap'n Proto's description of a malformed text
  // quotes the offending byte, and the refusal passed it on, newline and all.
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1)");
  std::string path = dir.file("text.parley");
  exportOk(c[0], path, {});
  std::string file = readFile(path);
  std::size_t headerEnd = 16 + test::loadU32(file, 12);
  std::size_t name = file.find(c[0].name() + '\0');
  REQUIRE(name < headerEnd);
  file[name + c[0].name().size()] = '\n';  // the origin name's terminating NUL
  REQUIRE(test::refreshChecksums(file));
  writeFile(path, file);

  const DbState before = stateOf(c[1]);
  auto r = importChanges(c[1], path);
  checkOneLine(r.status());
  CHECK(r.status().code() == Status::Code::kCorruption);
  checkOneLine(inspectChanges(path).status());
  checkUnchanged(before, stateOf(c[1]));

  SECTION("and so is one naming a site whose name has a newline") {
    ClusterOptions other;
    other.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, extra);";
    other.idBytes = {9};
    Cluster them(test::clusterOptions(1, other));
    test::FixedIdSource ids(test::testSiteId(10));
    ManualClock clock;
    auto evil = Site::create(":memory:", CreateOptions{"evil\nname\x1b[31m", &ids, testClusterId()},
                             SiteOptions{&clock, resolvers::lwwEverywhere()});
    REQUIRE_OK(evil);
    execOk(**evil, other.schema);
    REQUIRE_OK((*evil)->track("t"));
    std::string evilPath = dir.file("evil.parley");
    exportOk(**evil, evilPath, {});
    auto refused = importChanges(c[1], evilPath);
    checkOneLine(refused.status());
    CHECK_FALSE(contains(refused.status().message(), "\x1b"));
  }
}

TEST_CASE("export refuses a path that exists and leaves it alone", "[sync][file]") {
  TempDir dir;
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1)");
  std::string path = dir.file("taken.parley");
  writeFile(path, "keep me");

  auto r = exportChanges(c[0], path, {});
  checkOneLine(r.status());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(contains(r.status().message(), "exists"));
  CHECK(readFile(path) == "keep me");

  SECTION("a directory that does not exist is an I/O error and creates nothing") {
    std::string missing = dir.file("no-dir/out.parley");
    auto e = exportChanges(c[0], missing, {});
    checkOneLine(e.status());
    CHECK(e.status().code() == Status::Code::kIOError);
    CHECK_FALSE(fs::exists(missing));
  }
  SECTION("a leftover partial file of an interrupted export blocks it with a clear error, and nothing is written") {
    std::string fresh = dir.file("fresh.parley");
    writeFile(fresh + ".part", "half");
    auto e = exportChanges(c[0], fresh, {});
    checkOneLine(e.status());
    CHECK(contains(e.status().message(), ".part"));
    CHECK_FALSE(fs::exists(fresh));
    CHECK(readFile(fresh + ".part") == "half");
  }
  SECTION("a successful export leaves no partial file behind") {
    std::string fresh = dir.file("fresh.parley");
    exportOk(c[0], fresh, {});
    CHECK_FALSE(fs::exists(fresh + ".part"));
  }
}

TEST_CASE("a forged change set whose last transaction does not fit is refused and changes nothing",
          "[sync][file][corruption]") {
  // Checksums only catch accidents. A file whose checksums were made to match, of this cluster
  // and fingerprint, whose last transaction changes a table the importer does not track.
  TempDir dir;
  ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE zzq(id INTEGER PRIMARY KEY, v);";
  o.tracked = {"t", "zzq"};
  Cluster c(test::clusterOptions(2, o));
  std::string blob(600 * 1024, '\x5a');

  SECTION("in a file of one chunk") {
    execOk(c[0], "INSERT INTO t VALUES (1, 'small', 1)");
  }
  SECTION("after transactions in earlier chunks") {
    // Two 600 KiB transactions: the first completes in the first chunk, whose transactions
    // the importer applies before it reads the second.
    execOk(c[0], "INSERT INTO t VALUES (1, ?1, 1)", {Bytes(blob)});
    execOk(c[0], "INSERT INTO t VALUES (2, ?1, 2)", {Bytes(blob)});
  }
  execOk(c[0], "INSERT INTO zzq VALUES (1, 'forged')");
  std::string path = dir.file("forged.parley");
  exportOk(c[0], path, {});

  std::string file = readFile(path);
  // The header names the table too (its digest); the transaction's name comes last.
  std::size_t name = file.rfind("zzq");
  REQUIRE(name != std::string::npos);
  REQUIRE(file.find("zzq") < name);
  file[name + 2] = 'r';  // "zzr": same length, same packing
  REQUIRE(test::refreshChecksums(file));
  writeFile(path, file);
  REQUIRE(inspectOk(path).transactions >= 2);

  const DbState before = stateOf(c[1]);
  auto r = importChanges(c[1], path);
  checkOneLine(r.status());
  CHECK(contains(r.status().message(), "zzr"));
  checkUnchanged(before, stateOf(c[1]));
}

namespace {

// Where each chunk frame of `file` starts (its length field), in file order.
std::vector<std::size_t> chunkOffsets(const std::string& file) {
  std::vector<std::size_t> out;
  std::size_t at = 12 + 4 + test::loadU32(file, 12) + 4;
  while (test::loadU32(file, at) != 0) {
    out.push_back(at);
    at += 4 + test::loadU32(file, at) + 4;
  }
  return out;
}

}  // namespace

TEST_CASE("a change set with two chunks swapped or a chunk repeated is refused", "[sync][file][corruption]") {
  // Regression: the trailer checksum was an XOR of the chunks' CRCs, blind to their order and
  // to a chunk repeated an odd number of times. A blob spread over five chunks, its middle
  // chunks holding no transaction's end, was imported with its bytes scrambled.
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  // Words of seven non-zero bytes and a zero pack to eight bytes each, so every chunk boundary
  // falls at the same place in a word and reordered middle chunks still decode.
  std::string blob(4 * 1024 * 1024 + 4096, '\0');
  for (std::size_t i = 0; i < blob.size(); ++i)
    if (i % 8 != 7) blob[i] = static_cast<char>(1 + (i / (1 << 20)) * 16 + i % 8);
  execOk(c[0], "INSERT INTO t VALUES (1, ?1, 'big')", {Bytes(blob)});
  std::string path = dir.file("five-chunks.parley");
  exportOk(c[0], path, {});
  std::string file = readFile(path);
  auto chunks = chunkOffsets(file);
  REQUIRE(chunks.size() >= 4);
  auto frameOf = [&](std::size_t i) { return file.substr(chunks[i], 4 + test::loadU32(file, chunks[i]) + 4); };

  std::string damaged;
  SECTION("the second and third chunks swapped") {
    damaged = file.substr(0, chunks[1]) + frameOf(2) + frameOf(1) + file.substr(chunks[3]);
  }
  SECTION("the second chunk three times") {
    damaged = file.substr(0, chunks[2]) + frameOf(1) + frameOf(1) + file.substr(chunks[2]);
  }
  REQUIRE(damaged.size() >= file.size());
  std::string bad = dir.file("damaged.parley");
  writeFile(bad, damaged);

  const DbState before = stateOf(c[1]);
  auto r = importChanges(c[1], bad);
  INFO("import -> " << r.status().toString());
  if (r.ok()) {
    auto got = execOk(c[1], "SELECT a = ?1 FROM t WHERE id = 1", {Bytes(blob)}).rows;
    INFO("imported; the blob arrived " << (got.size() == 1 && got[0][0] == Int(1) ? "intact" : "scrambled"));
    CHECK_FALSE(r.ok());
  }
  checkUnchanged(before, stateOf(c[1]));
  CHECK_FALSE(inspectChanges(bad).ok());
}

namespace {

enum class Decoded { kOk, kCorruption };

// decodeTransaction(bytes) either decodes, to a transaction no larger than the message and
// that re-encodes to a fixed point, or returns kCorruption with one line; anything else (a
// throw above all) fails the test.
Decoded decodeChecked(std::string_view bytes) {
  Transaction t;
  try {
    auto decoded = decodeTransaction(bytes);
    if (!decoded) {
      const Status& st = decoded.status();
      if (st.code() != Status::Code::kCorruption) FAIL_CHECK("decode returned " << st.toString());
      if (contains(st.message(), "\n")) FAIL_CHECK("decode error of several lines: " << st.message());
      return Decoded::kCorruption;
    }
    t = std::move(decoded).value();
  } catch (const std::exception& e) {
    FAIL_CHECK("decode threw: " << e.what());
    return Decoded::kCorruption;
  } catch (...) {
    FAIL_CHECK("decode threw something other than an exception");
    return Decoded::kCorruption;
  }
  // Lists of zero-sized structs cost nothing to send: a few bytes must not decode to millions
  // of values (fuzz/decode_bounds.hpp).
  if (!test::withinBounds(t, bytes)) {
    FAIL_CHECK(bytes.size() << " bytes decoded to " << test::decodedElements(t) << " elements");
    return Decoded::kOk;
  }
  std::string again = encodeTransaction(t), third;
  auto back = decodeTransaction(again);
  if (!back) {
    FAIL_CHECK("a decoded transaction's encoding does not decode: " << back.status().toString());
    return Decoded::kOk;
  }
  third = encodeTransaction(*back);
  CHECK(third == again);
  return Decoded::kOk;
}

std::vector<std::string> sampleEncodings() {
  Cluster c(test::clusterOptions(2, manyTables()));
  writeEverything(c[1]);
  execOk(c[0], "INSERT INTO t VALUES (1, 'zero', 0)");
  c.syncPair(0, 1);
  execOk(c[0], "UPDATE t SET a = 'after sync' WHERE id = 1");
  std::vector<std::string> out;
  for (const auto& t : test::allTransactions(c[0]))
    if (encodeTransaction(t).size() < 4096) out.push_back(encodeTransaction(t));
  return out;
}

}  // namespace

namespace {

// Cap'n Proto pointers (capnp encoding spec): struct, list and composite-list tag words.
std::uint64_t structPtr(std::int32_t offset, std::uint16_t data, std::uint16_t ptrs) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(offset)) << 2) |
         (static_cast<std::uint64_t>(data) << 32) | (static_cast<std::uint64_t>(ptrs) << 48);
}
std::uint64_t listPtr(std::int32_t offset, unsigned elementSize, std::uint32_t count) {
  return 1 | (static_cast<std::uint64_t>(static_cast<std::uint32_t>(offset)) << 2) |
         (static_cast<std::uint64_t>(elementSize) << 32) | (static_cast<std::uint64_t>(count) << 35);
}

void putVarint(std::string& out, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7f) | 0x80);
  out += static_cast<char>(v);
}

// A transaction of one insert into `table`, written by hand in the compact layout
// (parley/txn_codec.hpp), whose key claims `claimed` values of which `present` NULLs follow.
std::string handBuiltInsert(std::uint64_t claimed, std::uint64_t present, const std::string& table = "t") {
  std::string out(1, static_cast<char>(kTransactionFormat));
  putVarint(out, 1);               // seq
  out.append(8, '\0');             // hlc
  out.append(32, '\0');            // hash chain: no previous transaction, no hash of its own
  putVarint(out, 1);               // one site, the origin
  out.append(16, '\1');
  putVarint(out, 0);               // empty context
  putVarint(out, 1);               // one table
  putVarint(out, table.size());
  out += table;
  putVarint(out, 1);               // one row
  putVarint(out, 0 << 2 | 0);      // table 0, insert
  putVarint(out, claimed);         // key values
  out.append(present, '\0');       // NULL tags
  putVarint(out, 0);               // no column writes
  putVarint(out, 0 + 1);           // row base: no dots (count + 1)
  return out;
}

}  // namespace

TEST_CASE("a transaction of a few bytes claiming millions of key values is refused, not decoded",
          "[sync][file][decode]") {
  // Every count is checked against the bytes left before anything is reserved or built.
  CHECK(decodeChecked(handBuiltInsert(3, 3)) == Decoded::kOk);  // the layout is right
  std::string hostile = handBuiltInsert(4'000'000, 3);
  INFO(hostile.size() << " bytes");
  CHECK(decodeChecked(hostile) == Decoded::kCorruption);
  CHECK(contains(decodeTransaction(hostile).status().message(), "count 4000000 beyond the"));
  // A base written as "the one before" (0) copies a single dot for its byte, never a list.
  std::string repeat = handBuiltInsert(1, 1);
  repeat.back() = '\0';
  CHECK(decodeChecked(repeat) == Decoded::kCorruption);
}

TEST_CASE("decodeTransaction's refusal of a malformed text is one line", "[sync][file][decode]") {
  // A table name holding a newline, cut short inside it: the refusal names the problem and
  // the byte, never quotes the input.
  std::string bytes = handBuiltInsert(1, 1, "t\nu");
  std::string cut = bytes.substr(0, bytes.find('\n') + 1);
  for (const std::string& input : {cut, std::string("\x01") + bytes.substr(1)}) {
    auto decoded = decodeTransaction(input);
    REQUIRE_FALSE(decoded.ok());
    checkOneLine(decoded.status());
    CHECK(decoded.status().code() == Status::Code::kCorruption);
  }
}

TEST_CASE("a transaction body of the old format is refused, saying which format it is", "[sync][file][decode]") {
  // Format 1 was a packed Cap'n Proto message; its first byte, a packing tag, is never 2.
  std::string old = handBuiltInsert(1, 1);
  old[0] = '\x01';
  auto decoded = decodeTransaction(old);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.status().code() == Status::Code::kCorruption);
  CHECK(contains(decoded.status().message(), "format 1 is not supported (this parley reads 2 to 4)"));
}

TEST_CASE("decodeTransaction on damaged or random bytes decodes or reports corruption, never anything else",
          "[sync][file][decode]") {
  auto samples = sampleEncodings();
  REQUIRE(samples.size() >= 8);
  const std::uint64_t seed = newSeed();
  INFO("seed " << seed << " (replay with PARLEY_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);

  SECTION("valid encodings decode and re-encode to themselves") {
    for (const auto& s : samples) {
      CHECK(decodeChecked(s) == Decoded::kOk);
      CHECK(encodeTransaction(decodeTransaction(s).value()) == s);
    }
  }
  SECTION("every truncation of every valid encoding") {
    std::size_t corrupt = 0, total = 0;
    for (const auto& s : samples)
      for (std::size_t n = 0; n < s.size(); ++n, ++total)
        if (decodeChecked(std::string_view(s).substr(0, n)) == Decoded::kCorruption) ++corrupt;
    CHECK(corrupt > total / 2);
  }
  SECTION("byte flips of valid encodings") {
    for (int i = 0; i < 10000; ++i) {
      std::string s = samples[rng() % samples.size()];
      for (int k = 0, flips = 1 + static_cast<int>(rng() % 3); k < flips; ++k)
        s[rng() % s.size()] ^= static_cast<char>(1 + rng() % 255);
      decodeChecked(s);
    }
  }
  SECTION("random bytes") {
    for (int i = 0; i < 10000; ++i) {
      std::string s(rng() % 300, '\0');
      for (auto& ch : s) ch = static_cast<char>(rng() % 4 ? rng() % (rng() % 2 ? 256 : 4) : 0);  // small counts
      if (!s.empty() && rng() % 4) s[0] = static_cast<char>(kTransactionFormat);  // past the format byte
      decodeChecked(s);
    }
  }
}

namespace {

// A flat Chunk message (sync/sync.capnp) holding each body as one whole piece.
std::string chunkMessage(const std::vector<std::string>& bodies) {
  auto k = static_cast<std::uint32_t>(bodies.size());
  std::vector<std::uint64_t> seg = {structPtr(0, 0, 1), listPtr(0, 7, 2 * k), structPtr(static_cast<std::int32_t>(k), 1, 1)};
  std::size_t next = 3 + 2 * std::size_t{k};  // where the next body goes
  for (std::uint32_t i = 0; i < k; ++i) {
    std::size_t pointerAt = 3 + 2 * i + 1;
    seg.push_back(1);  // last
    seg.push_back(listPtr(static_cast<std::int32_t>(next - pointerAt - 1), 2, static_cast<std::uint32_t>(bodies[i].size())));
    next += (bodies[i].size() + 7) / 8;
  }
  for (const auto& body : bodies) {
    std::string padded = body + std::string((8 - body.size() % 8) % 8, '\0');
    for (std::size_t at = 0; at < padded.size(); at += 8) {
      std::uint64_t w;
      std::memcpy(&w, padded.data() + at, 8);
      seg.push_back(w);
    }
  }
  std::string out(8 * (seg.size() + 1), '\0');
  std::uint64_t table = static_cast<std::uint64_t>(seg.size()) << 32;
  std::memcpy(out.data(), &table, 8);
  std::memcpy(out.data() + 8, seg.data(), 8 * seg.size());
  return out;
}

// A change-set file: `head`'s magic, version and header, then one chunk per element of
// `chunks`, then the trailer; checksums made to match.
std::string changeSetFile(const std::string& head, const std::vector<std::vector<std::string>>& chunks) {
  std::string file = head.substr(0, 16 + test::loadU32(head, 12) + 4);
  std::uint64_t count = 0;
  for (const auto& bodies : chunks) {
    std::string message = chunkMessage(bodies);
    std::string frame(4, '\0');
    test::storeU32(frame, 0, static_cast<std::uint32_t>(message.size()));
    file += frame + message + std::string(4, '\0');
    count += bodies.size();
  }
  file += std::string(4, '\0');
  file.append(reinterpret_cast<const char*>(&count), 8);
  file += std::string(4, '\0');
  REQUIRE(test::refreshChecksums(file));
  return file;
}

}  // namespace

TEST_CASE("an import whose later chunk fails to apply leaves the database as it was", "[sync][file][corruption]") {
  // verify() checks cluster, schema, decoding, fit and causal order before applying, but
  // apply() can still refuse a transaction (here SQLite: a text key for an INTEGER PRIMARY
  // KEY). Chunks are applied one apply() at a time, so what earlier chunks held stayed.
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  Transaction first = test::captureOne(c[0], "INSERT INTO t VALUES (1, 'fine', 1)");
  Transaction forged = first;
  forged.dot.seq = 2;
  forged.hlc.value = first.hlc.value + 1;
  forged.context = c[0].vector().value();
  forged.rows[0].pk = {Txt("not an integer")};
  REQUIRE(c[1].replication().checkFits(forged).isOk());
  std::string head = dir.file("head.parley");
  exportOk(c[0], head, {});
  std::string path = dir.file("forged.parley");

  std::vector<std::vector<std::string>> chunks;
  SECTION("both in one chunk") { chunks = {{encodeTransaction(first), encodeTransaction(forged)}}; }
  SECTION("each in its own chunk") { chunks = {{encodeTransaction(first)}, {encodeTransaction(forged)}}; }
  writeFile(path, changeSetFile(readFile(head), chunks));
  auto inspected = inspectChanges(path);
  REQUIRE_OK(inspected);
  CHECK(inspected->transactions == 2);

  const DbState before = stateOf(c[1]);
  auto r = importChanges(c[1], path);
  INFO("import -> " << r.status().toString());
  CHECK_FALSE(r.ok());
  checkOneLine(r.status());
  checkUnchanged(before, stateOf(c[1]));
}

namespace {

// Where to write the corpus: PARLEY_CORPUS_DIR (normally tests/fuzz/corpus), or nowhere, so
// a run that happens to include hidden tests does not rewrite committed files.
std::optional<fs::path> corpusDir() {
  if (const char* env = std::getenv("PARLEY_CORPUS_DIR")) return fs::path(env);
  return std::nullopt;
}

// A cluster set up as tests/fuzz/fuzz_schema.hpp says, so its files get past the fuzz
// targets' cluster and fingerprint checks.
Cluster fuzzCluster(std::size_t n) {
  ClusterOptions o;
  o.schema = fuzz::kSchema;
  o.tracked = {};
  Cluster c(test::clusterOptions(n, o));
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& [table, config] : fuzz::kTables) {
      if (config.empty()) {
        REQUIRE_OK(c[i].track(table));
      } else {
        auto parsed = TableConfig::parse(config);
        REQUIRE_OK(parsed);
        REQUIRE_OK(c[i].track(table, *parsed));
      }
    }
  return c;
}

}  // namespace

TEST_CASE("the fuzzers' seed corpus is written from real change sets", "[.][corpus]") {
  // PARLEY_CORPUS_DIR=tests/fuzz/corpus build/tests/parley_tests "[corpus]"
  if (!corpusDir()) {
    WARN("PARLEY_CORPUS_DIR is not set: no corpus written");
    return;
  }
  fs::path root = *corpusDir();
  fs::create_directories(root / "changeset");
  fs::create_directories(root / "transaction");
  INFO("writing the corpus under " << root);
  REQUIRE(SiteId::fromBytes(std::string(16, char(fuzz::kClusterByte)).data(), 16) == testClusterId());

  Cluster c = fuzzCluster(3);
  auto write = [&](const std::string& name, Site& from, const VersionVector& since) {
    fs::path p = root / "changeset" / name;
    fs::remove(p);
    exportOk(from, p.string(), since);
  };
  write("empty", c[0], {});
  execOk(c[0], "INSERT INTO t VALUES (1, 'one', 1)");
  write("one-insert", c[0], {});
  execOk(c[0], "INSERT INTO t VALUES (2, 2.5, X'00ff'), (3, NULL, '')");
  execOk(c[0], "UPDATE t SET a = 'uno', b = NULL WHERE id = 1");
  execOk(c[0], "DELETE FROM t WHERE id = 3");
  execOk(c[0], "BEGIN; INSERT INTO u VALUES ('k', 1, 10, 'n'), ('k', 2, 5, X''); UPDATE u SET qty = qty + 1; COMMIT;");
  write("mixed", c[0], {});
  c.clock(1).advance(3);
  execOk(c[1], "INSERT INTO t VALUES (1, 'b', 2); UPDATE u SET qty = 7 WHERE n = 1");
  VersionVector bOwn = c[1].vector().value();
  c.deliver(0, 1);
  execOk(c[1], "UPDATE u SET qty = qty - 3 WHERE k = 'k'");
  write("two-origins", c[1], {});
  write("since-vector", c[1], bOwn);
  c.syncAll();
  execOk(c[2], "DELETE FROM u; DELETE FROM t WHERE id = 2");
  write("with-acks", c[2], c[0].vector().value());

  int n = 0;
  for (const auto& t : test::allTransactions(c[2])) {
    std::ofstream out(root / "transaction" / ("txn-" + std::to_string(n++)), std::ios::binary | std::ios::trunc);
    std::string body = encodeTransaction(t);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
  }
  CHECK(n >= 6);
}

}  // namespace parley
