// The apply engine's reused buffers (core/apply/apply.cpp Engine, core/storage/row_meta.cpp
// decodeRowMetaInto, core/codec.hpp RawWriter): encoders that write into reserved room must
// write exactly what the checked Writer writes, a decode into a recycled RowMeta must equal a
// fresh decode whatever the RowMeta held before, and row slots reused from one transaction to
// the next must not leak state between rows. Oracles: codec::Writer, decodeRowMeta into a new
// RowMeta, and the origin site's table. Every failure prints its seed.
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "model/codec.hpp"
#include "row_meta.hpp"
#include "support/sites.hpp"

namespace parley::test {
namespace {

Value randomValue(std::mt19937& rng) {
  std::uniform_int_distribution<int> kind(0, 6);
  std::uniform_int_distribution<int> length(0, 300);
  switch (kind(rng)) {
    case 0: return Value::null();
    case 1: return Value::integer(std::uniform_int_distribution<std::int64_t>(-200, 200)(rng));
    case 2:
      return Value::integer(std::uniform_int_distribution<std::int64_t>(std::numeric_limits<std::int64_t>::min(),
                                                                        std::numeric_limits<std::int64_t>::max())(rng));
    case 3: return Value::real(std::uniform_real_distribution<double>(-1e300, 1e300)(rng));
    case 4: return Value::text(std::string(static_cast<std::size_t>(length(rng)), 'x'));
    default: return Value::blob(std::string(static_cast<std::size_t>(length(rng)), '\0'));
  }
}

Row randomRow(std::mt19937& rng, std::size_t width) {
  Row r;
  for (std::size_t i = 0; i < width; ++i) r.push_back(randomValue(rng));
  return r;
}

std::string viaWriter(const Row& r, std::uint64_t n) {
  std::string out = "prefix";
  codec::Writer w(out);
  w.varint(n);
  w.signedVarint(-static_cast<std::int64_t>(n / 3));
  w.bytes(std::string(n % 200, 'b'));
  w.row(r);
  for (const auto& v : r) w.value(v);
  return out;
}

std::string viaRawWriter(const Row& r, std::uint64_t n) {
  std::string out = "prefix";
  std::string b(n % 200, 'b');
  std::size_t bound = 2 * codec::RawWriter::kMaxVarint + codec::RawWriter::bytesBound(b) + 2 * codec::RawWriter::rowBound(r);
  codec::appendBounded(out, bound, [&](codec::RawWriter& w) {
    w.varint(n);
    w.signedVarint(-static_cast<std::int64_t>(n / 3));
    w.bytes(b);
    w.row(r);
    for (const auto& v : r) w.value(v);
  });
  return out;
}

// Sites registered in an in-memory catalog, for row metadata.
struct SiteFixture {
  sql::Db db{":memory:"};
  SiteTable sites;
  std::vector<SiteId> ids;

  explicit SiteFixture(std::mt19937& rng) {
    catalog::createSchema(db);
    db.exec("BEGIN");
    sites.load(db);
    for (int i = 0; i < 5; ++i) {
      SiteId id;
      for (auto& b : id.bytes) b = static_cast<std::uint8_t>(rng());
      sites.indexOf(db, id);
      ids.push_back(id);
    }
  }
};

CellMeta randomCell(std::mt19937& rng, const std::vector<SiteId>& ids) {
  std::uniform_int_distribution<std::size_t> site(0, ids.size() - 1);
  std::uniform_int_distribution<int> dots(0, 4);
  std::uniform_int_distribution<std::uint64_t> seq(1, 1u << 30);
  CellMeta c;
  for (int n = dots(rng), i = 0; i < n; ++i) c.dots.push_back({ids[site(rng)], seq(rng)});
  c.stamp = {Hlc{seq(rng) << 20}, ids[site(rng)]};
  if (rng() % 4 == 0) {
    c.counter = PNCounter{};
    c.counter->add(ids[site(rng)], static_cast<std::int64_t>(seq(rng)));
    c.counter->add(ids[site(rng)], -static_cast<std::int64_t>(seq(rng) % 1000));
  }
  return c;
}

RowMeta randomMeta(std::mt19937& rng, const std::vector<SiteId>& ids, std::size_t width) {
  RowMeta m;
  m.alive = rng() % 3 != 0;
  m.existence = randomCell(rng, ids);
  m.cells.resize(width);
  for (std::size_t i = 1; i < width; ++i)  // column 0 is the key
    if (rng() % 5 != 0) m.cells[i] = randomCell(rng, ids);
  if (!m.alive) m.tombstone = randomRow(rng, width);
  return m;
}

std::string describeMeta(const RowMeta& m) {
  std::string out = fmt::format("alive={} dots={} stamp={} cells:", m.alive, m.existence.dots.size(),
                                m.existence.stamp.hlc.value);
  for (const auto& c : m.cells) {
    if (!c) {
      out += " -";
      continue;
    }
    out += fmt::format(" [{} dots, hlc {}, counter {}]", c->dots.size(), c->stamp.hlc.value,
                       c->counter ? c->counter->value() : -1);
  }
  return out + " tombstone " + describe(std::vector<Row>{m.tombstone});
}

bool sameMeta(const RowMeta& a, const RowMeta& b) {
  return a.alive == b.alive && a.existence == b.existence && a.cells == b.cells && a.tombstone == b.tombstone;
}

}  // namespace

TEST_CASE("RawWriter writes exactly the bytes Writer writes, within its bound", "[core][codec]") {
  std::uint32_t seed = GENERATE(range(1u, 4u));
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 300; ++i) {
    Row r = randomRow(rng, static_cast<std::size_t>(rng() % 8));
    std::uint64_t n = static_cast<std::uint64_t>(rng()) << (rng() % 40);
    REQUIRE(viaRawWriter(r, n) == viaWriter(r, n));
  }
}

