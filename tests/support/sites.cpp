#include "support/sites.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "parley/replication.hpp"
#include "parley/sync/session.hpp"

namespace parley::test {

SiteId testClusterId() { return testing::simulatedClusterId(); }

namespace {

bool checkCaptureFromEnvironment() {
  const char* check = std::getenv("PARLEY_CHECK_CAPTURE");
  return check && *check && *check != '0';
}

}  // namespace

testing::Options faultyRun(testing::Options o, int run) {
  o.seed = static_cast<std::uint64_t>(run) + 1;
  o.faults.reorder = 0.5;
  o.faults.duplicate = 0.2;
  return o;
}

testing::Options clusterOptions(std::size_t n, const ClusterOptions& options) {
  testing::Options o;
  o.sites.clear();
  std::uint8_t next = 1;
  for (std::size_t i = 0; i < n; ++i) {
    o.sites.push_back("site" + std::to_string(i));
    std::uint8_t byte = i < options.idBytes.size() ? options.idBytes[i] : next;
    if (byte >= next) next = static_cast<std::uint8_t>(byte + 1);
    o.ids.push_back(testSiteId(byte));
  }
  o.schema = options.schema;
  o.tables = options.tracked;
  o.track = !options.tracked.empty();
  if (options.config)
    for (const auto& table : options.tracked) o.configs[table] = *options.config;
  o.resolvers = options.resolvers;
  o.clockStartMs = options.startMs;
  o.registerMembers = options.registerMembers;
  bool check = options.checkCapture || checkCaptureFromEnvironment();
  o.siteOptions = [skew = options.maxClockSkew, chunks = options.applyChunkRows, check](
                      std::size_t site, SiteOptions& s) {
    s.maxClockSkew = skew;
    if (site < chunks.size()) s.applyChunkRows = chunks[site];
    s.checkCapture = check;
  };
  return o;
}

std::size_t addSite(testing::Cluster& cluster, std::optional<std::uint8_t> idByte) {
  std::uint8_t next = 1;
  for (std::size_t i = 0; i < cluster.size(); ++i)
    next = std::max(next, static_cast<std::uint8_t>(cluster[i].id().bytes[0] + 1));
  std::uint8_t byte = idByte.value_or(next);
  std::size_t index = cluster.size();
  INFO("adding site" << index << " with id byte " << int(byte));
  return cluster.addSite("site" + std::to_string(index), testSiteId(byte));
}

ApplyResult transfer(Site& from, Site& to) {
  INFO("transfer " << from.name() << " -> " << to.name());
  sync::ChunkApplier applier(to, /*keepConflicts=*/true);
  REQUIRE_OK(sync::streamChanges(from, to.vector().value(),
                                 [&applier](sync::Chunk&& chunk) { return applier.apply(chunk); }));
  REQUIRE_OK(applier.finish());
  return applier.totals().result();
}

std::pair<ApplyResult, ApplyResult> exchange(Site& a, Site& b) {
  ApplyResult ab = transfer(a, b);
  ApplyResult ba = transfer(b, a);
  passAcknowledgements(a, b);
  passAcknowledgements(b, a);
  return {std::move(ab), std::move(ba)};
}

QueryResult execOk(Site& site, std::string_view sql) {
  auto r = site.exec(sql);
  INFO("at " << site.name() << ": " << sql << "\n-> " << r.status().toString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

QueryResult execOk(Site& site, std::string_view sql, const std::vector<Value>& params) {
  auto r = site.exec(sql, params);
  std::string shown;
  for (const auto& p : params) shown += (shown.empty() ? "" : ", ") + p.toSqlLiteral();
  INFO("at " << site.name() << ": " << sql << " [" << shown << "]\n-> " << r.status().toString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::int64_t queryInt(Site& site, std::string_view sql) {
  auto r = execOk(site, sql);
  INFO(sql);
  REQUIRE(r.rows.size() == 1);
  REQUIRE(r.rows[0].size() >= 1);
  REQUIRE(r.rows[0][0].type() == Value::Type::kInteger);
  return r.rows[0][0].asInteger();
}

std::vector<Transaction> changesOk(const Site& site, const VersionVector& since) {
  auto r = site.replication().changesSince(since);
  INFO("changesSince(" << since.toString() << ") at " << site.name() << " -> "
                       << r.status().toString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::vector<Transaction> allTransactions(const Site& site) { return changesOk(site, VersionVector{}); }

Transaction transactionWithDot(const Site& site, const Dot& dot) {
  auto all = allTransactions(site);
  for (auto& t : all)
    if (t.dot == dot) return t;
  INFO("looking for " << dot.toString() << " at " << site.name() << " among\n" << describe(all));
  FAIL("transaction not held");
  return {};
}

ApplyResult applyOk(Site& site, std::span<const Transaction> transactions) {
  auto r = site.replication().apply(transactions);
  INFO("apply at " << site.name() << " of " << transactions.size() << " transactions -> "
                   << r.status().toString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

void passAcknowledgements(Site& from, Site& to) {
  auto acks = from.replication().acknowledgements();
  REQUIRE_OK(acks);
  for (const auto& [site, vector] : *acks) REQUIRE_OK(to.replication().acknowledge(site, vector));
}

std::vector<Row> tableContents(Site& site, std::string_view table) {
  std::string quoted = "\"";
  for (char c : table) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  auto count = execOk(site, "SELECT count(*) FROM pragma_table_info(?1)", {Value::text(std::string(table))});
  REQUIRE(count.rows.size() == 1);
  std::int64_t n = count.rows[0][0].asInteger();
  REQUIRE(n > 0);
  std::string sql = "SELECT * FROM " + quoted + " ORDER BY ";
  for (std::int64_t i = 1; i <= n; ++i) sql += (i > 1 ? ", " : "") + std::to_string(i);
  return execOk(site, sql).rows;
}

std::string describe(const std::vector<Row>& rows) {
  std::ostringstream out;
  for (const auto& row : rows) {
    out << "(";
    for (std::size_t i = 0; i < row.size(); ++i) out << (i ? ", " : "") << row[i].toSqlLiteral();
    out << ")\n";
  }
  if (rows.empty()) out << "(no rows)\n";
  return out.str();
}

namespace {

const char* opName(RowOp op) {
  switch (op) {
    case RowOp::kInsert: return "insert";
    case RowOp::kUpdate: return "update";
    case RowOp::kDelete: return "delete";
  }
  return "?";
}

std::string dotsText(const Dots& dots) {
  std::string out = "[";
  for (std::size_t i = 0; i < dots.size(); ++i) out += (i ? " " : "") + dots[i].toString();
  return out + "]";
}

std::string rowText(const Row& row) {
  std::string out = "(";
  for (std::size_t i = 0; i < row.size(); ++i) out += (i ? ", " : "") + row[i].toSqlLiteral();
  return out + ")";
}

}  // namespace

std::string describe(const Transaction& t) {
  std::ostringstream out;
  out << "txn " << t.dot.toString() << " hlc " << t.hlc.toString() << " ctx " << t.context.toString()
      << "\n";
  for (const auto& r : t.rows) {
    out << "  " << opName(r.op) << " " << r.table << rowText(r.pk) << " rowBase " << dotsText(r.rowBase)
        << "\n";
    for (const auto& c : r.columns)
      out << "    col " << c.column << ": " << c.oldValue.toSqlLiteral() << " -> "
          << c.newValue.toSqlLiteral() << " base " << dotsText(c.base) << "\n";
  }
  return out.str();
}

std::string describe(const std::vector<Transaction>& ts) {
  std::string out;
  for (const auto& t : ts) out += describe(t);
  return out.empty() ? "(no transactions)\n" : out;
}

std::string describe(const ConflictReport& c) {
  std::ostringstream out;
  out << Catch::StringMaker<ConflictKind>::convert(c.kind) << " " << c.table << rowText(c.pk) << "."
      << c.column << " [" << c.resolver << "] local " << c.localValue.toSqlLiteral() << " "
      << dotsText(c.localDots) << " remote " << c.remoteValue.toSqlLiteral() << " "
      << c.remoteDot.toString() << " -> " << c.result.toSqlLiteral()
      << (c.remoteWon ? " (remote won)" : " (local kept)");
  return out.str();
}

const RowChange* findRow(const Transaction& t, std::string_view table, const Row& pk) {
  const RowChange* found = nullptr;
  for (const auto& r : t.rows)
    if (r.table == table && r.pk == pk) found = &r;
  return found;
}

std::size_t countRows(const Transaction& t, std::string_view table, const Row& pk) {
  std::size_t n = 0;
  for (const auto& r : t.rows)
    if (r.table == table && r.pk == pk) ++n;
  return n;
}

const ColumnWrite* findColumn(const RowChange& r, std::uint32_t column) {
  for (const auto& c : r.columns)
    if (c.column == column) return &c;
  return nullptr;
}

void requireBases(const Transaction& t, const Row& pk, const Dot& row, const Dot& a, const Dot& b) {
  INFO("row " << pk[0].toSqlLiteral() << " of " << t.dot.toString());
  const RowChange* change = findRow(t, "t", pk);
  REQUIRE(change != nullptr);
  CHECK(change->rowBase == Dots{row});
  const ColumnWrite* wa = findColumn(*change, 1);
  const ColumnWrite* wb = findColumn(*change, 2);
  REQUIRE(wa != nullptr);
  REQUIRE(wb != nullptr);
  CHECK(wa->base == Dots{a});
  CHECK(wb->base == Dots{b});
}

Transaction captureOne(Site& site, std::string_view sql) { return captureOne(site, sql, {}); }

Transaction captureOne(Site& site, std::string_view sql, const std::vector<Value>& params) {
  VersionVector before = site.vector().value();
  std::size_t heldBefore = allTransactions(site).size();
  if (params.empty()) execOk(site, sql);
  else execOk(site, sql, params);
  VersionVector expected = before;
  expected.set(site.id(), before.get(site.id()) + 1);
  INFO("after " << sql);
  REQUIRE(site.vector().value() == expected);
  REQUIRE(allTransactions(site).size() == heldBefore + 1);
  Transaction t = transactionWithDot(site, Dot{site.id(), expected.get(site.id())});
  INFO(describe(t));
  CHECK(t.context == before);
  return t;
}

void captureNothing(Site& site, std::string_view sql) {
  VersionVector before = site.vector().value();
  auto heldBefore = allTransactions(site);
  execOk(site, sql);
  INFO("after " << sql);
  CHECK(site.vector().value() == before);
  auto heldAfter = allTransactions(site);
  INFO("held now:\n" << describe(heldAfter));
  CHECK(heldAfter.size() == heldBefore.size());
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "parley-test-XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  REQUIRE(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Stranger::Stranger(std::shared_ptr<const ResolverProvider> resolvers) {
  SiteId otherCluster;
  otherCluster.bytes.fill(0xdd);
  auto created = Site::create(":memory:", CreateOptions{"stranger", &ids, otherCluster},
                              SiteOptions{&clock, std::move(resolvers)});
  REQUIRE_OK(created);
  site = std::move(*created);
}

}  // namespace parley::test
