#include "admission.hpp"

#include "schema_change.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "codec.hpp"
#include "store.hpp"

namespace parley {
namespace {

// Two transactions with one dot: the site that made them wrote two histories under one id.
[[noreturn]] void refuseFork(const Dot& dot, const ChainHash& held, const ChainHash& incoming, const char* what) {
  throw Error(Status::diverged(fmt::format(
      "site {} forked at seq {}: {} (held {}, incoming {}); a copy of its file or a restored backup wrote "
      "under its id. Nothing was applied. At the copy that wrote second, run `parley rejoin` (see \"When sites "
      "disagree\" in the README)",
      dot.site.shortHex(), dot.seq, what, held.shortHex(), incoming.shortHex())));
}

// The transactions of `in` not yet held, each once, in canonical order; counts the others in
// result.duplicates. Throws Error(kDiverged) for two different transactions with one dot.
std::vector<const Transaction*> selectNew(std::span<const Transaction> in, const store::Held& held, ApplyResult& result) {
  std::vector<const Transaction*> out;
  std::map<Dot, const ChainHash*> seen;
  for (const auto& t : in) {
    // Delivered twice is harmless; a different transaction under a held dot is a fork.
    if (held.vector.contains(t.dot)) {
      if (!t.hash.empty())
        if (auto link = held.link(t.dot); link && !link->hash.empty() && link->hash != t.hash)
          refuseFork(t.dot, link->hash, t.hash, "this site holds another transaction with that dot");
      ++result.duplicates;
      continue;
    }
    if (auto [at, added] = seen.try_emplace(t.dot, &t.hash); !added) {
      if (!at->second->empty() && !t.hash.empty() && *at->second != t.hash)
        refuseFork(t.dot, *at->second, t.hash, "two transactions with that dot arrived together");
      ++result.duplicates;
      continue;
    }
    out.push_back(&t);
  }
  std::sort(out.begin(), out.end(), inCanonicalOrder);
  return out;
}

[[noreturn]] void refuseUnready(const Transaction& t, const SiteId& site, std::uint64_t need, std::uint64_t have) {
  throw Error(Status::notReady(fmt::format(
      "transaction {} needs {}:{} but this site holds {}:{}; deliver the missing transactions first",
      t.dot.toString(), site.shortHex(), need, site.shortHex(), have)));
}

// Throws Error(kNotReady) unless every transaction's causal context is held before it and each
// origin's seqs are gapless.
void checkReady(const VersionVector& vector, const std::vector<const Transaction*>& txns) {
  // What the site holds once the transactions before t are in: its vector, with the entries
  // they raised kept apart (a copy of the vector, or a walk over it per transaction, would cost
  // one step per site of the cluster).
  VersionVector raised;
  auto held = [&](const SiteId& site) {
    std::uint64_t r = raised.get(site);
    return r ? r : vector.get(site);
  };
  for (const Transaction* t : txns) {
    std::uint64_t have = held(t->dot.site);
    if (t->dot.seq != have + 1) refuseUnready(*t, t->dot.site, t->dot.seq - 1, have);
    for (const auto& [site, seq] : t->context.entries())
      if (held(site) < seq) refuseUnready(*t, site, seq, held(site));
    raised.set(t->dot.site, t->dot.seq);
  }
}

// Each transaction follows its origin's previous one: its HLC is later (kInvalidArgument
// otherwise) and it links to that one's hash (kDiverged otherwise).
void checkHistories(const store::Held& held, std::vector<const Transaction*> txns) {
  std::sort(txns.begin(), txns.end(), [](const Transaction* a, const Transaction* b) { return a->dot < b->dot; });
  const Transaction* previous = nullptr;
  for (const Transaction* t : txns) {
    std::optional<Hlc> before;
    ChainHash link;
    if (previous && previous->dot.site == t->dot.site && previous->dot.seq + 1 == t->dot.seq) {
      before = previous->hlc;
      link = previous->hash;
    } else if (t->dot.seq > 1) {
      if (auto* stored = held.link({t->dot.site, t->dot.seq - 1})) before = stored->hlc, link = stored->hash;
    }
    if (!t->prev.empty() && !link.empty() && t->prev != link)
      refuseFork({t->dot.site, t->dot.seq - 1}, link, t->prev, "the incoming transaction after it links to another");
    if (before && !(*before < t->hlc))
      throw Error(Status::invalidArgument(fmt::format(
          "transaction {}: its HLC is not after its origin's previous transaction's; its origin is not a parley site",
          t->dot.toString())));
    previous = t;
  }
}

}  // namespace

std::vector<const Transaction*> admit(std::span<const Transaction> in, const store::Held& held, ApplyResult& result) {
  auto fresh = selectNew(in, held, result);
  if (fresh.empty()) return fresh;
  checkHistories(held, fresh);
  checkReady(held.vector, fresh);
  return fresh;
}

namespace {

// A table name from a peer, as a message quotes it: control characters shown as '?' (it may
// hold newlines or terminal escapes), and cut at 100 bytes.
std::string peerName(std::string_view name) {
  std::string out(name.substr(0, 100));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return name.size() > 100 ? out + "..." : out;
}

// The keys of a transaction's rows, to find a row changed twice. Sorting beats a set of
// encoded keys (a node and a string per row); single integer keys need no encoding at all.
class RowKeys {
 public:
  void add(const TableInfo* table, const Row& pk) {
    if (pk.size() == 1 && pk[0].type() == Value::Type::kInteger) integers_.push_back({table, pk[0].asInteger()});
    else encoded_.push_back({table, codec::encodeKey(pk)});
  }
  // A table with a row added twice, if any.
  const TableInfo* repeated() {
    if (auto* t = firstRepeat(integers_)) return t;
    return firstRepeat(encoded_);
  }

