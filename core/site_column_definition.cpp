// Two definitions of one added column (README "Changing the schema"): sites that add a column
// of the same name concurrently add one column (its id comes from its name), but may define it
// differently (type, default, constraints). The definition first in canonical order wins, at
// every site whatever order the adds arrive in: a min-register per column, kept in parley_meta
// as "column:<table>:<id>" = "<hlc> <site> <definition>". A site holding another definition
// redefines the column in place: SQLite's catalog text changes (PRAGMA writable_schema, as
// SQLite's own documentation does for changes ALTER TABLE lacks), then every cell the site
// never wrote takes the winner's default and every value is stored again under the winner's
// type, so the rows equal those of a site that only ever had the winner. The loser is a row of
// the conflict log (kind schema) at each site that held both.
#include "model/codec.hpp"
#include "row_meta.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

std::string definitionKey(const std::string& table, std::uint32_t id) { return fmt::format("column:{}:{}", table, id); }

std::string normalized(std::string_view sql) {
  std::string out;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '`' || c == '[' || c == ']') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::int64_t schemaVersion(sql::Db& db) {
  sql::Stmt v(db.raw(), "PRAGMA schema_version");
  v.step();
  return v.int64(0);
}

Value evalDefault(sql::Db& db, const std::string& table, const std::string& column) {
  sql::Stmt find(db.raw(), "SELECT dflt_value FROM pragma_table_info(?1) WHERE name = ?2");
  find.bindText(1, table).bindText(2, column);
  if (!find.step() || find.isNull(0)) return Value::null();
  sql::Stmt eval(db.raw(), "SELECT " + find.text(0));
  return eval.step() ? eval.value(0) : Value::null();
}

}  // namespace

std::optional<Site::Impl::ColumnDefinition> Site::Impl::columnDefinition(const std::string& table, std::uint32_t id) {
  auto text = catalog::metaText(state.db, definitionKey(table, id));
  if (!text) return std::nullopt;
  // "<hlc> <site> <typeless 0|1> <definition>"
  std::vector<std::size_t> spaces;
  for (std::size_t at = 0; spaces.size() < 3 && (at = text->find(' ', at)) != std::string::npos; ++at) spaces.push_back(at);
  auto site = spaces.size() == 3 ? SiteId::fromHex(text->substr(spaces[0] + 1, spaces[1] - spaces[0] - 1)) : std::nullopt;
  if (!site) throw Error(Status::corruption(fmt::format("parley_meta: bad column definition record: {}", *text)));
  ColumnDefinition d;
  d.stamp.hlc.value = std::stoull(text->substr(0, spaces[0]));
  d.stamp.site = *site;
  d.typeless = text->substr(spaces[1] + 1, spaces[2] - spaces[1] - 1) == "1";
  d.sql = text->substr(spaces[2] + 1);
  return d;
}

void Site::Impl::keepColumnDefinition(const std::string& table, std::uint32_t id, const ColumnDefinition& d) {
  catalog::setMeta(state.db, definitionKey(table, id),
                   fmt::format("{} {} {} {}", d.stamp.hlc.value, d.stamp.site.hex(), d.typeless ? 1 : 0, d.sql));
}

std::string Site::Impl::ColumnDefinition::inForce() const { return typeless ? withColumnType(sql, "BLOB") : sql; }

void Site::Impl::settleColumnDefinition(TableInfo& t, std::uint32_t pos, const SchemaChange& c, const Dot& dot,
                                        const Stamp& stamp, std::vector<ConflictReport>& conflicts) {
  auto held = columnDefinition(t.name, c.id);
  if (!held) return keepColumnDefinition(t.name, c.id, {stamp, c.sql, false});  // added before definitions were kept
  if (normalized(held->sql) == normalized(c.sql)) {
    if (stamp < held->stamp) keepColumnDefinition(t.name, c.id, {stamp, held->sql, held->typeless});
    return;
  }
  bool remoteWins = stamp < held->stamp;
  ConflictReport r;
  r.kind = ConflictKind::kSchema;
  r.table = t.name;
  r.column = t.columns[pos];
  r.resolver = "schema";
  r.localValue = Value::text(held->sql);
  r.localStamp = held->stamp;
  r.remoteValue = Value::text(c.sql);
  r.remoteDot = dot;
  r.remoteStamp = stamp;
  r.remoteWon = remoteWins;
  r.outcome = remoteWins ? ConflictOutcome::kAppliedRemote : ConflictOutcome::kKeptLocal;
  r.reason = "the column was added with two definitions; the first (in canonical order) defines it";
  conflicts.push_back(std::move(r));
  ColumnDefinition next = remoteWins ? ColumnDefinition{stamp, c.sql, held->typeless} : *held;
  // Definitions of different type affinities: every site stores values as their writers did.
  next.typeless = next.typeless || columnAffinity(held->sql) != columnAffinity(c.sql);
  if (held->inForce() != next.inForce()) redefineColumn(t, pos, held->inForce(), next.inForce());
  keepColumnDefinition(t.name, c.id, next);
}

