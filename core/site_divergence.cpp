// Site's checks that two sites agree: hash chain heads and state digests (DESIGN.md,
// "Divergence is never silent").
#include <algorithm>

#include <fmt/format.h>

#include "parley/replication.hpp"
#include "site_impl.hpp"

namespace parley {
namespace {

std::string peerLabel(std::string_view name) { return name.empty() ? std::string("the peer") : fmt::format("peer {}", name); }

}  // namespace

Result<std::vector<ChainHead>> Replication::chainHeads() const {
  return guarded([&]() -> Result<std::vector<ChainHead>> {
    impl_->refreshForRead();
    std::vector<ChainHead> out;
    for (const auto& [site, seq] : impl_->state.vector.entries()) {
      auto link = store::heldLink(impl_->state, {site, seq});
      out.push_back({site, seq, link ? link->hash : ChainHash{}});
    }
    return out;
  });
}

Status Replication::checkHistories(const std::vector<ChainHead>& peer,
                                   std::string_view peerName) const {
  return guarded([&]() -> Status {
    impl_->refreshForRead();
    ApplyState& s = impl_->state;
    for (const auto& head : peer) {
      if (head.hash.empty() || head.seq == 0 || s.vector.get(head.site) < head.seq) continue;
      auto held = store::heldLink(s, {head.site, head.seq});
      if (!held || held->hash.empty() || held->hash == head.hash) continue;
      std::string whose = head.site == s.id ? fmt::format("this site ({})", s.name) : head.site.shortHex();
      return Status::diverged(fmt::format(
          "{} and {} hold different histories of site {} at seq {} (hashes {} and {}): a copy of that site's file, "
          "or a restored backup, wrote under its id. Nothing was exchanged. At the copy that wrote second, run "
          "`parley rejoin` (see \"When sites disagree\" in the README)",
          s.name, peerLabel(peerName), whose, head.seq, held->hash.shortHex(), head.hash.shortHex()));
    }
    return Status::ok();
  });
}

Result<std::vector<TableDigest>> Replication::digests() const {
  return guarded([&]() -> Result<std::vector<TableDigest>> {
    impl_->refreshForRead();
    std::vector<TableDigest> out;
    for (const auto& t : impl_->state.tables)
      if (!t->untracking()) out.push_back({t->name, impl_->state.digests.of(t->id).hex()});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.table < b.table; });
    return out;
  });
}

Status Replication::checkDigests(const VersionVector& peerVector,
                                 const std::vector<TableDigest>& peer,
                                 std::string_view peerName) const {
  auto mine = digests();
  if (!mine) return mine.status();
  auto held = site_.vector();
  if (!held) return held.status();
  if (!(peerVector == *held)) return Status::ok();
  for (const auto& d : *mine) {
    auto theirs = std::find_if(peer.begin(), peer.end(), [&](const TableDigest& p) { return p.table == d.table; });
    if (theirs == peer.end() || theirs->digest == d.digest) continue;
    return Status::diverged(fmt::format(
        "{} and {} hold the same transactions but different rows in table \"{}\" (digests {} and {}): "
        "run `parley verify` on both to find the rows (see \"When sites disagree\" in the README)",
        impl_->state.name, peerLabel(peerName), d.table, d.digest.substr(0, 8), theirs->digest.substr(0, 8)));
  }
  return Status::ok();
}

Result<std::vector<DigestCheck>> Replication::verify(bool accept) {
  return guarded([&]() -> Result<std::vector<DigestCheck>> {
    if (accept) {
      if (impl_->state.db.inTransaction()) return Status::busy("a transaction is open on this site").withContext("verify");
      impl_->begin();
    }
    impl_->refreshForRead();
    std::vector<DigestCheck> out;
    for (const auto& t : impl_->state.tables) {
      if (t->untracking()) continue;  // a plain table again: its own writes are not in the digest
      Digest128 sum;
      std::uint64_t rows = 0;
      sql::Stmt all(impl_->state.db.raw(), t->selectAll);
      Row values;
      while (all.step()) {
        store::readValues(all, 0, t->columns.size(), values);
        sum.add(digest::ofRow(*t, values));
        ++rows;
      }
      out.push_back({t->name, impl_->state.digests.of(t->id).hex(), sum.hex(), rows});
      if (accept) impl_->state.digests.set(t->id, sum);
    }
    if (accept) {
      try {
        store::flushDigests(impl_->state);
        impl_->commitNow();
      } catch (...) {
        impl_->rollbackQuietly();
        throw;
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.table < b.table; });
    return out;
  });
}

namespace {

// "(k1, k2) >= (?1, ?2) AND (k1, k2) < (?3, ?4)" for the bounds given, from parameter 1 on.
std::string rangeWhere(const TableInfo& t, const KeyRange& range) {
  std::string keys;
  for (auto k : t.pk) keys += (keys.empty() ? "" : ", ") + sql::quoteIdent(t.columns[k]);
  keys = "(" + keys + ")";
  auto params = [&](std::size_t first) {
    std::string out;
    for (std::size_t i = 0; i < t.pk.size(); ++i) out += fmt::format("{}?{}", i ? ", " : "", first + i);
    return "(" + out + ")";
  };
  std::string where = "1";
  if (!range.lo.empty()) where += fmt::format(" AND {} >= {}", keys, params(1));
  if (!range.hi.empty()) where += fmt::format(" AND {} < {}", keys, params(1 + range.lo.size()));
  return where + " ORDER BY " + keys.substr(1, keys.size() - 2);
}

}  // namespace

