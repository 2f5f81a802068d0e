#include "store.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "causal_context.hpp"
#include "codec.hpp"
#include "insert_ranges.hpp"
#include "parley/txn_codec.hpp"
#include "undo.hpp"

namespace parley::store {
namespace {

void bindKey(sql::Stmt& st, const TableInfo& t, const Row& pk, int first) {
  for (std::size_t i = 0; i < t.pk.size(); ++i) st.bind(first + static_cast<int>(i), pk[i]);
}

std::int64_t siteIdx(Log log, const SiteId& id) {
  return static_cast<std::int64_t>(log.sites.indexOf(log.db, id));
}

// The rowid a metadata key names in a rowid-keyed table; nullopt if it cannot be one (no such
// row can exist).
std::optional<std::int64_t> keyRowid(std::string_view key) {
  codec::Reader r(key, "row key");
  Value v = r.value();
  if (v.type() != Value::Type::kInteger || !r.done()) return std::nullopt;
  return v.asInteger();
}

// Binds a row's metadata key: the rowid itself for rowid-keyed tables, else the encoded key.
// False if the key cannot be a rowid (no such row can exist).
bool bindMetaKey(sql::Stmt& st, const TableInfo& t, std::string_view key) {
  if (!t.integerKey) {
    st.bindBlob(1, key);
    return true;
  }
  auto rowid = keyRowid(key);
  if (!rowid) return false;
  st.bind(1, *rowid);
  return true;
}

void bindMetaKeyOrThrow(sql::Stmt& st, const TableInfo& t, std::string_view key) {
  if (!bindMetaKey(st, t, key))
    throw Error(Status::corruption("table \"" + t.name + "\": metadata for a key that cannot be its rowid"));
}

}  // namespace

std::optional<Row> readRow(Rows rows, const TableInfo& t, const Row& pk) {
  auto& st = rows.db.cached(t.selectByKey);
  bindKey(st, t, pk, 1);
  if (!st.step()) return std::nullopt;
  Row row;
  row.reserve(t.columns.size());
  for (std::size_t i = 0; i < t.columns.size(); ++i) row.push_back(st.value(static_cast<int>(i)));
  return row;
}

void insertRow(Rows rows, const TableInfo& t, const Row& values) {
  auto& st = rows.db.cached(t.insertRow);
  for (std::size_t i = 0; i < values.size(); ++i) st.bind(static_cast<int>(i) + 1, values[i]);
  st.run();
}

void updateRow(Rows rows, const TableInfo& t, const Row& values) {
  if (t.updateRow.empty()) return;  // every column is a key column
  auto& st = rows.db.cached(t.updateRow);
  int n = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!t.isKey[i]) st.bind(++n, values[i]);
  for (std::size_t i = 0; i < t.pk.size(); ++i) st.bind(n + 1 + static_cast<int>(i), values[t.pk[i]]);
  st.run();
}

void deleteRow(Rows rows, const TableInfo& t, const Row& pk) {
  auto& st = rows.db.cached(t.deleteRow);
  bindKey(st, t, pk, 1);
  st.run();
}

void writeRow(Rows rows, const TableInfo& t, const Row& pk, const std::optional<Row>& now,
              const std::optional<Row>& after) {
  if (now && after) {
    if (*now != *after) updateRow(rows, t, *after);
  } else if (after) {
    insertRow(rows, t, *after);
  } else if (now) {
    deleteRow(rows, t, pk);
  }
}

std::optional<std::string> readMetaBlob(Rows rows, const TableInfo& t, std::string_view key, bool* inRange) {
  if (inRange) *inRange = false;
  auto& st = rows.db.cached(t.metaSelect);
  if (!bindMetaKey(st, t, key)) return std::nullopt;
  if (st.step()) return std::string(st.blob(0));
  if (!t.integerKey) return std::nullopt;
  auto blob = ranges::covering(rows, t, *keyRowid(key));
  if (inRange) *inRange = blob.has_value();
  return blob;
}

void readValues(const sql::Stmt& st, int first, std::size_t n, Row& out) {
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = st.value(first + static_cast<int>(i));
}