void Site::Impl::redefineColumn(TableInfo& t, std::uint32_t pos, const std::string& from, const std::string& to) {
  auto tableText = tableSql(t.name);
  // ADD COLUMN appended the definition as written, after ", ", before the closing parenthesis.
  auto at = tableText ? tableText->rfind(", " + from) : std::string::npos;
  if (at == std::string::npos)
    throw Error(Status::corruption(fmt::format(
        "cannot redefine column \"{}\" of \"{}\" as \"{}\": its definition \"{}\" is not in the table's text {}",
        t.columns[pos], t.name, to, from, tableText.value_or("(none)"))));
  std::string text = tableText->substr(0, at + 2) + to + tableText->substr(at + 2 + from.size());
  std::optional<Value> oldDefault = pos < t.addedDefaults.size() ? t.addedDefaults[pos] : std::nullopt;
  std::string column = t.columns[pos];
  freezeBase(t);
  state.db.resetAll();
  std::int64_t version = schemaVersion(state.db);
  execDdl("PRAGMA writable_schema = ON");
  try {
    sql::Stmt write(state.db.raw(), "UPDATE sqlite_schema SET sql = ?1 WHERE type = 'table' AND name = ?2");
    write.bindText(1, text).bindText(2, t.name);
    write.run();
  } catch (...) {
    execDdl("PRAGMA writable_schema = OFF");
    throw;
  }
  execDdl(fmt::format("PRAGMA schema_version = {}", version + 1));
  execDdl("PRAGMA writable_schema = OFF");
  Value newDefault = evalDefault(state.db, t.name, column);
  std::vector<std::optional<Value>> defaults = t.addedDefaults;
  defaults.resize(t.columns.size());
  defaults[pos] = newDefault;
  std::vector<std::uint32_t> ids;
  for (std::uint32_t i = 0; i < t.columns.size(); ++i) ids.push_back(t.idAt(i));
  reshape(t, std::move(ids), std::move(defaults), t.renamedAt);
  // A cell this site never wrote that SQLite stored with the old default (an update of
  // another column of its row writes every column) takes the new default.
  if (oldDefault && !(*oldDefault == newDefault)) {
    std::string keys;
    for (auto k : t.pk) keys += (keys.empty() ? "" : ", ") + sql::quoteIdent(t.columns[k]);
    std::vector<Row> stale;
    sql::Stmt find(state.db.raw(), fmt::format("SELECT {} FROM {} WHERE {} IS ?1", keys, sql::quoteIdent(t.name),
                                               sql::quoteIdent(column)));
    find.bind(1, *oldDefault);
    while (find.step()) {
      Row pk;
      for (std::size_t k = 0; k < t.pk.size(); ++k) pk.push_back(find.value(static_cast<int>(k)));
      auto meta = store::readMeta(state, t, codec::encodeKey(pk));
      bool written = meta && pos < meta->cells.size() && meta->cells[pos] && !meta->cells[pos]->dots.empty();
      if (!written) stale.push_back(std::move(pk));
    }
    std::string where;
    for (std::size_t k = 0; k < t.pk.size(); ++k)
      where += fmt::format("{}{} = ?{}", k ? " AND " : "", sql::quoteIdent(t.columns[t.pk[k]]), k + 2);
    sql::Stmt fix(state.db.raw(), fmt::format("UPDATE {} SET {} = ?1 WHERE {}", sql::quoteIdent(t.name),
                                              sql::quoteIdent(column), where));
    for (const Row& pk : stale) {
      fix.bind(1, newDefault);
      for (std::size_t k = 0; k < pk.size(); ++k) fix.bind(static_cast<int>(k + 2), pk[k]);
      fix.run();
      fix.reset();
    }
    recomputeDigest(t);
    store::flushDigests(state);
  }
}

void Site::Impl::recomputeDigest(const TableInfo& t) {
  Digest128 sum;
  sql::Stmt all(state.db.raw(), t.selectAll);
  Row values;
  while (all.step()) {
    store::readValues(all, 0, t.columns.size(), values);
    sum.add(digest::ofRow(t, values));
  }
  state.digests.set(t.id, sum);
  state.digests.invalidateDeltas();
}

}  // namespace parley