Result<RangeSummary> Replication::summarize(std::string_view table, const KeyRange& range,
                                            std::size_t listUpTo) const {
  return guarded([&]() -> Result<RangeSummary> {
    impl_->refreshForRead();
    const TableInfo* t = impl_->state.table(table);
    if (!t) return Status::notFound(fmt::format("table \"{}\" is not tracked", table));
    if ((!range.lo.empty() && range.lo.size() != t->pk.size()) || (!range.hi.empty() && range.hi.size() != t->pk.size()))
      return Status::invalidArgument(fmt::format("a key of table \"{}\" has {} values", table, t->pk.size()));
    sql::Stmt st(impl_->state.db.raw(), t->selectAll + " WHERE " + rangeWhere(*t, range));
    int at = 1;
    for (const auto& v : range.lo) st.bind(at++, v);
    for (const auto& v : range.hi) st.bind(at++, v);
    RangeSummary out;
    Digest128 sum;
    Row values;
    std::vector<std::pair<Row, Digest128>> rows;
    while (st.step()) {
      store::readValues(st, 0, t->columns.size(), values);
      Digest128 d = digest::ofRow(*t, values);
      sum.add(d);
      ++out.rows;
      if (rows.size() <= listUpTo) {
        Row key;
        for (auto k : t->pk) key.push_back(values[k]);
        rows.push_back({std::move(key), d});
      }
    }
    out.digest = sum.hex();
    if (out.rows <= listUpTo)
      for (auto& [key, d] : rows) out.keys.push_back({std::move(key), d.hex()});
    if (out.rows > 0) {
      sql::Stmt mid(impl_->state.db.raw(), t->selectAll + " WHERE " + rangeWhere(*t, range) + " LIMIT 1 OFFSET " +
                                                std::to_string(out.rows / 2));
      at = 1;
      for (const auto& v : range.lo) mid.bind(at++, v);
      for (const auto& v : range.hi) mid.bind(at++, v);
      if (mid.step()) {
        Row key;
        for (auto k : t->pk) key.push_back(mid.value(static_cast<int>(k)));
        out.middle = std::move(key);
      }
    }
    return out;
  });
}

Result<ChainHash> Replication::hashOf(const Dot& dot) const {
  return guarded([&]() -> Result<ChainHash> {
    impl_->refreshForRead();
    auto link = store::heldLink(impl_->state, dot);
    if (!link) return Status::notFound(fmt::format("transaction {} is not held", dot.toString()));
    return link->hash;
  });
}

namespace {

std::string keyCondition(const TableInfo& t, int& param) {
  std::string out;
  for (auto k : t.pk) out += fmt::format("{}{} = ?{}", out.empty() ? "" : " AND ", sql::quoteIdent(t.columns[k]), param++);
  return out;
}

bool addsDelta(const TableInfo& t, const ColumnWrite& w) {
  return w.column < t.traits.size() && t.traits[w.column].foldsDeltas && w.oldValue.isNumeric() &&
         w.newValue.isNumeric();
}

// The statement that writes `row` again, and its parameters.
std::pair<std::string, std::vector<Value>> rewriteOf(const TableInfo& t, const RowChange& row) {
  std::vector<Value> params;
  std::string table = sql::quoteIdent(t.name);
  int param = 1;
  if (row.op == RowOp::kDelete) {
    params = row.pk;
    return {fmt::format("DELETE FROM {} WHERE {}", table, keyCondition(t, param)), params};
  }
  if (row.op == RowOp::kInsert) {
    std::string columns, values, updates;
    for (std::size_t i = 0; i < t.pk.size(); ++i) {
      columns += (columns.empty() ? "" : ", ") + sql::quoteIdent(t.columns[t.pk[i]]);
      values += fmt::format("{}?{}", values.empty() ? "" : ", ", param++);
      params.push_back(row.pk[i]);
    }
    for (const auto& w : row.columns) {
      columns += ", " + sql::quoteIdent(t.columns[w.column]);
      values += fmt::format(", ?{}", param++);
      updates += fmt::format("{}{} = excluded.{}", updates.empty() ? "" : ", ", sql::quoteIdent(t.columns[w.column]),
                             sql::quoteIdent(t.columns[w.column]));
      params.push_back(w.newValue);
    }
    std::string keys;
    for (auto k : t.pk) keys += (keys.empty() ? "" : ", ") + sql::quoteIdent(t.columns[k]);
    std::string onConflict = updates.empty() ? "DO NOTHING" : "DO UPDATE SET " + updates;
    return {fmt::format("INSERT INTO {}({}) VALUES ({}) ON CONFLICT({}) {}", table, columns, values, keys, onConflict),
            params};
  }
  std::string sets;
  for (const auto& w : row.columns) {
    std::string column = sql::quoteIdent(t.columns[w.column]);
    if (addsDelta(t, w)) {
      sets += fmt::format("{}{} = {} + (?{} - ?{})", sets.empty() ? "" : ", ", column, column, param, param + 1);
      params.push_back(w.newValue);
      params.push_back(w.oldValue);
      param += 2;
    } else {
      sets += fmt::format("{}{} = ?{}", sets.empty() ? "" : ", ", column, param++);
      params.push_back(w.newValue);
    }
  }
  for (const auto& v : row.pk) params.push_back(v);
  return {fmt::format("UPDATE {} SET {} WHERE {}", table, sets, keyCondition(t, param)), params};
}

}  // namespace

