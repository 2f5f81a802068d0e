// A change-set file is a link like the others (parley/sync/file_link.hpp): runSession over a
// FileLink reads the exporter's hello from the header, pulls the file's chunks and takes the
// exporter's goodbye, one way. Oracles: the importer ends as an in-process sync with the
// exporter leaves it; the session's own hello checks refuse what they refuse over any link;
// and with the import's sink (importOptions) a file corrupt half way changes nothing, where
// the session's default sink keeps the chunks that arrived whole (so the test can tell).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fuzz/changeset_frames.hpp"
#include "parley/replication.hpp"
#include "parley/site.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/file_link.hpp"
#include "parley/sync/in_process.hpp"
#include "support/files.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::execOk;
using test::TempDir;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

sync::SessionOptions oneWay() {
  sync::SessionOptions o;
  o.push = false;
  return o;
}

// What an import could change: the vector, the log, the rows, the peers it knows of.
struct Seen {
  VersionVector vector;
  std::int64_t logRows = 0;
  std::vector<Row> rows;
  std::int64_t peers = 0;
  friend bool operator==(const Seen&, const Seen&) = default;
};

Seen seen(Site& site) {
  return {site.vector().value(), test::queryInt(site, "SELECT count(*) FROM parley_log"),
          test::tableContents(site, "t"), static_cast<std::int64_t>(site.replication().peers().value().size())};
}

// Three transactions of 600 KiB: the file's first chunk completes the first of them, its
// second chunk the second.
std::string threeChunkFile(Cluster& c, const TempDir& dir) {
  std::string blob(600 * 1024, '\x5a');
  for (int i = 1; i <= 3; ++i)
    execOk(c[0], "INSERT INTO t VALUES (?1, ?2, 1)", {test::Int(i), test::Bytes(blob)});
  std::string path = dir.file("three.pcs");
  REQUIRE_OK(sync::exportChanges(c[0], path, c[1].vector().value()));
  return path;
}

// `file` with one byte of its second chunk flipped (its checksum then fails).
std::string secondChunkFlipped(const std::string& file) {
  std::size_t first = 12 + 4 + test::loadU32(file, 12) + 4;
  std::size_t second = first + 4 + test::loadU32(file, first) + 4;
  REQUIRE(test::loadU32(file, second) != 0);
  std::string out = file;
  out[second + 4 + 100] = static_cast<char>(out[second + 4 + 100] ^ 0x40);
  return out;
}

}  // namespace

TEST_CASE("runSession over a FileLink applies an exported file as an in-process sync would", "[sync][file][link]") {
  TempDir dir;
  Cluster c(test::clusterOptions(3));
  execOk(c[0], "INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2)");
  execOk(c[0], "UPDATE t SET a = 'uno' WHERE id = 1");
  execOk(c[1], "INSERT INTO t VALUES (3, 'three', 3)");
  std::string path = dir.file("a.pcs");
  REQUIRE_OK(sync::exportChanges(c[0], path, c[1].vector().value()));
  test::transfer(c[1], c[2]);  // c[2] holds what c[1] holds before the file

  sync::FileLink link(path);
  auto r = sync::runSession(c[1], link, oneWay());
  REQUIRE_OK(r);
  CHECK(r->peer.site == c[0].id());
  CHECK(r->peer.vector == c[0].vector().value());
  CHECK(r->received.applied == 2);
  CHECK(r->sent.transactions == 0);
  CHECK(link.info().transactions == 2);
  // The oracle: c[0]'s transactions through an in-process session.
  REQUIRE_OK(sync::syncInProcess(c[2], c[0]));
  CHECK(test::tableContents(c[1], "t") == test::tableContents(c[2], "t"));

  SECTION("a file is pulled again from its start, and a second session brings nothing new") {
    sync::FileLink again(path);
    auto twice = sync::runSession(c[1], again, oneWay());
    REQUIRE_OK(twice);
    CHECK(twice->received.applied == 0);
    CHECK(twice->received.duplicates == 2);
  }
  SECTION("a session that would push to a file is refused after the pull") {
    sync::FileLink both(path);
    auto pushed = sync::runSession(c[1], both);
    CHECK(pushed.status().code() == Status::Code::kUnsupported);
    CHECK(contains(pushed.status().message(), "takes nothing"));
  }
}

TEST_CASE("a session over a FileLink refuses a site's own file unless told it may read it back", "[sync][file][link]") {
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'one', 1)");
  std::string path = dir.file("own.pcs");
  REQUIRE_OK(sync::exportChanges(c[0], path, {}));

  sync::FileLink link(path);
  auto refused = sync::runSession(c[0], link, oneWay());
  CHECK(refused.status().code() == Status::Code::kDiverged);
  CHECK(contains(refused.status().message(), "same site id"));

  auto options = oneWay();
  options.sameSite = true;
  options.noteEmpty = false;
  sync::FileLink back(path);
  auto r = sync::runSession(c[0], back, options);
  REQUIRE_OK(r);
  CHECK(r->received.applied == 0);
  CHECK(r->received.duplicates == 1);
}

