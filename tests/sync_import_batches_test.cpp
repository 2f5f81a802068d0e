// The import path's batching (sync/changeset.cpp: a change-set file is decoded, checked and
// applied in batches of ~64k rows inside one SQLite transaction) and the decoder it relies on
// (decodeTransaction(bytes, into), which reuses `into`'s storage).
//
// Oracles: a transaction decoded into recycled storage re-encodes exactly as a fresh decode
// of the same bytes; a file of several batches leaves the importer as one in-process apply()
// of the same transactions does (tables and the refold count), and a file refused in a later
// batch, or at its trailer, leaves the database exactly as it was. Random tests print their
// seed; PARLEY_SEED=<n> replays one.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "fuzz/changeset_frames.hpp"
#include "parley/replication.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/txn_codec.hpp"
#include "support/files.hpp"
#include "support/ids.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::ClusterOptions;
using test::execOk;
using test::TempDir;

std::uint64_t newSeed() {
  if (const char* env = std::getenv("PARLEY_SEED")) return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

// A random transaction of varied shape: 0-6 rows over a short and a long table name, keys of
// 1-3 values of every type, 0-4 writes, bases of 0-3 dots (often the same single dot again,
// which the encoding shortens) and a context of 0-3 entries.
Transaction randomTransaction(std::mt19937_64& rng) {
  std::vector<SiteId> sites;
  for (std::uint8_t b = 1; b <= 4; ++b) sites.push_back(test::testSiteId(b));
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto value = [&]() -> Value {
    switch (pick(5)) {
      case 0: return Value::null();
      case 1: return Value::integer(static_cast<std::int64_t>(rng()) >> pick(64));
      case 2: return Value::real(static_cast<double>(rng() % 100000) / 7.0);
      case 3: return Value::text(std::string(pick(40), static_cast<char>('a' + pick(26))));
      default: return Value::blob(std::string(pick(40), static_cast<char>(pick(256))));
    }
  };
  Dot shared{sites[pick(4)], 1 + rng() % 50};
  auto dots = [&]() {
    Dots out;
    if (pick(2) == 0) return Dots{shared};
    for (std::size_t i = pick(4); i > 0; --i) addDot(out, {sites[pick(4)], 1 + rng() % 1000});
    return out;
  };
  Transaction t;
  t.dot = {sites[pick(4)], 1 + rng() % 1000};
  t.hlc.value = rng();
  for (std::size_t i = pick(4); i > 0; --i) t.context.advance({sites[pick(4)], 1 + rng() % 1000});
  for (std::size_t r = pick(7); r > 0; --r) {
    RowChange row;
    row.table = pick(2) ? "t" : "a_table_name_longer_than_any_short_string";
    row.op = static_cast<RowOp>(pick(3));
    for (std::size_t k = 1 + pick(3); k > 0; --k) row.pk.push_back(value());
    for (std::size_t c = pick(5); c > 0; --c) row.columns.push_back({static_cast<std::uint32_t>(pick(9)), value(), value(), dots()});
    row.rowBase = dots();
    t.rows.push_back(std::move(row));
  }
  return t;
}

TEST_CASE("a transaction decoded into recycled storage re-encodes as a fresh decode of the same bytes",
          "[sync][import][decode]") {
  const std::uint64_t seed = newSeed();
  INFO("seed " << seed << " (replay with PARLEY_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  Transaction recycled;
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = encodeTransaction(randomTransaction(rng));
    INFO("transaction " << i);
    if (i % 7 == 3) {  // a damaged one in between: refused, and what it left must not leak on
      std::string cut = bytes.substr(0, bytes.size() - 1 - rng() % bytes.size());
      CHECK(decodeTransaction(cut, recycled).code() == Status::Code::kCorruption);
      continue;
    }
    REQUIRE(decodeTransaction(bytes, recycled).isOk());
    Transaction fresh = decodeTransaction(bytes).value();
    REQUIRE(encodeTransaction(recycled) == encodeTransaction(fresh));
    CHECK(recycled.dot == fresh.dot);
    CHECK(recycled.context == fresh.context);
  }
}

// What an import can change: every table of the database, parley's own included.
std::vector<std::vector<Row>> everything(Site& site) {
  std::vector<std::vector<Row>> out;
  for (const auto& row : execOk(site, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").rows)
    out.push_back(test::tableContents(site, row[0].asText()));
  return out;
}

// Four transactions of 22000 rows each: more than one batch (the first three, then the last).
void writeManyRows(Site& site) {
  for (int i = 0; i < 4; ++i)
    execOk(site, fmt::format("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 22000) "
                             "INSERT INTO t SELECT {0} * 22000 + x, x % 97, 'r' || x FROM n",
                             i));
}

TEST_CASE("an import of more rows than a batch leaves the site as one in-process apply of them does",
          "[sync][import]") {
  // Merge columns keep undo records and re-fold on late arrivals, so the order and grouping
  // of the folds show. The importer and the in-process receiver have both written, either
  // before the origin (every batch folds after what they hold) or after it (the file sorts
  // before their own write: one batch, one re-fold, as in one apply()).
  TempDir dir;
  ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT);";
  TableConfig merge;
  merge.columns = "merge";
  o.config = merge;
  Cluster c(test::clusterOptions(3, o));
  bool localFirst = GENERATE(true, false);
  INFO((localFirst ? "the receivers wrote first" : "the receivers wrote last"));
  auto localWrite = [&] {
    for (std::size_t i : {1u, 2u}) {
      c.clock(i).advance(localFirst ? 1 : 60'000);
      execOk(c[i], "INSERT INTO t VALUES (5, 1000, 'local'), (50000, 1000, 'local')");
    }
  };
  if (localFirst) localWrite();
  c.clock(0).advance(10);
  writeManyRows(c[0]);
  if (!localFirst) localWrite();

  std::string path = dir.file("many.parley");
  REQUIRE_OK(sync::exportChanges(c[0], path, c[1].vector().value()));
  auto imported = sync::importChanges(c[1], path);
  REQUIRE_OK(imported);
  auto changes = c[0].replication().changesSince(c[2].vector().value());
  REQUIRE_OK(changes);
  auto applied = c[2].replication().apply(*changes);
  REQUIRE_OK(applied);

  CHECK(imported->applied.applied == 4);
  CHECK(imported->applied.applied == applied->applied);
  CHECK(imported->applied.refolded == applied->refolded);
  CHECK(imported->applied.conflicts == applied->conflicts.size());
  if (!localFirst) CHECK(applied->refolded == 1);
  CHECK(test::tableContents(c[1], "t") == test::tableContents(c[2], "t"));
  CHECK(test::queryInt(c[1], "SELECT count(*) FROM t") == 88000);
}

TEST_CASE("an import refused in a later batch or at its trailer applies nothing and says why in one line",
          "[sync][import][corruption]") {
  // The first batch is applied inside the import's SQLite transaction before the refusal is
  // found; the refusal must roll it back, with the message verify() gives.
  TempDir dir;
  ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT); CREATE TABLE zzq(id INTEGER PRIMARY KEY, v);";
  o.tracked = {"t", "zzq"};
  Cluster c(test::clusterOptions(2, o));
  writeManyRows(c[0]);
  execOk(c[0], "INSERT INTO zzq VALUES (1, 'last')");
  std::string path = dir.file("late.parley");
  REQUIRE_OK(sync::exportChanges(c[0], path, c[1].vector().value()));
  std::string file = test::readFile(path);

  std::string expect;
  SECTION("its last transaction changes a table the importer does not track") {
    // The header names the table too (its digest); the transaction's name comes last.
    std::size_t name = file.rfind("zzq");
    REQUIRE(name != std::string::npos);
    REQUIRE(file.find("zzq") < name);
    file[name + 2] = 'r';
    REQUIRE(test::refreshChecksums(file));
    expect = "changes table \"zzr\", which this site does not track";
  }
  SECTION("its trailer is cut short") {
    file.resize(file.size() - 3);
    expect = "truncated in the trailer checksum";
  }
  test::writeFile(path, file);

  const auto before = everything(c[1]);
  const VersionVector vector = c[1].vector().value();
  auto r = sync::importChanges(c[1], path);
  INFO("import -> " << r.status().toString());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find(path) != std::string::npos);
  CHECK(r.status().message().find(expect) != std::string::npos);
  CHECK(r.status().message().find('\n') == std::string::npos);
  CHECK(c[1].vector().value() == vector);
  CHECK(everything(c[1]) == before);
}

}  // namespace
}  // namespace parley
