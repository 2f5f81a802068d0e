// Site snapshots: backup, clone, and adopting a snapshot as a new site (pg_basebackup's role).
#include <sys/stat.h>

#include <fmt/format.h>

#include "finality.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void copyDatabase(sqlite3* from, const std::string& path) {
  sql::Db to(path);
  sqlite3_backup* b = sqlite3_backup_init(to.raw(), "main", from, "main");
  if (!b) throw Error(Status::ioError(fmt::format("backup to {}: {}", path, to.errmsg())));
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) throw Error(Status::ioError(fmt::format("backup to {}: {}", path, to.errmsg())));
}

}  // namespace

Status Site::backup(const std::string& path) {
  if (isMemory(path)) return Status::invalidArgument("backup: the destination must be a file");
  if (exists(path)) return Status::invalidArgument(fmt::format("backup: {} already exists", path));
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction())
      return Status::busy("backup: a transaction is open on this site; commit or roll it back first");
    copyDatabase(impl_->state.db.raw(), path);
    return Status::ok();
  });
}

Result<std::unique_ptr<Site>> Site::clone(const std::string& path, const CreateOptions& create, SiteOptions options) {
  if (auto st = backup(path); !st) return st;
  auto cloned = adoptSnapshot(path, create, options);
  if (!cloned) {
    std::remove(path.c_str());
    return cloned.status();
  }
  if (auto st = acknowledge((*cloned)->id(), vector()); !st) return st;
  return cloned;
}

Result<std::unique_ptr<Site>> Site::adoptSnapshot(const std::string& path, const CreateOptions& create,
                                                  SiteOptions options) {
  if (!create.ids) return Status::invalidArgument("clone: an id source is required");
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
      return 0;
    });
    return std::move(*opened);
  });
}

}  // namespace parley
