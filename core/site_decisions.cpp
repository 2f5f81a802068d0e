// Site's conflict log, decisions, acknowledgements, and in-process sync between two sites.
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

Status Site::acknowledge(const SiteId& site, const VersionVector& vector) {
  return guarded([&]() -> Status {
    impl_->asApplier([&] {
      finality::acknowledge(impl_->state, site, vector);
      finality::settle(impl_->state);
      return 0;
    });
    return Status::ok();
  });
}

Result<std::vector<std::pair<SiteId, VersionVector>>> Site::acknowledgements() {
  return guarded([&]() -> Result<std::vector<std::pair<SiteId, VersionVector>>> {
    impl_->refreshForRead();
    return finality::acknowledgements(impl_->state);
  });
}

namespace {

Result<ApplyResult> deliverAll(Site& from, Site& to) {
  auto held = to.vector();
  if (!held) return held.status();
  auto changes = from.changesSince(*held);
  if (!changes) return changes.status();
  return to.apply(*changes);
}

// Refuses a forgotten site (each side checks the other), then each forgets what the other forgot.
Status passForgotten(Site& a, Site& b) {
  if (auto st = a.checkNotForgotten(b.id()); !st) return st;
  if (auto st = b.checkNotForgotten(a.id()); !st) return st;
  for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    auto forgotten = from->forgotten();
    if (!forgotten) return forgotten.status();
    for (const auto& id : *forgotten)
      if (auto st = to->forget(id); !st) return st;
  }
  return Status::ok();
}

Status passAcknowledgements(Site& from, Site& to) {
  auto acks = from.acknowledgements();
  if (!acks) return acks.status();
  for (const auto& [site, vector] : *acks)
    if (auto st = to.acknowledge(site, vector); !st) return st;
  return Status::ok();
}

}  // namespace

Result<std::pair<ApplyResult, ApplyResult>> syncSites(Site& a, Site& b) {
  if (&a == &b) return Status::invalidArgument("cannot sync a site with itself").withContext("sync");
  if (a.id() == b.id())
    return Status::diverged(fmt::format(
        "{} and {} have the same site id ({}): one is a copy of the other's file (cp, or a restored backup); "
        "at the copy, run `parley rejoin` (see \"When sites disagree\" in the README)",
        a.name(), b.name(), a.id().shortHex())).withContext("sync");
  if (a.clusterId() != b.clusterId()) return Status::invalidArgument("the sites belong to different clusters").withContext("sync");
  if (a.schemaFingerprint() != b.schemaFingerprint()) {
    auto mine = a.schemaDescription();
    auto theirs = b.schemaDescription();
    std::string what = mine && theirs ? ": " + schema_text::difference(*mine, *theirs, a.name(), b.name()) : "";
    return Status::invalidArgument("the sites' schemas or resolver configurations differ" + what).withContext("sync");
  }
  for (auto [from, to] : {std::pair<Site*, Site*>{&a, &b}, {&b, &a}}) {
    auto heads = from->chainHeads();
    if (!heads) return heads.status();
    if (auto st = to->checkHistories(*heads, from->name()); !st) return st;
  }
  if (auto st = passForgotten(a, b); !st) return st;
  auto atB = deliverAll(a, b);
  if (!atB) return atB.status();
  auto atA = deliverAll(b, a);
  if (!atA) return atA.status();
  if (auto st = passAcknowledgements(a, b); !st) return st;
  if (auto st = passAcknowledgements(b, a); !st) return st;
  auto digests = b.digests();
  if (!digests) return digests.status();
  auto heldByB = b.vector();
  if (!heldByB) return heldByB.status();
  Status compared = a.checkDigests(*heldByB, *digests, b.name());
  for (auto [site, peer] : {std::pair<Site*, Site*>{&a, &b}, {&b, &a}})
    if (auto st = site->noteComparison(peer->id(), peer->name(), compared); !st) return st;
  if (!compared) return compared;
  return std::pair{std::move(*atB), std::move(*atA)};
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
  for (const auto& t : state.tables) key += sql::quoteIdent(t->name) + ":" + t->config.toString() + ";";
  return key;
}

}  // namespace

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
  std::vector<std::string> lines;
  for (const TableInfo* t : tables) {
    std::string label = fingerprintName(t->name);
    for (auto& line : schema_text::describeTable(state.db, t->name, label)) lines.push_back(std::move(line));
    lines.push_back(label + ": resolvers " + t->config.toString());
  }
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across platforms and runs
  for (const auto& line : lines)
    for (unsigned char c : line + "\n") h = (h ^ c) * 1099511628211ULL;
  schemaCache = {now, std::move(key), std::move(lines), fmt::format("{:016x}", h)};
  return schemaCache;
}

std::string Site::schemaFingerprint() const {
  try {
    return impl_->schema().fingerprint;
  } catch (const Error& e) {
    return "unreadable schema: " + e.status().message();  // matches no peer's
  }
}

Result<std::vector<std::string>> Site::schemaDescription() const {
  return guarded([&]() -> Result<std::vector<std::string>> { return impl_->schema().lines; });
}

}  // namespace parley
