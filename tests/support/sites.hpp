// Helpers for tests: the options the project's tests give parley::testing::Cluster (the public
// simulated cluster), moving transactions between sites outside a cluster, and helpers that fail
// the current test with the parley Status (not just "false") when a call that should succeed
// does not.
//
// A test cluster's sites are named site0, site1, ...; each has its own ManualClock (tests move
// time explicitly, so HLC stamps are predictable) and a fixed SiteId chosen by the test
// (testSiteId(n): every byte n, so a larger n is a larger id and the tie-break winner is known
// in advance). All sites share one cluster id, the same schema and the same tracked tables.
// Delivery is explicit: cluster.deliver(from, to) sends what `to` lacks; syncPair does both ways.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/testing/cluster.hpp"
#include "support/ids.hpp"
#include "support/printers.hpp"

namespace parley::test {

inline const Status& statusOf(const Status& s) { return s; }
template <class T>
const Status& statusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace parley::test

// REQUIRE/CHECK that a Status or Result is ok; on failure prints the expression and the
// Status' toString().
#define PARLEY_OK_IMPL(MACRO, expr)                                                   \
  do {                                                                                \
    const auto& parley_ok_value_ = (expr);                                            \
    const ::parley::Status& parley_ok_status_ = ::parley::test::statusOf(parley_ok_value_); \
    INFO(#expr << " -> " << parley_ok_status_.toString());                            \
    MACRO(parley_ok_status_.isOk());                                                  \
  } while (false)
#define REQUIRE_OK(expr) PARLEY_OK_IMPL(REQUIRE, expr)
#define CHECK_OK(expr) PARLEY_OK_IMPL(CHECK, expr)

namespace parley::test {

// The cluster id every test cluster shares (testing::simulatedClusterId()).
SiteId testClusterId();

using parley::FixedIdSource;

// What the tests' clusters differ in; clusterOptions() turns it into testing::Options.
struct ClusterOptions {
  std::shared_ptr<const ResolverProvider> resolvers = resolvers::lwwEverywhere();
  // How tracked tables resolve conflicts; the provider's defaults when empty.
  std::optional<TableConfig> config;
  // Each site registers every other as a member (acknowledge(id, {})), so decisions become
  // final only once all of them have acknowledged.
  bool registerMembers = true;
  // Run at every site before tracking.
  std::string schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);";
  std::vector<std::string> tracked = {"t"};
  // Per site, the byte of testSiteId(); defaults to 1, 2, 3, ...
  std::vector<std::uint8_t> idBytes;
  std::uint64_t startMs = 1'700'000'000'000ULL;
  std::chrono::milliseconds maxClockSkew{std::chrono::minutes(1)};
  // Per site index, its SiteOptions::applyChunkRows; sites beyond the list keep the default.
  std::vector<std::size_t> applyChunkRows;
  // SiteOptions::checkCapture for every site; also on when PARLEY_CHECK_CAPTURE=1 is set, so
  // a whole test run can check capture.
  bool checkCapture = false;
};

// `o` for one run of a randomized test: seeded by the run number (1, 2, ...), every message
// reordered with probability 0.5 and duplicated with 0.2.
testing::Options faultyRun(testing::Options o, int run);

// parley::testing::Options for `n` sites named site0, site1, ... as `options` says.
testing::Options clusterOptions(std::size_t n, const ClusterOptions& options = {});
// Adds a site named "site<index>" to `cluster` whose id is testSiteId(idByte), by default one
// more than the greatest id byte so far. Returns its index.
std::size_t addSite(testing::Cluster& cluster, std::optional<std::uint8_t> idByte = std::nullopt);

// For sites outside a cluster (files, clones, sites with clocks of their own): sends `to`
// everything `from` holds that `to` lacks, as a sync streams it (parley/sync/session.hpp: log
// bodies in chunks, applied as they arrive), without the handshake or acknowledgements.
// Returns what `to` applied.
ApplyResult transfer(Site& from, Site& to);
// transfer(a, b) then transfer(b, a), then each passes the other its acknowledgements.
// Returns (what b applied, what a applied).
std::pair<ApplyResult, ApplyResult> exchange(Site& a, Site& b);

// exec() that must succeed.
QueryResult execOk(Site& site, std::string_view sql);
QueryResult execOk(Site& site, std::string_view sql, const std::vector<Value>& params);
// The single INTEGER a query returns.
std::int64_t queryInt(Site& site, std::string_view sql);

// changesSince() that must succeed.
std::vector<Transaction> changesOk(const Site& site, const VersionVector& since);
// Every transaction `site` holds.
std::vector<Transaction> allTransactions(const Site& site);
// The held transaction with this dot; fails the test if absent.
Transaction transactionWithDot(const Site& site, const Dot& dot);

// apply() that must succeed.
ApplyResult applyOk(Site& site, std::span<const Transaction> transactions);
// Tells `to` what `from` knows every site holds.
void passAcknowledgements(Site& from, Site& to);

// Every row of `table`, ordered by all columns (hence by primary key), for comparing sites.
std::vector<Row> tableContents(Site& site, std::string_view table);
// Rows as "(1, 'x', NULL)" lines, for INFO.
std::string describe(const std::vector<Row>& rows);
std::string describe(const Transaction& t);
std::string describe(const std::vector<Transaction>& ts);
std::string describe(const ConflictReport& c);

// The change to (table, pk) in `t`, or nullptr. With several, the last one.
const RowChange* findRow(const Transaction& t, std::string_view table, const Row& pk);
// How many changes `t` has for (table, pk).
std::size_t countRows(const Transaction& t, std::string_view table, const Row& pk);
// The write to column index `column`, or nullptr.
const ColumnWrite* findColumn(const RowChange& r, std::uint32_t column);
// The write of `t` to row `pk` of the default table t(id, a, b), which writes a and b, read the
// row's version `row`, a's `a` and b's `b` (checked).
void requireBases(const Transaction& t, const Row& pk, const Dot& row, const Dot& a, const Dot& b);

// Runs `sql` at `site`, which must then hold exactly one more transaction of its own, whose
// context is the vector it held before. Returns that transaction.
Transaction captureOne(Site& site, std::string_view sql);
Transaction captureOne(Site& site, std::string_view sql, const std::vector<Value>& params);
// Runs `sql` at `site`, which must then hold exactly what it held before.
void captureNothing(Site& site, std::string_view sql);

// Shorthand for rows in expectations.
inline Value Int(std::int64_t v) { return Value::integer(v); }
inline Value Txt(std::string v) { return Value::text(std::move(v)); }
inline Value Real(double v) { return Value::real(v); }
inline Value Bytes(std::string bytes) { return Value::blob(std::move(bytes)); }
inline Value Null() { return Value::null(); }

// A fresh directory removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(std::string_view name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A lone in-memory site named "stranger" of another cluster (every byte of its id 0xdd), with
// `resolvers`: the clock and ids it was made with live beside it.
struct Stranger {
  explicit Stranger(std::shared_ptr<const ResolverProvider> resolvers);
  Site& operator*() { return *site; }
  ManualClock clock;
  FixedIdSource ids{testSiteId(9)};
  std::unique_ptr<Site> site;
};

}  // namespace parley::test
