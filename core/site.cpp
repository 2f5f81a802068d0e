#include "parley/site.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "admission.hpp"
#include "codec.hpp"
#include "conflict_log.hpp"
#include "finality.hpp"
#include "column_ids.hpp"
#include "site_impl.hpp"
#include "parley/txn_codec.hpp"

namespace parley {
namespace {

Status checkOptions(const SiteOptions& o) {
  if (!o.clock) return Status::invalidArgument("site options: a clock is required");
  if (!o.resolvers) return Status::invalidArgument("site options: a resolver provider is required");
  if (o.cacheKiB == 0) return Status::invalidArgument("site options: the page cache needs at least 1 KiB");
  return Status::ok();
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}


}  // namespace

bool isMemory(const std::string& path) { return path == ":memory:" || path.starts_with("file::memory:"); }


Result<std::unique_ptr<Site>> Site::create(const std::string& path, const CreateOptions& create,
                                           SiteOptions options) {
  if (auto st = checkOptions(options); !st) return st;
  if (!create.ids) return Status::invalidArgument("create: an id source is required");
  return guarded([&]() -> Result<std::unique_ptr<Site>> {
    auto impl = std::make_unique<Impl>(path, options);
    if (catalog::isSite(impl->state.db))
      return Status::invalidArgument(fmt::format("{} is already a parley site", path));
    // Before anything is written (WAL mode included): compact() then gives freed pages back.
    impl->state.db.exec("PRAGMA auto_vacuum = INCREMENTAL");
    impl->configure(path, options.cacheKiB);
    impl->state.db.exec("BEGIN IMMEDIATE");
    catalog::createSchema(impl->state.db);
    SiteId id = create.ids->newId();
    SiteId cluster = create.clusterId ? *create.clusterId : create.ids->newId();
    catalog::setMeta(impl->state.db, "format", std::to_string(kFormatVersion));
    catalog::setMetaId(impl->state.db, "site_id", id);
    catalog::setMetaId(impl->state.db, "cluster_id", cluster);
    catalog::setMeta(impl->state.db, "name", create.name);
    impl->state.sites.load(impl->state.db);
    impl->state.sites.indexOf(impl->state.db, id);
    impl->commitNow();
    impl->load();
    return std::unique_ptr<Site>(new Site(std::move(impl)));
  });
}

Result<std::unique_ptr<Site>> Site::open(const std::string& path, SiteOptions options) {
  if (auto st = checkOptions(options); !st) return st;
  if (!isMemory(path) && !fileExists(path)) return Status::notFound(fmt::format("{}: no such site file", path));
  auto opened = guarded([&]() -> Result<std::unique_ptr<Site>> {
    auto impl = std::make_unique<Impl>(path, options);
    if (!catalog::isSite(impl->state.db))
      return Status::invalidArgument(fmt::format("{} is not a parley site (create one with init)", path));
    impl->configure(path, options.cacheKiB);
    impl->load();
    return std::unique_ptr<Site>(new Site(std::move(impl)));
  });
  if (!opened && opened.status().message().find(path) == std::string::npos) return opened.status().withContext(path);
  return opened;
}

const SiteId& Site::id() const { return impl_->state.id; }
const SiteId& Site::clusterId() const { return impl_->state.cluster; }
const std::string& Site::name() const { return impl_->state.name; }

Status Site::track(std::string_view table, std::optional<TableConfig> config) {
  return track(table, std::move(config), false);
}

Status Site::trackEverywhere(std::string_view table, std::optional<TableConfig> config) {
  return track(table, std::move(config), true);
}

Status Site::track(std::string_view table, std::optional<TableConfig> config, bool replicate) {
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction())
      return Status::busy("a transaction is open on this site; commit or roll it back first").withContext("track");
    impl_->begin();
    try {
      impl_->track(table, config, replicate);
      impl_->commit();
    } catch (...) {
      impl_->rollbackQuietly();
      std::erase_if(impl_->state.tables, [&](const auto& t) { return t->name == table; });
      throw;
    }
    return Status::ok();
  });
}

Status Site::untrack(std::string_view table) {
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction())
      return Status::busy("a transaction is open on this site; commit or roll it back first").withContext("untrack");
    impl_->begin();
    try {
      impl_->untrack(table);
      impl_->commit();
    } catch (...) {
      impl_->rollbackQuietly();
      impl_->loadTables();
      throw;
    }
    // A lone site's untrack is final at once: settling forgets the table.
    impl_->asApplier([&] {
      finality::settle(impl_->state);
      return 0;
    });
    return Status::ok();
  });
}

std::vector<std::string> Site::trackedTables() const {
  std::vector<std::string> out;
  for (const auto& t : impl_->state.tables)
    if (!t->untracking()) out.push_back(t->name);
  return out;
}

Result<std::vector<std::string>> Site::columns(std::string_view table) const {
  const TableInfo* t = impl_->state.table(table);
  if (!t) return Status::notFound(fmt::format("table \"{}\" is not tracked", table));
  return t->columns;
}

Result<QueryResult> Site::exec(std::string_view sql) {
  return guarded([&]() -> Result<QueryResult> { return impl_->execAll(sql, nullptr); });
}

Result<QueryResult> Site::exec(std::string_view sql, const std::vector<Value>& params) {
  return guarded([&]() -> Result<QueryResult> { return impl_->execAll(sql, &params); });
}

Result<QueryResult> Site::execAtomically(std::string_view sql) {
  return guarded([&]() -> Result<QueryResult> { return impl_->execAtomically(sql); });
}

Result<VersionVector> Site::vector() const {
  return guarded([&]() -> Result<VersionVector> {
    impl_->refreshForRead();
    return impl_->state.vector;
  });
}
Clock& Site::clock() const { return impl_->state.clock; }

Status Site::configure(std::string_view table, const TableConfig& config) {
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction())
      return Status::busy("a transaction is open on this site; commit or roll it back first").withContext("configure");
    impl_->begin();
    try {
      impl_->requireGuards();
      impl_->configure(table, config);
      impl_->commit();
    } catch (...) {
      impl_->rollbackQuietly();
      throw;
    }
    return Status::ok();
  });
}

Result<TableConfig> Site::config(std::string_view table) const {
  const TableInfo* t = impl_->state.table(table);
  if (!t) return Status::notFound(fmt::format("table \"{}\" is not tracked", table));
  return t->config;
}

}  // namespace parley