void readStored(Rows rows, const TableInfo& t, std::string_view key, const Row& pk, StoredRow& out) {
  out.hasMeta = out.hasValues = out.inRange = false;
  auto& st = rows.db.cached(t.stateSelect);
  if (!bindMetaKey(st, t, key)) return;
  bindKey(st, t, pk, 2);
  if (!st.step()) return readCovered(rows, t, pk, out);
  out.hasMeta = true;
  out.meta.assign(st.blob(0));
  if (st.isNull(1)) return;
  out.hasValues = true;
  readValues(st, 2, t.columns.size(), out.values);
}

void readCovered(Rows rows, const TableInfo& t, const Row& pk, StoredRow& out) {
  if (!t.integerKey || pk.size() != 1 || pk[0].type() != Value::Type::kInteger) return;
  auto blob = ranges::covering(rows, t, pk[0].asInteger());
  if (!blob) return;
  out.hasMeta = out.inRange = true;
  out.meta = std::move(*blob);
  readRowInto(rows, t, pk, out);
}

void readRowInto(Rows rows, const TableInfo& t, const Row& pk, StoredRow& out) {
  auto& st = rows.db.cached(t.selectByKey);
  bindKey(st, t, pk, 1);
  out.hasValues = st.step();
  if (out.hasValues) readValues(st, 0, t.columns.size(), out.values);
  st.reset();
}

std::optional<RowMeta> readMeta(Log log, const TableInfo& t, std::string_view key) {
  auto blob = readMetaBlob(log.db, t, key);
  if (!blob) return std::nullopt;
  return decodeRowMeta(*blob, log.sites, t.columns.size());
}

void writeMetaBlob(Rows rows, const TableInfo& t, std::string_view key, std::string_view blob,
                   bool existed) {
  auto& st = rows.db.cached(existed ? t.metaUpdate : t.metaInsert);
  bindMetaKeyOrThrow(st, t, key);
  st.bindBlob(2, blob);
  st.run();
}

void writeMeta(Log log, const TableInfo& t, std::string_view key, const RowMeta& m, bool existed) {
  writeMetaBlob(log.db, t, key, encodeRowMeta(m, log.db, log.sites), existed);
}

// The metadata table's name is the catalog's (prepareMetaSql): "parley_rows_<table id>".
std::optional<std::int64_t> maxMetaRowid(Rows rows, const TableInfo& t) {
  auto& st = rows.db.cachedText(fmt::format("SELECT max(pk) FROM \"parley_rows_{}\"", t.id));
  std::optional<std::int64_t> max;
  if (st.step() && !st.isNull(0)) max = st.int64(0);
  st.reset();
  auto covered = ranges::maxCovered(rows, t);
  if (covered && (!max || *covered > *max)) max = covered;
  return max;
}

sql::Stmt& metaRangeStatement(Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi) {
  auto& st = rows.db.cachedText(fmt::format("SELECT pk, meta FROM \"parley_rows_{}\" WHERE pk BETWEEN ?1 AND ?2", t.id));
  st.bind(1, lo).bind(2, hi);
  return st;
}

void writeMetaBlobAt(Rows rows, const TableInfo& t, std::int64_t rowid, std::string_view blob, bool existed) {
  auto& st = rows.db.cached(existed ? t.metaUpdate : t.metaInsert);
  st.bind(1, rowid);
  sqlite3_bind_blob64(st.raw(), 2, blob.empty() ? "" : blob.data(), blob.size(), SQLITE_STATIC);
  st.run();
  st.reset();  // drops the binding of `blob` before it goes away
}

void deleteMeta(Rows rows, const TableInfo& t, std::string_view key) {
  auto& st = rows.db.cached(t.metaDelete);
  bindMetaKeyOrThrow(st, t, key);
  st.run();
}