namespace {

// A transaction made by commitOperation: one write of a column whose strategy checks local
// writes, whose value is not a number (the operation) where the row held one.
const ColumnWrite* operationOf(const SiteState& s, const Transaction& t) {
  if (t.rows.size() != 1 || t.rows[0].op != RowOp::kUpdate || t.rows[0].columns.size() != 1) return nullptr;
  const TableInfo* table = s.table(t.rows[0].table);
  const ColumnWrite& w = t.rows[0].columns[0];
  if (!table || w.column >= table->traits.size() || !table->traits[w.column].checksLocalWrites) return nullptr;
  return !w.newValue.isNumeric() && !w.newValue.isNull() && w.oldValue.isNumeric() ? &w : nullptr;
}

}  // namespace

Result<std::uint64_t> Replication::reissue(std::span<const Transaction> transactions) {
  std::uint64_t written = 0;
  for (const auto& t : transactions) {
    if (const ColumnWrite* op = operationOf(impl_->state, t)) {  // a rights move: made again as one
      const RowChange& row = t.rows[0];
      auto made = site_.commitOperation(
          row.table, row.pk, impl_->state.table(row.table)->columns[op->column], op->newValue);
      if (!made) return made.status().withContext(fmt::format("re-issuing transaction {}", t.dot.toString()));
      ++written;
      continue;
    }
    if (auto st = site_.exec("BEGIN"); !st) return st.status();
    for (const auto& row : t.rows) {
      const TableInfo* table = impl_->state.table(row.table);
      if (!table) {
        site_.exec("ROLLBACK");
        return Status::notFound(fmt::format("transaction {} writes table \"{}\", which is not tracked here",
                                            t.dot.toString(), row.table));
      }
      if (row.op == RowOp::kUpdate && row.columns.empty()) continue;
      auto [sql, params] = rewriteOf(*table, row);
      auto r = site_.exec(sql, params);
      if (!r) {
        site_.exec("ROLLBACK");
        return r.status().withContext(fmt::format("re-issuing transaction {}", t.dot.toString()));
      }
      written += static_cast<std::uint64_t>(r->changes);
    }
    if (auto st = site_.exec("COMMIT"); !st) return st.status();
  }
  return written;
}

Status Replication::noteComparison(const SiteId& peer, std::string_view peerName,
                                   const Status& found) {
  return guarded([&]() -> Status {
    if (impl_->state.db.inTransaction()) return Status::busy("a transaction is open on this site");
    std::string_view id(reinterpret_cast<const char*>(peer.bytes.data()), peer.bytes.size());
    if (found.code() != Status::Code::kDiverged) {  // the usual case: nothing recorded, nothing to write
      impl_->refreshForRead();
      auto& standing = impl_->state.db.cached("SELECT 1 FROM parley_divergence WHERE peer = ?1");
      standing.bindBlob(1, id);
      bool any = standing.step();
      standing.reset();
      if (!any) return Status::ok();
    }
    impl_->writeNow([&] {
      if (found.code() == Status::Code::kDiverged) {
        auto& st = impl_->state.db.cached(
            "INSERT OR REPLACE INTO parley_divergence(peer, name, detected_ms, message) VALUES (?1, ?2, ?3, ?4)");
        st.bindBlob(1, id).bindText(2, peerName).bind(3, static_cast<std::int64_t>(impl_->state.clock.nowMillis()));
        st.bindText(4, found.message());
        st.run();
      } else {
        auto& st = impl_->state.db.cached("DELETE FROM parley_divergence WHERE peer = ?1");
        st.bindBlob(1, id);
        st.run();
      }
    });
    return Status::ok();
  });
}

Result<std::vector<Replication::Divergence>> Replication::divergences() const {
  return guarded([&]() -> Result<std::vector<Divergence>> {
    impl_->refreshForRead();
    std::vector<Divergence> out;
    sql::Stmt st(impl_->state.db.raw(), "SELECT peer, name, detected_ms, message FROM parley_divergence ORDER BY detected_ms");
    while (st.step()) {
      std::string_view id = st.blob(0);
      if (id.size() != 16) continue;
      out.push_back({SiteId::fromBytes(reinterpret_cast<const std::uint8_t*>(id.data()), 16), st.text(1),
                     static_cast<std::uint64_t>(st.int64(2)), st.text(3)});
    }
    return out;
  });
}

}  // namespace parley