TEST_CASE("row metadata decoded into a recycled RowMeta equals a fresh decode", "[core][rowmeta]") {
  std::uint32_t seed = GENERATE(range(1u, 4u));
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  SiteFixture f(rng);
  RowMetaEncoder encoder(f.db, f.sites);
  RowMeta recycled;
  for (int i = 0; i < 300; ++i) {
    std::size_t width = 1 + rng() % 6;
    RowMeta m = randomMeta(rng, f.ids, width);
    std::string bytes = encoder.encode(m);
    INFO("row " << i << ": " << describeMeta(m));
    // The encoder's bytes are its appending form's, and decode back to the same metadata.
    std::string appended = "x";
    encoder.encodeTo(m, appended);
    REQUIRE(appended == "x" + bytes);
    REQUIRE(bytes == encodeRowMeta(m, f.db, f.sites));
    decodeRowMetaInto(bytes, f.sites, width, recycled);
    REQUIRE(sameMeta(recycled, m));
    REQUIRE(sameMeta(recycled, decodeRowMeta(bytes, f.sites, width)));
  }
}

TEST_CASE("hand-made row metadata listing a column twice or out of order decodes alike into a recycled RowMeta",
          "[core][rowmeta]") {
  std::mt19937 rng(7);
  SiteFixture f(rng);
  RowMeta full = randomMeta(rng, f.ids, 5);
  for (auto& c : full.cells) c = randomCell(rng, f.ids);
  // alive, existence, then cells 3, 1, 3 (3 listed twice: the last one counts).
  auto cell = [&](const CellMeta& c) {
    RowMeta one;
    one.alive = true;
    one.existence = c;
    std::string b = encodeRowMeta(one, f.db, f.sites);
    return b.substr(1, b.size() - 2);  // the existence cell's bytes, without the flag and the count
  };
  CellMeta c3a = randomCell(rng, f.ids), c1 = randomCell(rng, f.ids), c3b = randomCell(rng, f.ids);
  std::string bytes = std::string(1, '\1') + cell(full.existence) + "\3" + "\3" + cell(c3a) + "\1" + cell(c1) + "\3" +
                      cell(c3b);
  RowMeta fresh = decodeRowMeta(bytes, f.sites, 5);
  CHECK_FALSE(fresh.cells[0]);
  CHECK(fresh.cells[1] == c1);
  CHECK_FALSE(fresh.cells[2]);
  CHECK(fresh.cells[3] == c3b);
  CHECK_FALSE(fresh.cells[4]);
  RowMeta recycled = full;  // every cell set, to be cleared or overwritten
  decodeRowMetaInto(bytes, f.sites, 5, recycled);
  CHECK(sameMeta(recycled, fresh));
}

TEST_CASE("row slots reused across the transactions of one apply keep no state of the rows before",
          "[core][apply][batch]") {
  // Transaction sizes shrink and grow, so a slot holds in turn a live row, a row never seen,
  // a tombstone and rows of a text-keyed table; values change length. All of it arrives in
  // one apply (merge columns: undo records), then a late transaction makes the receiver undo
  // and refold everything. The receiver's tables must equal the origin's after each step.
  std::uint32_t seed = GENERATE(range(1u, 4u));
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ClusterOptions o;
  o.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b); CREATE TABLE u(k TEXT PRIMARY KEY, v);";
  o.tracked = {"t", "u"};
  TableConfig merge;
  merge.columns = "merge";
  o.config = merge;
  testing::Cluster c(test::clusterOptions(3, o));
  Site& origin = c[0];
  std::uniform_int_distribution<int> key(1, 60), size(1, 40), len(0, 40);
  for (int txn = 0; txn < 30; ++txn) {
    std::string sql = "BEGIN;";
    int rows = txn % 3 == 2 ? 2 : size(rng);
    for (int i = 0; i < rows; ++i) {
      int k = key(rng);
      switch (rng() % 5) {
        case 0: sql += fmt::format("DELETE FROM t WHERE id = {};", k); break;
        case 1: sql += fmt::format("INSERT OR REPLACE INTO u VALUES ('k{}', '{}');", k, std::string(len(rng), 'u')); break;
        case 2: sql += fmt::format("DELETE FROM u WHERE k = 'k{}';", k); break;
        default:
          sql += fmt::format("INSERT INTO t VALUES ({0}, {1}, '{2}') ON CONFLICT(id) DO UPDATE SET a = a + {1}, b = '{2}';",
                             k, len(rng), std::string(len(rng), 'b'));
      }
    }
    c.clock(0).advance(3);
    execOk(origin, sql + "COMMIT;");
  }
  Site& receiver = c[1];
  c.deliver(0, 1);
  CHECK(describe(tableContents(origin, "t")) == describe(tableContents(receiver, "t")));
  CHECK(describe(tableContents(origin, "u")) == describe(tableContents(receiver, "u")));

  // A third site wrote early (its clock is behind): its transaction sorts before most of the
  // origin's, so the receiver undoes them and folds everything again; the origin merges it
  // on arrival. Both must agree.
  execOk(c[2], "BEGIN; INSERT INTO t VALUES (7, 1000, 'late'); INSERT INTO u VALUES ('late', 1); COMMIT;");
  CHECK(c.deliver(2, 1).refolded > 0);
  c.deliver(2, 0);
  CHECK(describe(tableContents(origin, "t")) == describe(tableContents(receiver, "t")));
  CHECK(describe(tableContents(origin, "u")) == describe(tableContents(receiver, "u")));
}

}  // namespace parley::test
