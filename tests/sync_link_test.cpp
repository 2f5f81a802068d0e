// The session over a Link (parley/sync/link.hpp) through the in-process link: transactions
// move in bounded chunks both ways, a link cut mid-stream keeps what arrived and the next
// session resumes, and a peer that breaks the stream is one line with nothing half-applied.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/site.hpp"
#include "parley/sync/in_process.hpp"
#include "parley/sync/link.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using sync::Chunk;
using sync::ChunkSink;
using sync::InProcessLink;
using sync::Link;
using testing::Cluster;
using test::execOk;
using test::queryInt;
using test::tableContents;

void insertRows(Site& site, int first, int rows, const std::string& tag) {
  for (int i = first; i < first + rows; ++i)
    execOk(site, "INSERT INTO t(id, a, b) VALUES (?1, ?2, ?3)",
           {test::Int(i), test::Txt(tag), test::Txt(std::string(40, 'x'))});
}

// What a FaultyLink does to the chunks it carries, in either direction.
struct Faults {
  std::size_t cutAfterChunks = SIZE_MAX;  // chunks that pass before the link fails
  bool truncateLast = false;              // the stream ends inside a transaction
};

// Forwards to a sink, counting chunks and their sizes, failing as told.
class CountingSink final : public ChunkSink {
 public:
  CountingSink(ChunkSink& to, std::vector<std::size_t>& sizes, const Faults& faults)
      : to_(to), sizes_(sizes), faults_(faults) {}
  Status write(Chunk&& chunk) override {
    if (sizes_.size() >= faults_.cutAfterChunks) return Status::ioError("link cut");
    sizes_.push_back(chunk.bytes);
    last_ = chunk;
    return to_.write(std::move(chunk));
  }
  Status finish() override {
    if (faults_.truncateLast && !last_.pieces.empty()) {
      Chunk part;
      part.pieces.push_back({last_.pieces.back().body.substr(0, 3), false});
      part.bytes = 3;
      if (auto st = to_.write(std::move(part)); !st) return st;
    }
    return to_.finish();
  }
  sync::ApplyTotals totals() const override { return to_.totals(); }

 private:
  ChunkSink& to_;
  std::vector<std::size_t>& sizes_;
  const Faults& faults_;
  Chunk last_;
};

// An InProcessLink that records the chunks it carries and injects faults into pulls.
class FaultyLink final : public Link {
 public:
  FaultyLink(Site& peer, std::size_t chunkBytes, Faults faults) : inner_(peer, chunkBytes), faults_(faults) {}
  Result<sync::Hello> hello(const sync::Hello& mine) override { return inner_.hello(mine); }
  Status pull(const VersionVector& since, ChunkSink& sink) override {
    CountingSink counting(sink, pulled, faults_);
    return inner_.pull(since, counting);
  }
  Result<std::unique_ptr<ChunkSink>> push() override {
    auto sink = inner_.push();
    if (!sink) return sink.status();
    pushSink_ = std::move(*sink);
    return std::unique_ptr<ChunkSink>(std::make_unique<CountingSink>(*pushSink_, pushed, noFaults_));
  }
  Result<sync::Goodbye> acknowledge(const sync::Goodbye& mine) override { return inner_.acknowledge(mine); }

  std::vector<std::size_t> pulled, pushed;

 private:
  InProcessLink inner_;
  Faults faults_, noFaults_;
  std::unique_ptr<ChunkSink> pushSink_;
};

TEST_CASE("an in-process session moves transactions both ways in chunks of the bound and converges",
          "[sync][link]") {
  Cluster c(test::clusterOptions(2));
  insertRows(c[1], 1, 2000, "peer");
  insertRows(c[0], 100000, 300, "here");
  execOk(c[1], "INSERT INTO t VALUES (-1, 'big', ?1)", {test::Txt(std::string(20000, 's'))});
  constexpr std::size_t kChunk = 4096;
  FaultyLink link(c[1], kChunk, {});
  auto summary = sync::runSession(c[0], link, {kChunk, {}});
  REQUIRE_OK(summary);
  CHECK(summary->received.applied == 2001);
  CHECK(summary->sent.transactions == 300);
  CHECK(link.pulled.size() > 20);
  CHECK(link.pushed.size() > 2);
  for (auto sizes : {link.pulled, link.pushed})
    CHECK(*std::max_element(sizes.begin(), sizes.end()) <= kChunk);  // the big one travels in pieces
  CHECK(c[0].vector().value() == c[1].vector().value());
  CHECK(tableContents(c[0], "t") == tableContents(c[1], "t"));
  // Acknowledgements went both ways: each knows what the other holds.
  for (auto [site, peer] : {std::pair{&c[0], &c[1]}, std::pair{&c[1], &c[0]}}) {
    auto acks = site->replication().acknowledgements();
    REQUIRE_OK(acks);
    bool known = false;
    for (const auto& [id, vector] : *acks)
      if (id == peer->id()) known = vector == peer->vector().value();
    CHECK(known);
  }
}

TEST_CASE("a link cut mid-pull keeps the chunks that arrived and the next session resumes without duplicates",
          "[sync][link]") {
  Cluster c(test::clusterOptions(2));
  insertRows(c[1], 1, 1000, "peer");
  FaultyLink cut(c[1], 2048, Faults{5});
  auto failed = sync::runSession(c[0], cut, {2048, {}});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message() == "link cut");
  std::int64_t kept = queryInt(c[0], "SELECT count(*) FROM t");
  CHECK(kept > 0);
  CHECK(kept < 1000);
  InProcessLink again(c[1], 2048);
  auto resumed = sync::runSession(c[0], again, {2048, {}});
  REQUIRE_OK(resumed);
  CHECK(resumed->received.applied == static_cast<std::uint64_t>(1000 - kept));
  CHECK(resumed->received.duplicates == 0);
  CHECK(tableContents(c[0], "t") == tableContents(c[1], "t"));
}

TEST_CASE("a stream that ends inside a transaction is one line and applies nothing of it", "[sync][link]") {
  Cluster c(test::clusterOptions(2));
  insertRows(c[1], 1, 3, "peer");
  FaultyLink broken(c[1], 1 << 20, Faults{SIZE_MAX, true});
  auto r = sync::runSession(c[0], broken, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kCorruption);
  CHECK(r.status().message().find('\n') == std::string::npos);
  CHECK(queryInt(c[0], "SELECT count(*) FROM t") == 3);  // the whole transactions before it stay
}

// Regression: the refusal named the difference of two unrelated schemas after the cluster.
TEST_CASE("a site of another cluster with another schema is refused for the cluster alone, in one line",
          "[sync][link]") {
  Cluster a(test::clusterOptions(1));
  test::Stranger made(a.options().resolvers);
  Site& stranger = *made;
  execOk(stranger, "CREATE TABLE u(id INTEGER PRIMARY KEY, c)");
  REQUIRE_OK(stranger.track("u"));
  insertRows(a[0], 1, 2, "a");
  auto r = syncSites(a[0], stranger);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().toString());
  CHECK(r.status().message().find("another cluster") != std::string::npos);
  CHECK(r.status().message().find("has no") == std::string::npos);
  CHECK(r.status().message().find('\n') == std::string::npos);
  CHECK(stranger.vector().value().empty());
}

}  // namespace
}  // namespace parley
