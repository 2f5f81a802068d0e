// Site's conflict log, decisions, acknowledgements, and the schema fingerprint.
#include "parley/replication.hpp"
#include "conflict_log.hpp"
#include "finality.hpp"
#include "schema_text.hpp"
#include "site_impl.hpp"

namespace parley {

Result<std::vector<ConflictReport>> Site::conflicts(std::optional<std::string> table) {
  return guarded([&]() -> Result<std::vector<ConflictReport>> { return conflict_log::list(impl_->state, table); });
}

Result<std::vector<ConflictReport>> Site::rejectedWrites() {
  return guarded([&]() -> Result<std::vector<ConflictReport>> {
    auto all = conflict_log::list(impl_->state, std::nullopt);
    std::erase_if(all, [&](const ConflictReport& c) {
      return c.outcome != ConflictOutcome::kRejected || c.remoteDot.site != impl_->state.id;
    });
    return all;
  });
}

Result<Decision> Site::decision(const Dot& dot) {
  return guarded([&]() -> Result<Decision> {
    auto d = store::decisionOf(impl_->state, dot);
    if (!d) return Status::notFound("transaction " + dot.toString() + " is not held here");
    return Decision{d->first, d->second};
  });
}

Status Replication::acknowledge(const SiteId& site, const VersionVector& vector) {
  return guarded([&]() -> Status {
    impl_->asApplier([&] {
      finality::acknowledge(impl_->state, site, vector);
      finality::settle(impl_->state);
      return 0;
    });
    return Status::ok();
  });
}

Status Replication::acknowledge(std::span<const std::pair<SiteId, VersionVector>> acks) {
  if (acks.empty()) return Status::ok();
  return guarded([&]() -> Status {
    impl_->asApplier([&] {
      for (const auto& [site, vector] : acks) finality::acknowledge(impl_->state, site, vector);
      finality::settle(impl_->state);
      return 0;
    });
    return Status::ok();
  });
}

Result<std::vector<std::pair<SiteId, VersionVector>>> Replication::acknowledgements() {
  return guarded([&]() -> Result<std::vector<std::pair<SiteId, VersionVector>>> {
    impl_->refreshForRead();
    return finality::acknowledgements(impl_->state);
  });
}

std::string schemaDifference(const std::vector<std::string>& mine, const std::vector<std::string>& theirs,
                             std::string_view myName, std::string_view theirName) {
  return schema_text::difference(mine, theirs, myName, theirName);
}

namespace {

// A name as the fingerprint text writes it: as it is when it holds none of the text's
// delimiters (the form every plain name always had), else SQL-quoted, so that different
// schemas (a column "a,b" against columns a and b) never write the same text.
std::string fingerprintName(const std::string& name) {
  if (!name.empty() && name.find_first_of("(),;:*\" \n") == std::string::npos) return name;
  return sql::quoteIdent(name);
}

std::string configKey(const SiteState& state) {
  std::string key;
  for (const auto& t : state.tables)
    key += sql::quoteIdent(t->name) + (t->trackedAt != Stamp{} ? "+" : ":") + t->config.toString() + ";";
  return key;
}

}  // namespace

std::vector<std::string> Site::Impl::describe(const TableInfo& t) {
  std::string label = fingerprintName(t.name);
  std::vector<std::string> lines = schema_text::describeTable(state.db, t.name, label);
  lines.push_back(label + ": resolvers " + t.config.toString());
  return lines;
}

void Site::Impl::recordShape(const TableInfo& t) {
  std::string text;
  for (const auto& line : describe(t)) text += (text.empty() ? "" : "\n") + line;
  catalog::setMeta(state.db, "shape:" + t.name, text);
}

std::optional<std::string> Site::Impl::shapeChangedOutside(const TableInfo& t) {
  auto recorded = catalog::metaText(state.db, "shape:" + t.name);
  if (!recorded) return std::nullopt;
  std::vector<std::string> mine;
  for (std::size_t from = 0; from < recorded->size();) {
    auto end = recorded->find('\n', from);
    mine.push_back(recorded->substr(from, end - from));
    from = end == std::string::npos ? recorded->size() : end + 1;
  }
  std::vector<std::string> now = describe(t);
  if (now == mine) return std::nullopt;
  return fmt::format(
      "tracked table \"{}\" was changed outside parley ({}); reads work, but writes and syncs are refused until the "
      "change is undone: put it back as it was (with the program that changed it), then make the change through "
      "parley (parley exec SITE \"ALTER TABLE ...\" or \"CREATE INDEX ...\"), which replicates it",
      t.name, schema_text::difference(mine, now, "parley's record", "the table"));
}

void Site::Impl::freezeBase(const TableInfo& t) {
  if (t.trackedAt != Stamp{} || catalog::metaText(state.db, "base:" + t.name)) return;
  std::string text;
  for (const auto& line : describe(t)) text += (text.empty() ? "" : "\n") + line;
  catalog::setMeta(state.db, "base:" + t.name, text);
}

const Site::Impl::SchemaCache& Site::Impl::schema() {
  auto& version = state.db.cached("PRAGMA schema_version");
  version.step();
  std::int64_t now = version.int64(0);
  version.reset();
  std::string key = configKey(state);
  if (schemaCache.version == now && schemaCache.configKey == key) return schemaCache;
  std::vector<const TableInfo*> tables;
  for (const auto& t : state.tables) tables.push_back(t.get());
  std::sort(tables.begin(), tables.end(), [](auto* x, auto* y) { return x->name < y->name; });
  std::vector<std::string> lines, current;
  for (const TableInfo* t : tables) {
    if (t->untracking()) continue;  // untracked here; its untrack is compared, not its shape
    for (auto& line : describe(*t)) current.push_back(std::move(line));
    if (t->trackedAt != Stamp{}) continue;  // replicated: its schema transactions are compared, not its shape
    if (auto frozen = catalog::metaText(state.db, "base:" + t->name)) {
      for (std::size_t from = 0; from < frozen->size();) {
        auto end = frozen->find('\n', from);
        lines.push_back(frozen->substr(from, end - from));
        from = end == std::string::npos ? frozen->size() : end + 1;
      }
      continue;
    }
    for (auto& line : describe(*t)) lines.push_back(std::move(line));
  }
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across platforms and runs
  for (const auto& line : lines)
    for (unsigned char c : line + "\n") h = (h ^ c) * 1099511628211ULL;
  schemaCache = {now, std::move(key), std::move(lines), fmt::format("{:016x}", h), std::move(current)};
  return schemaCache;
}

std::string Replication::schemaFingerprint() const {
  try {
    return impl_->schema().fingerprint;
  } catch (const Error& e) {
    return "unreadable schema: " + e.status().message();  // matches no peer's
  }
}

Result<std::vector<std::string>> Replication::schemaDescription() const {
  return guarded([&]() -> Result<std::vector<std::string>> { return impl_->schema().lines; });
}

Result<std::vector<std::string>> Replication::schemaNow() const {
  return guarded([&]() -> Result<std::vector<std::string>> {
    impl_->refreshForRead();
    return impl_->schema().current;
  });
}

}  // namespace parley
