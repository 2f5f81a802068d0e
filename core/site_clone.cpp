// Site snapshots: backup, clone, and adopting a snapshot as a new site (pg_basebackup's role).
//
// A copy is written under a temporary name beside its destination ("<path>.part") and renamed
// into place only once whole (and, for a clone, adopted under its new id): a copy that fails
// half way leaves no file that blocks the retry, and never a file that looks like a site.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "parley/replication.hpp"
#include "finality.hpp"
#include "serve_report.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Pages copied per step when someone watches the progress (4 MB of 4 KiB pages).
constexpr int kPagesPerStep = 1024;

std::uint64_t pageSize(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  std::uint64_t size = 4096;
  if (sqlite3_prepare_v2(db, "PRAGMA main.page_size", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    size = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  return size;
}

void copyDatabase(sqlite3* from, const std::string& path, const Site::CopyProgress& progress) {
  std::uint64_t page = progress ? pageSize(from) : 0;
  sql::Db to(path);
  sqlite3_backup* b = sqlite3_backup_init(to.raw(), "main", from, "main");
  if (!b) throw Error(Status::ioError(fmt::format("backup to {}: {}", path, to.errmsg())));
  int rc = SQLITE_OK;
  if (!progress) rc = sqlite3_backup_step(b, -1);
  // Stepped, the copy reads one snapshot: a read transaction held across the steps, so that
  // other connections' commits meanwhile neither restart it nor make it inconsistent.
  bool reading = progress && sqlite3_exec(from, "BEGIN; SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (progress && !reading && !sqlite3_get_autocommit(from)) sqlite3_exec(from, "ROLLBACK", nullptr, nullptr, nullptr);
  while (progress && (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)) {
    if (rc != SQLITE_OK) sqlite3_sleep(10);  // another connection holds a lock: try again
    rc = sqlite3_backup_step(b, kPagesPerStep);
    auto total = static_cast<std::uint64_t>(sqlite3_backup_pagecount(b));
    auto left = static_cast<std::uint64_t>(sqlite3_backup_remaining(b));
    progress((total - left) * page, total * page);
  }
  if (reading) sqlite3_exec(from, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) throw Error(Status::ioError(fmt::format("backup to {}: {}", path, to.errmsg())));
}

std::string snapshotPart(const std::string& path) { return path + ".part"; }

void removeSnapshot(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

Status moveSnapshotIntoPlace(const std::string& part, const std::string& path) {
  if (exists(path)) {
    removeSnapshot(part);
    return Status::invalidArgument(fmt::format("{} already exists", path));
  }
  if (std::rename(part.c_str(), path.c_str()) != 0) {
    Status st = Status::ioError(fmt::format("cannot rename {} to {}: {}", part, path, std::strerror(errno)));
    removeSnapshot(part);
    return st;
  }
  return Status::ok();
}

}  // namespace

Status Site::backup(const std::string& path, const CopyProgress& progress) {
  if (isMemory(path)) return Status::invalidArgument("the destination must be a file").withContext("backup");
  if (exists(path)) return Status::invalidArgument(fmt::format("{} already exists", path)).withContext("backup");
  std::string part = snapshotPart(path);
  Status copied = guarded([&]() -> Status {
    if (impl_->state.db.inTransaction())
      return Status::busy("a transaction is open on this site; commit or roll it back first").withContext("backup");
    removeSnapshot(part);  // left by a run that was killed
    copyDatabase(impl_->state.db.raw(), part, progress);
    return Status::ok();
  });
  if (!copied) {
    removeSnapshot(part);
    return copied;
  }
  return moveSnapshotIntoPlace(part, path);
}

Result<std::unique_ptr<Site>> Site::clone(const std::string& path, const CreateOptions& create, SiteOptions options,
                                          const CopyProgress& progress) {
  if (isMemory(path)) return Status::invalidArgument("the destination must be a file").withContext("clone");
  if (exists(path)) return Status::invalidArgument(fmt::format("{} already exists", path)).withContext("clone");
  std::string part = snapshotPart(path);
  removeSnapshot(part);  // left by a run that was killed
  if (auto st = backup(part, progress); !st) return st;
  SiteId newId;
  {
    auto adopted = adoptSnapshot(part, create, options);
    if (!adopted) {
      removeSnapshot(part);
      return adopted.status();
    }
    newId = (*adopted)->id();
  }  // closed: only a whole, adopted site is renamed into place
  if (auto st = moveSnapshotIntoPlace(part, path); !st) return st;
  auto held = vector();
  if (!held) return held.status();
  if (auto st = replication().acknowledge(newId, *held); !st) return st;
  return open(path, options);
}

Result<std::unique_ptr<Site>> Site::adoptSnapshot(const std::string& path, const CreateOptions& create,
                                                  SiteOptions options) {
  if (!create.ids) return Status::invalidArgument("an id source is required").withContext("clone");
  auto opened = open(path, options);
  if (!opened) return opened.status();
  return guarded([&]() -> Result<std::unique_ptr<Site>> {
    auto& impl = *(*opened)->impl_;
    SiteId source = impl.state.id;
    SiteId id = create.ids->newId();
    impl.asApplier([&] {
      catalog::setMetaId(impl.state.db, "site_id", id);
      catalog::setMeta(impl.state.db, "name", create.name);
      impl.state.id = id;
      impl.state.name = create.name;
      impl.state.sites.indexOf(impl.state.db, id);
      finality::acknowledge(impl.state, source, impl.state.vector);
      serve_report::clear(impl.state);  // the source's serve is not this site's
      return 0;
    });
    return std::move(*opened);
  });
}

}  // namespace parley
