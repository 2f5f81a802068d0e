// Property: any byte string given to import either applies a valid change set or is refused
// with the importer's database file byte-identical.
//
// Inputs: arbitrary byte strings, and real change sets mutated (bit flips, byte inserts and
// deletes, truncation, chunks spliced in from elsewhere or repeated, header and frame fields
// edited), most of them with their checksums rewritten afterwards (changeset_frames.hpp) so
// the header, chunk, transaction and semantic checks are reached, not only the CRCs.
//
// Oracle for an accepted input: if the importer then holds the same log as after a clean import
// of the unmutated file, its tables are the clean import's; otherwise the mutation made another
// valid change set, and the importer's tables must be exactly what replaying its own log at a
// fresh site gives. Oracle for a refusal: one line, and the database file, compared after the
// site is closed (so the WAL is checkpointed away), is the bytes it was before the import.
//
// Default: 200 cases (a second or two). PARLEY_PROPERTY_CASES=N runs N; every failure prints its
// seed and case, and PARLEY_PROPERTY_SEED=S replays a run.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fuzz/changeset_frames.hpp"
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

namespace fs = std::filesystem;
using testing::Cluster;
using test::ClusterOptions;
using test::execOk;
using test::TempDir;

using test::readFile;
using test::writeFile;

std::uint64_t envNumber(const char* name, std::uint64_t otherwise) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : otherwise;
}

// The fuzz schema's sites (fuzz_schema.hpp): the importer's configuration matches the files'.
ClusterOptions fuzzOptions() {
  ClusterOptions o;
  o.schema = fuzz::kSchema;
  o.tracked = {};
  return o;
}

void trackFuzzTables(Site& site) {
  for (const auto& [table, config] : fuzz::kTables) {
    std::optional<TableConfig> parsed;
    if (!config.empty()) parsed = *TableConfig::parse(config);
    REQUIRE_OK(site.track(table, parsed));
  }
}

// Two valid change sets from a cluster of two origins: every kind of write, merges, deletes.
struct Sources {
  std::string full, partial;
};

Sources makeSources(const TempDir& dir) {
  Cluster c(test::clusterOptions(2, fuzzOptions()));
  for (std::size_t i = 0; i < 2; ++i) trackFuzzTables(c[i]);
  execOk(c[0], "INSERT INTO t VALUES (1, 'one', X'0102'), (2, 2.5, NULL)");
  execOk(c[0], "BEGIN; INSERT INTO u VALUES ('k', 1, 10, 'n'), ('k', 2, 5, X''); UPDATE t SET a = 'uno' WHERE id = 1; COMMIT");
  VersionVector first = c[0].vector().value();
  c.clock(1).advance(3);
  execOk(c[1], "INSERT INTO t VALUES (1, 'b', 2); INSERT INTO u VALUES ('z', 9, 1, NULL)");
  c.deliver(0, 1);
  execOk(c[1], "UPDATE u SET qty = qty - 3 WHERE k = 'k'; DELETE FROM t WHERE id = 2");
  auto exported = sync::exportChanges(c[1], dir.file("full.parley"), {});
  REQUIRE_OK(exported);
  exported = sync::exportChanges(c[1], dir.file("partial.parley"), first);
  REQUIRE_OK(exported);
  return {readFile(dir.file("full.parley")), readFile(dir.file("partial.parley"))};
}

// The importer: a file-backed site of the same cluster holding a write of its own. Built once
// and closed; each case starts from a copy of its file.
struct Importer {
  ManualClock clock{1'700'000'000'000ULL};
  test::FixedIdSource ids{test::testSiteId(fuzz::kImporterByte)};

  std::unique_ptr<Site> open(const std::string& path) {
    auto site = Site::open(path, SiteOptions{&clock, resolvers::lwwEverywhere()});
    REQUIRE_OK(site);
    return std::move(site).value();
  }
  void create(const std::string& path) {
    auto site = Site::create(path, CreateOptions{"importer", &ids, test::testClusterId()},
                             SiteOptions{&clock, resolvers::lwwEverywhere()});
    REQUIRE_OK(site);
    execOk(**site, fuzz::kSchema);
    trackFuzzTables(**site);
    execOk(**site, "INSERT INTO t VALUES (100, 'own', 1)");
  }
};