void appendLog(LogWrites to, const Transaction& t, std::string_view body, bool rejected,
               const std::optional<std::string>& context, std::string_view digests) {
  auto site = siteIdx(to.log, t.dot.site);
  std::optional<HeldUndo> undo = takeHeldUndo(to.undo, logKey(site, t.dot.seq));  // its undo record (undo.hpp)
  auto& log = to.log.db.cached(
      "INSERT INTO parley_log(id, hlc, body, rejected, ctx, hash, digests, applied, undo) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  log.bind(1, logKey(site, t.dot.seq)).bind(2, static_cast<std::int64_t>(t.hlc.value));
  // The body is bound without a copy (a large transaction's is tens of MB); the binding is
  // dropped before `body` can go away.
  sqlite3_bind_blob64(log.raw(), 3, body.empty() ? "" : body.data(), body.size(), SQLITE_STATIC);
  struct Unbind {
    sql::Stmt& st;
    ~Unbind() { st.reset(); }
  } unbind{log};
  log.bind(4, std::int64_t{rejected});
  if (context) log.bindBlob(5, *context);
  else log.bindNull(5);
  // A transaction built by hand has its hash made when its body was encoded.
  ChainHash hash = t.hash.empty() ? chainHashInBody(body).value_or(ChainHash{}) : t.hash;
  if (hash.empty()) log.bindNull(6);
  else log.bindBlob(6, std::string_view(reinterpret_cast<const char*>(hash.bytes.data()), hash.bytes.size()));
  if (digests.empty()) log.bindNull(7);
  else log.bindBlob(7, digests);
  if (undo) log.bind(8, undo->position).bindBlobUncopied(9, undo->body);
  else log.bindNull(8).bindNull(9);
  log.run();
  to.vector.advance(t.dot);
}

void flushDigests(LogWrites to) {
  std::vector<std::pair<std::int64_t, std::uint64_t>> held;
  for (const auto& [site, seq] : to.vector.entries()) held.push_back({siteIdx(to.log, site), seq});
  to.digests.flush(to.log.db, held);
}

void logApplied(LogWrites to, const ApplyOutcome& outcome) {
  for (const Dot& dot : outcome.refolded) setRejected(to.log, dot, outcome.rejected.count(dot) > 0);
  for (std::size_t i = 0; i < outcome.fresh.size(); ++i) {
    const Transaction& t = *outcome.fresh[i];
    auto context = storedContext(to.log, t.dot, outcome.contexts[i], outcome.grew[i]);
    std::string_view digests = i + 1 == outcome.fresh.size() ? std::string_view(outcome.digests) : std::string_view();
    bool rejected = outcome.rejected.count(t.dot) > 0;
    if (outcome.bodies.empty())
      appendLog(to, t, encodeTransaction(t), rejected, context, digests);
    else
      appendLog(to, t, outcome.bodies[static_cast<std::size_t>(&t - outcome.incoming.data())], rejected, context, digests);
  }
  if (to.digests.flushDue()) flushDigests(to);
}

void setRejected(Log log, const Dot& dot, bool rejected) {
  auto& st = log.db.cached("UPDATE parley_log SET rejected = ?2 WHERE id = ?1");
  st.bind(1, logKey(siteIdx(log, dot.site), dot.seq)).bind(2, std::int64_t{rejected});
  st.run();
}

namespace {

// The greatest seq of `site` (a local index) whose decision is final; 0 if none.
std::uint64_t finalUpTo(Log log, std::int64_t site) {
  auto& st = log.db.cached("SELECT seq FROM parley_final WHERE site = ?1");
  st.bind(1, site);
  std::uint64_t seq = st.step() ? static_cast<std::uint64_t>(st.int64(0)) : 0;
  st.reset();
  return seq;
}

}  // namespace

std::optional<std::pair<bool, bool>> decisionOf(Log log, const Dot& dot) {
  auto idx = log.sites.find(dot.site);
  if (!idx) return std::nullopt;
  auto& st = log.db.cached("SELECT rejected FROM parley_log WHERE id = ?1");
  st.bind(1, logKey(*idx, dot.seq));
  if (!st.step()) return std::nullopt;
  bool rejected = st.int64(0) != 0;
  st.reset();
  return std::pair{rejected, dot.seq <= finalUpTo(log, static_cast<std::int64_t>(*idx))};
}

std::vector<std::pair<Transaction, bool>> notFinal(Log log, const VersionVector& vector) {
  std::vector<std::pair<Transaction, bool>> out;
  auto& st = log.db.cached("SELECT body, rejected FROM parley_log WHERE id BETWEEN ?1 AND ?2");
  for (const auto& [origin, seq] : vector.entries()) {
    std::int64_t site = siteIdx(log, origin);
    std::uint64_t from = finalUpTo(log, site) + 1;
    if (from > seq) continue;
    st.bind(1, logKey(site, from)).bind(2, logKey(site, kMaxLogSeq));
    while (st.step()) out.push_back({valueOrThrow(decodeTransaction(st.blob(0))), st.int64(1) != 0});
    st.reset();
  }
  return out;
}

void markFinal(Log log, const SiteId& origin, std::uint64_t upTo) {
  auto& st = log.db.cached(
      "INSERT INTO parley_final(site, seq) VALUES (?1, ?2) ON CONFLICT(site) DO UPDATE SET seq = max(seq, ?2)");
  st.bind(1, siteIdx(log, origin)).bind(2, static_cast<std::int64_t>(upTo));
  st.run();
}

std::size_t dropFinal(causal::Contexts known, const SiteId& origin, std::uint64_t upTo) {
  auto site = siteIdx(known.log, origin);
  upTo = std::min(upTo, finalUpTo(known.log, site));  // only final decisions can go
  if (upTo == 0) return 0;
  auto& newest = known.log.db.cached("SELECT max(hlc) FROM parley_log WHERE id BETWEEN ?1 AND ?2");
  newest.bind(1, logKey(site, 1)).bind(2, logKey(site, upTo));
  newest.step();
  if (newest.isNull(0)) return 0;
  std::int64_t hlc = newest.int64(0);
  newest.reset();
  // Entries after upTo may store no context of their own: keep upTo's (causal_context.hpp).
  auto context = storedContext(known.log, {origin, upTo}, causal::of(known, origin, upTo), true);
  auto& stamp = known.log.db.cached(
      "INSERT INTO parley_meta(key, value) VALUES ('compacted_hlc', ?1) "
      "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)");
  stamp.bind(1, hlc);
  stamp.run();
  std::optional<HeldLink> head = heldLink(known.log, {origin, upTo});  // the chain's head stays known
  auto& log = known.log.db.cached("DELETE FROM parley_log WHERE id BETWEEN ?1 AND ?2");
  log.bind(1, logKey(site, 1)).bind(2, logKey(site, upTo));
  log.run();
  auto dropped = static_cast<std::size_t>(sqlite3_changes(known.log.db.raw()));
  dropUndo(known.log.db, site, upTo);
  auto& floor = known.log.db.cached(
      "INSERT INTO parley_compacted(site, seq, context, hash) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(site) DO UPDATE SET "
      "seq = excluded.seq, context = excluded.context, hash = excluded.hash WHERE excluded.seq > parley_compacted.seq");
  floor.bind(1, site).bind(2, static_cast<std::int64_t>(upTo)).bindBlob(3, *context);
  if (head && !head->hash.empty()) floor.bindBlob(4, std::string(head->hash.bytes.begin(), head->hash.bytes.end()));
  else floor.bindNull(4);
  floor.run();
  return dropped;
}

std::optional<Hlc> orderBarrier(sql::Db& db) {
  auto& st = db.cached("SELECT value FROM parley_meta WHERE key = 'order_barrier_hlc'");
  std::optional<Hlc> out;
  if (st.step() && !st.isNull(0)) out = Hlc{static_cast<std::uint64_t>(st.int64(0))};
  st.reset();
  return out;
}

void raiseOrderBarrier(sql::Db& db, Hlc hlc) {
  auto& st = db.cached(
      "INSERT INTO parley_meta(key, value) VALUES ('order_barrier_hlc', ?1) "
      "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)");
  st.bind(1, static_cast<std::int64_t>(hlc.value));
  st.run();
}

std::optional<Stamp> compactedStamp(sql::Db& db) {
  auto& st = db.cached("SELECT value FROM parley_meta WHERE key = 'compacted_hlc'");
  if (!st.step() || st.isNull(0)) return std::nullopt;
  // The site id only breaks ties; the greatest id makes the bound conservative.
  SiteId top;
  top.bytes.fill(0xff);
  return Stamp{Hlc{static_cast<std::uint64_t>(st.int64(0))}, top};
}

bool allFinal(sql::Db& db) {
  // Per origin: its newest held transaction (the (site, seq) key's last entry) is final.
  auto& st = db.cached(
      "SELECT 1 FROM parley_sites WHERE (SELECT max(id) FROM parley_log WHERE id BETWEEN idx << 40 AND "
      "(idx << 40) + 1099511627775) > (idx << 40) + coalesce((SELECT seq FROM parley_final WHERE site = idx), 0) "
      "LIMIT 1");
  bool open = st.step();
  st.reset();
  return !open;
}

std::optional<Stamp> lastStamp(Log log, const VersionVector& vector) {
  // Each origin's newest transaction has its greatest HLC (see causal::heldAfter). REQUIRES: log.vector
  // is loaded.
  auto& st = log.db.cached("SELECT hlc FROM parley_log WHERE id BETWEEN ?1 AND ?2 ORDER BY id DESC LIMIT 1");
  std::optional<Stamp> best;
  for (const auto& [origin, seq] : vector.entries()) {
    st.bind(1, logKey(siteIdx(log, origin), 1)).bind(2, logKey(siteIdx(log, origin), kMaxLogSeq));
    if (st.step()) {
      Stamp candidate{Hlc{static_cast<std::uint64_t>(st.int64(0))}, origin};
      if (!best || candidate > *best) best = candidate;
    }
    st.reset();
  }
  return best;
}

std::optional<Hlc> hlcOf(Log log, const Dot& dot) {
  auto link = heldLink(log, dot);
  return link ? link->hlc : std::nullopt;
}

namespace {

ChainHash hashColumn(const sql::Stmt& st, int column) {
  ChainHash out;
  if (st.isNull(column)) return out;
  std::string_view bytes = st.blob(column);
  if (bytes.size() == out.bytes.size()) std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  return out;
}

}  // namespace

std::optional<HeldLink> heldLink(Log log, const Dot& dot) {
  auto idx = log.sites.find(dot.site);
  if (!idx) return std::nullopt;
  auto& st = log.db.cached("SELECT hlc, hash FROM parley_log WHERE id = ?1");
  st.bind(1, logKey(*idx, dot.seq));
  std::optional<HeldLink> out;
  if (st.step()) out = HeldLink{Hlc{static_cast<std::uint64_t>(st.int64(0))}, hashColumn(st, 1)};
  st.reset();
  if (out) return out;
  auto& compacted = log.db.cached("SELECT hash FROM parley_compacted WHERE site = ?1 AND seq = ?2");
  compacted.bind(1, static_cast<std::int64_t>(*idx)).bind(2, static_cast<std::int64_t>(dot.seq));
  if (compacted.step()) out = HeldLink{std::nullopt, hashColumn(compacted, 0)};
  compacted.reset();
  return out;
}

Held heldAround(Log log, const VersionVector& vector, std::span<const Transaction> incoming) {
  // The dots to read: each held one the batch repeats (a repeat, or a fork under a held dot),
  // and per origin, the one before its first new transaction: only that one's predecessor can
  // be held (the vector is gapless); a later one's is checked against the one arriving beside it.
  std::vector<Dot> dots;
  std::unordered_map<SiteId, std::uint64_t, SiteIdHash> firstNew;
  for (const auto& t : incoming) {
    if (vector.contains(t.dot)) {
      if (!t.hash.empty()) dots.push_back(t.dot);
      continue;
    }
    auto [at, added] = firstNew.try_emplace(t.dot.site, t.dot.seq);
    if (!added) at->second = std::min(at->second, t.dot.seq);
  }
  for (const auto& [origin, seq] : firstNew)
    if (seq > 1) dots.push_back({origin, seq - 1});
  std::sort(dots.begin(), dots.end());
  dots.erase(std::unique(dots.begin(), dots.end()), dots.end());
  Held out{vector, {}};
  out.links.reserve(dots.size());
  for (const Dot& dot : dots)
    if (auto link = heldLink(log, dot)) out.links.emplace_back(dot, std::move(*link));
  return out;
}

VersionVector loadVector(Log log) {
  // Each origin's seqs are held gaplessly: the greatest held one, or compacted away.
  VersionVector v;
  auto& st = log.db.cached(
      "SELECT idx, max(coalesce((SELECT max(id) - (idx << 40) FROM parley_log WHERE id BETWEEN idx << 40 AND "
      "(idx << 40) + 1099511627775), 0), "
      "coalesce((SELECT seq FROM parley_compacted WHERE site = idx), 0)) FROM parley_sites");
  while (st.step()) {
    if (st.int64(1) > 0)
      v.set(log.sites.idAt(static_cast<std::uint32_t>(st.int64(0))), static_cast<std::uint64_t>(st.int64(1)));
  }
  return v;
}

}  // namespace parley::store
