// Regression: a site's commits left a cached statement mid-read, so the connection stayed in a
// read transaction after every COMMIT and SQLite's automatic checkpoint (which gives up on a
// connection in a transaction) never ran: the WAL of a long-running process grew without bound
// and checkpoints, where the crash tests want kill points too, happened only at close.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "bank_workload.hpp"
#include "parley/resolvers/registry.hpp"

namespace parley::crash {
namespace {

namespace fs = std::filesystem;

// Frames in a WAL file (32-byte header, then 24-byte frame headers and 4 KiB pages).
std::uintmax_t walFrames(const fs::path& db) {
  fs::path wal = db.string() + "-wal";
  return fs::exists(wal) ? (fs::file_size(wal) - 32) / (24 + 4096) : 0;
}

}  // namespace

TEST_CASE("commits let SQLite checkpoint the WAL, so it stays bounded while a site stays open",
          "[crash][checkpoint]") {
  fs::path dir = fs::temp_directory_path() / fmt::format("parley-checkpoint-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path db = dir / "a.db";
  SystemClock clock;
  RandomIdSource ids;
  auto site = Site::create(db.string(), {"a", &ids, {}}, {&clock, resolvers::standard()});
  REQUIRE(site.ok());
  REQUIRE(createBankSchema(**site).isOk());
  constexpr std::uintmax_t kBound = 1000 + 100;  // the autocheckpoint threshold, plus one commit
  for (std::int64_t t = 0; t < 300; ++t)
    REQUIRE(runBankTxn(**site, 1, t).isOk());  // BEGIN ... COMMIT
  INFO("after explicit transactions: " << walFrames(db) << " frames");
  CHECK(walFrames(db) <= kBound);
  for (int i = 0; i < 600; ++i)  // each statement its own transaction
    REQUIRE(
        (*site)
            ->exec(fmt::format("UPDATE entries SET note = 'n{}' WHERE id = {}", i, 100'000'000 + i))
            .ok());
  INFO("after single statements: " << walFrames(db) << " frames");
  CHECK(walFrames(db) <= kBound);
  site = Status::ioError("closed");
  fs::remove_all(dir);
}

}  // namespace parley::crash