struct Contents {
  std::vector<Row> t, u;
  std::vector<std::string> log;
  friend bool operator==(const Contents&, const Contents&) = default;
};

Contents contentsOf(Site& site) {
  Contents c{test::tableContents(site, "t"), test::tableContents(site, "u"), {}};
  for (const auto& txn : test::allTransactions(site)) c.log.push_back(encodeTransaction(txn));
  std::sort(c.log.begin(), c.log.end());
  return c;
}

// The tables a fresh site gets from applying, in one go, the transactions `site` holds.
Contents replayed(Site& site, Importer& importer, const TempDir& dir) {
  std::string path = dir.file("replay.db");
  fs::remove(path);
  test::FixedIdSource ids(test::testSiteId(0x70));
  auto fresh = Site::create(path, CreateOptions{"replay", &ids, test::testClusterId()},
                            SiteOptions{&importer.clock, resolvers::lwwEverywhere()});
  REQUIRE_OK(fresh);
  execOk(**fresh, fuzz::kSchema);
  trackFuzzTables(**fresh);
  auto all = test::allTransactions(site);
  REQUIRE_OK((*fresh)->replication().apply(all));
  return contentsOf(**fresh);
}

// One mutation of `file`, chosen by `rng`; `other` is a second valid file to splice from.
std::string mutate(std::string file, const std::string& other, std::mt19937_64& rng, std::string& what) {
  auto below = [&](std::size_t n) { return n == 0 ? std::size_t{0} : static_cast<std::size_t>(rng() % n); };
  auto byte = [&] { return static_cast<char>(rng() & 0xff); };
  switch (rng() % 9) {
    case 0: {
      int flips = 1 + static_cast<int>(below(3));
      for (int i = 0; i < flips && !file.empty(); ++i) file[below(file.size())] ^= static_cast<char>(1u << below(8));
      what = "bit flips";
      break;
    }
    case 1:
      file.insert(file.begin() + static_cast<std::ptrdiff_t>(below(file.size() + 1)), byte());
      what = "byte inserted";
      break;
    case 2:
      if (!file.empty()) file.erase(below(file.size()), 1);
      what = "byte deleted";
      break;
    case 3:
      file.resize(below(file.size()));
      what = "truncated";
      break;
    case 4: {  // a run of the file repeated elsewhere in it
      std::size_t from = below(file.size()), len = 1 + below(64);
      std::string run = file.substr(from, len);
      file.insert(below(file.size() + 1), run);
      what = "run duplicated";
      break;
    }
    case 5: {  // a run of the other file written over this one's
      std::size_t from = below(other.size()), len = 1 + below(128), to = below(file.size());
      std::string run = other.substr(from, len);
      file.replace(to, std::min(run.size(), file.size() - to), run);
      what = "spliced from another file";
      break;
    }
    case 6: {  // a header byte (cluster, origin, fingerprint, vectors, counts) changed
      if (file.size() < 16) break;
      std::size_t headerLength = std::min<std::size_t>(test::loadU32(file, 12), file.size() - 16);
      if (headerLength) file[16 + below(headerLength)] = byte();
      what = "header byte edited";
      break;
    }
    case 7: {  // a length or count field: version, header length, a frame length, the trailer
      std::size_t fields[] = {8, 12, file.size() >= 16 ? file.size() - 16 : 0, file.size() >= 12 ? file.size() - 12 : 0};
      std::size_t at = fields[below(4)];
      if (at + 4 <= file.size()) {
        std::uint32_t v = test::loadU32(file, at);
        std::uint32_t edits[] = {v + 1, v - 1, 0, 0xffffffffu, v * 2, static_cast<std::uint32_t>(rng())};
        test::storeU32(file, at, edits[below(6)]);
      }
      what = "length field edited";
      break;
    }
    default: {
      file.assign(below(300), '\0');
      for (auto& c : file) c = byte();
      if (rng() % 2) file = "PARLEYCS" + file;
      what = "random bytes";
    }
  }
  if (rng() % 4 != 0) {
    test::refreshChecksums(file);
    what += ", checksums rewritten";
  }
  return file;
}

}  // namespace

