// The crash tests' cluster: two sites of one cluster (origins 1 and 2, bank_workload.hpp) in a
// directory, set up once and copied per kill point, and the checks run on what a kill left.
// Test support: its checks fail the current Catch2 test, saying what broke.
#pragma once

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "bank_workload.hpp"
#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/sync/in_process.hpp"

namespace parley::crash {

namespace fs = std::filesystem;

constexpr int kOriginA = 1, kOriginB = 2;

#define CRASH_REQUIRE_OK(expr)                    \
  do {                                            \
    const ::parley::Status crash_s_ = (expr);     \
    INFO(#expr << " -> " << crash_s_.toString()); \
    REQUIRE(crash_s_.isOk());                     \
  } while (false)

template <class T>
T take(Result<T> r) {
  INFO(r.status().toString());
  REQUIRE(r.ok());
  return std::move(*r);
}

class Cluster {
 public:
  explicit Cluster(fs::path dir) : dir_(std::move(dir)) {}

  fs::path path(const std::string& name) const { return dir_ / name; }
  const fs::path& dir() const { return dir_; }
  std::unique_ptr<Site> open(const std::string& name) {
    return take(Site::open(path(name).string(), options()));
  }

  // Creates a.db (the bank) and b.db (its clone), then runs `aTxns` and `bTxns` on each.
  void create(std::int64_t aTxns, std::int64_t bTxns) {
    fs::create_directories(dir_);
    RandomIdSource ids;
    auto a = take(Site::create(path("a.db").string(), {"a", &ids, {}}, options()));
    CRASH_REQUIRE_OK(createBankSchema(*a));
    auto b = take(a->clone(path("b.db").string(), {"b", &ids, {}}, options()));
    idA_ = a->id();
    idB_ = b->id();
    baseA_ = a->vector().value().get(idA_);
    for (std::int64_t t = 0; t < aTxns; ++t) CRASH_REQUIRE_OK(runBankTxn(*a, kOriginA, t));
    for (std::int64_t t = 0; t < bTxns; ++t) CRASH_REQUIRE_OK(runBankTxn(*b, kOriginB, t));
  }

  // A copy of this cluster's files in `dir` (sites closed).
  Cluster copyTo(const fs::path& dir) const {
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.is_regular_file()) fs::copy_file(entry.path(), dir / entry.path().filename());
    Cluster copy(dir);
    copy.idA_ = idA_;
    copy.idB_ = idB_;
    copy.baseA_ = baseA_;
    return copy;
  }

  // The checks after a kill, for one site: integrity, reopen, invariants, vector agreement.
  BankState checkAfterCrash(const std::string& name) {
    CRASH_REQUIRE_OK(integrityCheck(path(name)));
    auto site = open(name);
    BankState state = take(readBankState(*site));
    CRASH_REQUIRE_OK(checkVector(*site, idA_, baseA_, state.held[kOriginA]));
    CRASH_REQUIRE_OK(checkVector(*site, idB_, 0, state.held[kOriginB]));
    return state;
  }

  // The site works: a new write (the next transaction of `origin`) commits.
  void writeNext(const std::string& name, int origin) {
    auto site = open(name);
    BankState state = take(readBankState(*site));
    CRASH_REQUIRE_OK(runBankTxn(*site, origin, state.held[origin]));
  }

  // Both sites hold the same transactions and the same user tables.
  void requireConverged() {
    auto a = open("a.db"), b = open("b.db");
    INFO("a: " << a->vector().value().toString() << "  b: " << b->vector().value().toString());
    REQUIRE(a->vector().value() == b->vector().value());
    REQUIRE(take(dumpBank(*a)) == take(dumpBank(*b)));
    REQUIRE(take(readBankState(*a)).held == take(readBankState(*b)).held);
  }

  void syncInProcess() {
    auto a = open("a.db"), b = open("b.db");
    take(syncSites(*a, *b));
  }

  // What `observer` records that `name` acknowledged must be held by `name`.
  void requireAcknowledgedHeld(const std::string& observer, const std::string& name) {
    auto o = open(observer), s = open(name);
    for (const auto& [id, vector] : take(o->replication().acknowledgements()))
      if (id == s->id()) {
        INFO(observer << " records " << name << " acknowledged " << vector.toString() << "; "
                      << name << " holds " << s->vector().value().toString());
        REQUIRE(vector.leq(s->vector().value()));
      }
  }

  static Status integrityCheck(const fs::path& file) {
    sqlite3* db = nullptr;
    std::string result;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
          result += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      }
      sqlite3_finalize(st);
    }
    if (result.empty()) result = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return result == "ok" ? Status()
                          : Status::corruption(
                                fmt::format("integrity_check of {}: {}", file.string(), result));
  }

 private:
  fs::path dir_;
  SiteOptions options() { return {&clock_, resolvers::standard()}; }
  SystemClock clock_;
  SiteId idA_, idB_;
  std::uint64_t baseA_ = 0;
};

// A fresh directory for a test's files.
inline fs::path scratch(const std::string& name) {
  auto dir = fs::temp_directory_path() / fmt::format("parley-crash-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  return dir;
}

}  // namespace parley::crash