TEST_CASE("the session's hello checks refuse a file of another schema before anything is read from its chunks",
          "[sync][file][link]") {
  TempDir dir;
  Cluster c(test::clusterOptions(1));
  test::ClusterOptions other;
  other.schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, extra);";
  other.idBytes = {9};
  Cluster them(test::clusterOptions(1, other));
  execOk(them[0], "INSERT INTO t(id, a) VALUES (1, 'theirs')");
  std::string path = dir.file("theirs.pcs");
  REQUIRE_OK(sync::exportChanges(them[0], path, {}));
  Seen before = seen(c[0]);

  sync::FileLink link(path);
  auto r = sync::runSession(c[0], link, sync::importOptions(link));
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(contains(r.status().message(), "different schema"));
  CHECK(link.bytesRead() == 0);  // no pull was made
  CHECK(seen(c[0]) == before);
}

TEST_CASE("a file corrupt in its second chunk changes nothing through runSession with the import's sink",
          "[sync][file][link][corruption]") {
  TempDir dir;
  Cluster c(test::clusterOptions(2));
  std::string path = threeChunkFile(c, dir);
  std::string bad = dir.file("bad.pcs");
  test::writeFile(bad, secondChunkFlipped(test::readFile(path)));
  Seen before = seen(c[1]);

  SECTION("the import's sink: all or nothing") {
    sync::FileLink link(bad);
    auto r = sync::runSession(c[1], link, sync::importOptions(link));
    CHECK(r.status().code() == Status::Code::kCorruption);
    CHECK(contains(r.status().message(), "chunk checksum mismatch"));
    CHECK(link.bytesRead() > 0);  // the first chunk was read, and handed to the sink
    CHECK(seen(c[1]) == before);
    // The intact file then applies whole.
    sync::FileLink good(path);
    auto ok = sync::runSession(c[1], good, sync::importOptions(good));
    REQUIRE_OK(ok);
    CHECK(ok->received.applied == 3);
  }
  SECTION("the session's default sink: the first chunk's transaction stays, each chunk commits") {
    sync::FileLink link(bad);
    auto r = sync::runSession(c[1], link, oneWay());
    CHECK(r.status().code() == Status::Code::kCorruption);
    CHECK(c[1].vector().value().get(c[0].id()) == 1);
    CHECK_FALSE(seen(c[1]) == before);
  }
}

}  // namespace parley

namespace parley {

TEST_CASE("a file over the atomic size is checked whole, then applied chunk by chunk, through runSession",
          "[sync][file][link]") {
  // importOptions(link, {}, 0): every file is "large", so the path of files over 64 MiB runs
  // on small ones.
  TempDir dir;
  Cluster c(test::clusterOptions(3));
  std::string path = threeChunkFile(c, dir);
  Seen before = seen(c[1]);

  SECTION("an intact file applies, as the in-process session would") {
    std::vector<sync::TransferProgress> told;
    sync::FileLink link(path);
    auto r = sync::runSession(c[1], link,
                              sync::importOptions(link, [&](const sync::TransferProgress& p) { told.push_back(p); }, 0));
    REQUIRE_OK(r);
    CHECK(r->received.applied == 3);
    REQUIRE_OK(sync::syncInProcess(c[2], c[0]));
    CHECK(test::tableContents(c[1], "t") == test::tableContents(c[2], "t"));
    // Checked first, then received: the phases come in that order and both reach 3.
    REQUIRE_FALSE(told.empty());
    CHECK(told.front().phase == sync::TransferProgress::Phase::kVerifying);
    CHECK(told.back().phase == sync::TransferProgress::Phase::kReceiving);
    CHECK(told.back().transactions == 3);
  }
  SECTION("a corrupt second chunk is found before the first is applied") {
    std::string file = test::readFile(path);
    std::string bad = dir.file("bad.pcs");
    test::writeFile(bad, secondChunkFlipped(file));
    sync::FileLink link(bad);
    auto r = sync::runSession(c[1], link, sync::importOptions(link, {}, 0));
    CHECK(r.status().code() == Status::Code::kCorruption);
    CHECK(seen(c[1]) == before);
  }
  SECTION("a transaction the site is not ready for is refused before anything is applied") {
    std::string gap = dir.file("gap.pcs");
    execOk(c[0], "INSERT INTO t VALUES (10, 'later', 1)");
    // From after the first of the three: the site lacks it, so the second is not ready.
    VersionVector one;
    one.advance(Dot{c[0].id(), 1});
    REQUIRE_OK(sync::exportChanges(c[0], gap, one));
    sync::FileLink link(gap);
    auto r = sync::runSession(c[1], link, sync::importOptions(link, {}, 0));
    CHECK(r.status().code() == Status::Code::kNotReady);
    CHECK(contains(r.status().message(), Dot{c[0].id(), 2}.toString()));
    CHECK(seen(c[1]) == before);
  }
}

}  // namespace parley