TEST_CASE("any bytes given to import apply a valid change set or are refused with the database byte-identical",
          "[sync][file][property]") {
  const std::uint64_t seed = envNumber("PARLEY_PROPERTY_SEED", std::random_device{}());
  const std::uint64_t cases = envNumber("PARLEY_PROPERTY_CASES", 200);
  INFO("seed " << seed << " (replay with PARLEY_PROPERTY_SEED=" << seed << ")");
  TempDir dir;
  Sources sources = makeSources(dir);
  Importer importer;
  const std::string templatePath = dir.file("template.db");
  importer.create(templatePath);
  const std::string templateBytes = readFile(templatePath);
  REQUIRE_FALSE(fs::exists(templatePath + "-wal"));

  const std::string casePath = dir.file("case.db"), input = dir.file("input.parley");
  auto freshCase = [&] {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(casePath + suffix);
    fs::copy_file(templatePath, casePath);
  };

  // The oracle: a clean import of the unmutated file.
  freshCase();
  writeFile(input, sources.full);
  Contents clean;
  {
    auto site = importer.open(casePath);
    REQUIRE_OK(sync::importChanges(*site, input));
    clean = contentsOf(*site);
  }
  // Opening and closing alone leaves the file as it was: the refusal check below can be exact.
  freshCase();
  importer.open(casePath).reset();
  REQUIRE(readFile(casePath) == templateBytes);

  std::mt19937_64 rng(seed);
  std::uint64_t refused = 0, sameAsClean = 0, otherValid = 0;
  for (std::uint64_t n = 0; n < cases; ++n) {
    std::string what;
    bool fromPartial = rng() % 4 == 0;
    std::string bytes = mutate(fromPartial ? sources.partial : sources.full,
                               fromPartial ? sources.full : sources.partial, rng, what);
    INFO("case " << n << ": " << what << ", " << bytes.size() << " bytes" << (fromPartial ? " (partial file)" : ""));
    freshCase();
    writeFile(input, bytes);
    auto site = importer.open(casePath);
    auto imported = sync::importChanges(*site, input);
    if (!imported) {
      ++refused;
      INFO(imported.status().toString());
      CHECK_FALSE(imported.status().message().empty());
      CHECK(imported.status().message().find('\n') == std::string::npos);
      site.reset();
      CHECK_FALSE(fs::exists(casePath + "-wal"));
      REQUIRE(readFile(casePath) == templateBytes);
      continue;
    }
    Contents got = contentsOf(*site);
    CHECK_OK(site->replication().changesSince({}));
    if (got == clean) {
      ++sameAsClean;
    } else if (got.log == clean.log) {
      FAIL_CHECK("the same transactions as a clean import, but other rows");
    } else {
      ++otherValid;
      Contents again = replayed(*site, importer, dir);
      INFO("imported:\n" << test::describe(got.t) << test::describe(got.u) << "replayed:\n"
                         << test::describe(again.t) << test::describe(again.u));
      CHECK(again.t == got.t);
      CHECK(again.u == got.u);
    }
    site.reset();
    CHECK_OK(Site::open(casePath, SiteOptions{&importer.clock, resolvers::lwwEverywhere()}));
  }
  INFO("refused " << refused << ", accepted as the clean set " << sameAsClean << ", accepted as another valid set "
                  << otherValid);
  CHECK(refused > cases / 2);
  WARN("import property: " << cases << " cases, refused " << refused << ", same as clean " << sameAsClean
                           << ", another valid set " << otherValid << " (seed " << seed << ")");
}

}  // namespace parley