 private:
  template <class K>
  static const TableInfo* firstRepeat(std::vector<std::pair<const TableInfo*, K>>& keys) {
    auto before = [](const auto& a, const auto& b) {
      return a.first->id != b.first->id ? a.first->id < b.first->id : a.second < b.second;
    };
    std::sort(keys.begin(), keys.end(), before);
    auto it = std::adjacent_find(keys.begin(), keys.end());
    return it == keys.end() ? nullptr : it->first;
  }

  std::vector<std::pair<const TableInfo*, std::int64_t>> integers_;
  std::vector<std::pair<const TableInfo*, std::string>> encoded_;
};

[[noreturn]] void misfit(const Transaction& t, const std::string& what) {
  throw Error(Status::invalidArgument(fmt::format("transaction {}: {}", t.dot.toString(), what)));
}

}  // namespace

void checkFits(TableLookup tables, const Transaction& t) {
  // A transaction of this site's own that it does not hold: this site lost it (it was restored
  // from a backup) and takes it back from a peer that holds it.
  if (t.dot.seq > store::kMaxLogSeq) misfit(t, fmt::format("seq beyond {}", store::kMaxLogSeq));
  if (isSchemaTransaction(t)) {
    for (const auto& row : t.rows)
      if (row.table != kSchemaTable) misfit(t, "mixes schema changes with data");
    try {
      schemaChanges(t);
    } catch (const Error& e) {
      misfit(t, e.status().message());
    }
    return;
  }
  RowKeys keys;
  for (const auto& row : t.rows) {
    const TableInfo* table = tables.named(row.table);
    if (!table) misfit(t, fmt::format("changes table \"{}\", which this site does not track", peerName(row.table)));
    if (row.pk.size() != table->pk.size())
      misfit(t, fmt::format("key of table \"{}\" has {} values, expected {}", row.table, row.pk.size(), table->pk.size()));
    for (const auto& w : row.columns) {
      if (w.column >= table->columns.size() || table->isKey[w.column])
        misfit(t, fmt::format("writes column {} of table \"{}\", which is not a non-key column", w.column, row.table));
    }
    keys.add(table, row.pk);
  }
  if (const TableInfo* table = keys.repeated())
    misfit(t, fmt::format("changes one row of table \"{}\" twice", table->name));
}

namespace {

// Whether transactions that sort before held ones must be folded in canonical order (a
// re-fold) rather than on arrival: when some tracked table is order-sensitive, or when one of
// them sorts before an order-dependent schema transaction, held (the barrier) or arriving.
bool foldsInOrder(TableLookup tables, const Bounds& held, const std::vector<const Transaction*>& fresh) {
  if (tables.orderSensitive()) return true;
  if (held.barrier && fresh.front()->hlc <= *held.barrier) return true;  // ties: either site
  auto isHeld = [&](const Stamp& x) {
    return (held.frontier && x < *held.frontier) || (held.compacted && x < *held.compacted);
  };
  return std::any_of(fresh.begin(), fresh.end(),
                     [&](const Transaction* t) { return isHeld(t->stamp()) && isOrderDependent(*t); });
}

}  // namespace

bool refolds(TableLookup tables, const Bounds& held, const std::vector<const Transaction*>& fresh) {
  if (!foldsInOrder(tables, held, fresh)) return false;
  Stamp first = fresh.front()->stamp();
  if (held.compacted && first < *held.compacted)
    throw Error(Status::notReady(fmt::format(
        "transaction {} sorts before history this site has compacted; its origin must be cloned anew",
        fresh.front()->dot.toString())));
  return held.frontier && first < *held.frontier;
}

}  // namespace parley
