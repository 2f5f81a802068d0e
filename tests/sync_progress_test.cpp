// What long transfers tell a progress display (sync::TransferObserver, Site::CopyProgress):
// sessions, change-set files and clones report after each chunk what moved so far, with the
// totals known in advance (from the vectors, the file's header and size, the database's size),
// and end at them. Also: an import that applied transactions is recorded as a sync with the
// file's origin, under its name.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/site.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/in_process.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using sync::TransferProgress;
using Phase = TransferProgress::Phase;
using testing::Cluster;
using test::execOk;

void insertRows(Site& site, int first, int rows, std::size_t width = 100) {
  for (int i = first; i < first + rows; ++i)
    execOk(site, "INSERT INTO t(id, a, b) VALUES (?1, 'x', ?2)", {test::Int(i), test::Txt(std::string(width, 'y'))});
}

// The events of one phase, in order.
std::vector<TransferProgress> phase(const std::vector<TransferProgress>& events, Phase p) {
  std::vector<TransferProgress> out;
  for (const auto& e : events)
    if (e.phase == p) out.push_back(e);
  return out;
}

// Each event's counts at least the previous one's, under the total, which never changes.
void checkMonotonic(const std::vector<TransferProgress>& events) {
  for (std::size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i].transactions >= events[i - 1].transactions);
    CHECK(events[i].bytes >= events[i - 1].bytes);
    CHECK(events[i].totalTransactions == events[0].totalTransactions);
    CHECK(events[i].totalBytes == events[0].totalBytes);
  }
}

}  // namespace

TEST_CASE("a session tells its observer each chunk received and sent, against totals known from the vectors",
          "[sync][progress]") {
  Cluster c(test::clusterOptions(2));
  insertRows(c[1], 1, 2000);
  insertRows(c[0], 100000, 300);
  std::vector<TransferProgress> events;
  sync::SessionOptions options;
  options.chunkBytes = 8192;
  options.observer = [&](const TransferProgress& p) { events.push_back(p); };
  auto r = sync::syncInProcess(c[0], c[1], options);
  REQUIRE_OK(r);

  auto received = phase(events, Phase::kReceiving);
  REQUIRE(received.size() > 10);  // one per chunk, not one at the end
  checkMonotonic(received);
  CHECK(received.front().totalTransactions == 2000);
  CHECK(received.front().transactions < 2000);
  CHECK(received.back().transactions == 2000);
  CHECK(received.back().rows == 2000);
  auto sent = phase(events, Phase::kSending);
  REQUIRE(sent.size() > 1);
  checkMonotonic(sent);
  CHECK(sent.front().totalTransactions == 300);
  CHECK(sent.back().transactions == 300);
  CHECK(sent.back().bytes > 300 * 100);

  events.clear();
  REQUIRE_OK(sync::syncInProcess(c[0], c[1], options));
  CHECK(events.empty());  // nothing to move, nothing to tell
}

TEST_CASE("export and import tell their observer what is written and applied, against the file's totals",
          "[sync][progress][file]") {
  test::TempDir dir;
  Cluster c(test::clusterOptions(2));
  insertRows(c[0], 1, 5000, 500);  // about 2.5 MB: three chunks of 1 MiB
  std::string path = dir.file("all.pcs");
  std::vector<TransferProgress> out, in;
  auto exported = sync::exportChanges(c[0], path, c[1].vector().value(),
                                      [&](const TransferProgress& p) { out.push_back(p); });
  REQUIRE_OK(exported);
  REQUIRE(out.size() > 1);
  checkMonotonic(out);
  CHECK(out.front().phase == Phase::kSending);
  CHECK(out.front().totalTransactions == 5000);
  CHECK(out.back().transactions == 5000);

  auto imported = sync::importChanges(c[1], path, [&](const TransferProgress& p) { in.push_back(p); });
  REQUIRE_OK(imported);
  REQUIRE(!in.empty());
  checkMonotonic(in);
  CHECK(in.front().phase == Phase::kReceiving);
  CHECK(in.front().totalTransactions == 5000);
  CHECK(in.front().totalBytes == std::filesystem::file_size(path));
  CHECK(in.back().transactions == 5000);
  CHECK(in.back().rows == 5000);
  CHECK(in.back().bytes <= in.back().totalBytes);
  CHECK(in.back().bytes * 10 >= in.back().totalBytes * 9);  // all but the trailer's few bytes
}

TEST_CASE("an import that applied transactions is a sync with the file's origin, under its name", "[sync][file]") {
  test::TempDir dir;
  Cluster c(test::clusterOptions(2));
  insertRows(c[0], 1, 3);
  auto before = c[1].replication().peers();
  REQUIRE_OK(before);
  for (const auto& p : *before) CHECK_FALSE(p.lastSyncMs);
  std::string path = dir.file("three.pcs");
  REQUIRE_OK(sync::exportChanges(c[0], path, {}));
  REQUIRE_OK(sync::importChanges(c[1], path));
  auto after = c[1].replication().peers();
  REQUIRE_OK(after);
  bool found = false;
  for (const auto& p : *after)
    if (p.site == c[0].id()) {
      found = true;
      CHECK(p.lastSyncMs);
      CHECK(p.name == c[0].name());
    }
  CHECK(found);
}

TEST_CASE("a clone tells its progress callback the bytes copied, ending at the database's size", "[clone][progress]") {
  test::TempDir dir;
  Cluster c(test::clusterOptions(1));
  execOk(c[0], "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) "
               "INSERT INTO t SELECT i, 'x', printf('%.100c', 'y') FROM n");
  std::vector<std::pair<std::uint64_t, std::uint64_t>> steps;
  FixedIdSource ids(test::testSiteId(77));
  auto clone = c[0].clone(dir.file("copy.db"), {"copy", &ids, {}}, SiteOptions{&c.clock(0), resolvers::lwwEverywhere()},
                          [&](std::uint64_t copied, std::uint64_t total) { steps.emplace_back(copied, total); });
  REQUIRE_OK(clone);
  REQUIRE(steps.size() > 1);  // over 6 MB, 4 MB a step
  for (std::size_t i = 1; i < steps.size(); ++i) CHECK(steps[i].first >= steps[i - 1].first);
  CHECK(steps.front().first < steps.front().second);
  CHECK(steps.back().first == steps.back().second);
  CHECK(steps.back().second > 6'000'000);
  CHECK(test::tableContents(**clone, "t") == test::tableContents(c[0], "t"));
}

}  // namespace parley
