#include "parley/txn_codec.hpp"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <kj/io.h>

#include <algorithm>
#include <unordered_map>

#include "parley/status.hpp"
#include "txn.capnp.h"

namespace parley {
namespace {

// Interns sites and tables so each is written once per transaction.
class Interner {
 public:
  std::uint32_t site(const SiteId& id) { return intern(sites_, siteIndex_, id); }
  std::uint32_t table(const std::string& name) { return intern(tables_, tableIndex_, name); }
  const std::vector<SiteId>& sites() const { return sites_; }
  const std::vector<std::string>& tables() const { return tables_; }

 private:
  template <class T, class Map>
  static std::uint32_t intern(std::vector<T>& list, Map& index, const T& key) {
    auto [it, added] = index.try_emplace(key, static_cast<std::uint32_t>(list.size()));
    if (added) list.push_back(key);
    return it->second;
  }
  std::vector<SiteId> sites_;
  std::unordered_map<SiteId, std::uint32_t, SiteIdHash> siteIndex_;
  std::vector<std::string> tables_;
  std::unordered_map<std::string, std::uint32_t> tableIndex_;
};

constexpr std::uint64_t kMaxTransactionWords = std::uint64_t{512} << 20 >> 3;  // 512 MiB

[[noreturn]] void corrupt(std::string what) {
  for (auto& c : what)
    if (c == '\n' || c == '\r') c = ' ';
  throw Error(Status::corruption("transaction: " + what));
}

kj::ArrayPtr<const kj::byte> bytesOf(const std::string& s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

void writeValue(wire::Value::Builder b, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: b.setNull(); break;
    case Value::Type::kInteger: b.setInteger(v.asInteger()); break;
    case Value::Type::kReal: b.setReal(v.asReal()); break;
    case Value::Type::kText: b.setText(capnp::Text::Reader(v.asText().data(), v.asText().size())); break;
    case Value::Type::kBlob: b.setBlob(bytesOf(v.asBlob())); break;
  }
}

// What decoding may build: every element is charged a generous estimate of the words it
// re-encodes to, so whatever decodes also re-encodes within the read limit, and a small input
// full of empty list elements cannot make a huge transaction.
class Budget {
 public:
  void charge(std::uint64_t words) {
    if (words > left_) corrupt("larger than a transaction may be (512 MiB decoded)");
    left_ -= words;
  }
  void chargeBytes(std::size_t bytes) { charge(4 + bytes / 8); }

 private:
  std::uint64_t left_ = kMaxTransactionWords;
};

Value readValue(wire::Value::Reader r, Budget& budget) {
  budget.charge(4);
  switch (r.which()) {
    case wire::Value::NULL_: return Value::null();
    case wire::Value::INTEGER: return Value::integer(r.getInteger());
    case wire::Value::REAL: return Value::real(r.getReal());
    case wire::Value::TEXT: {
      auto t = r.getText();
      budget.chargeBytes(t.size());
      return Value::text(std::string(t.begin(), t.size()));
    }
    case wire::Value::BLOB: {
      auto d = r.getBlob();
      budget.chargeBytes(d.size());
      return Value::blob(std::string(reinterpret_cast<const char*>(d.begin()), d.size()));
    }
  }
  corrupt("unknown value kind");
}

void writeDots(capnp::List<wire::Dot>::Builder list, const Dots& dots, Interner& in) {
  for (unsigned i = 0; i < dots.size(); ++i) {
    list[i].setSite(in.site(dots[i].site));
    list[i].setSeq(dots[i].seq);
  }
}

Dots readDots(capnp::List<wire::Dot>::Reader list, const std::vector<SiteId>& sites, Budget& budget) {
  budget.charge(2 + 3 * static_cast<std::uint64_t>(list.size()));
  Dots dots;
  dots.reserve(list.size());
  for (auto d : list) {
    if (d.getSite() >= sites.size()) corrupt("dot names site " + std::to_string(d.getSite()) + " of " + std::to_string(sites.size()));
    if (d.getSeq() == 0) corrupt("dot with seq 0");
    dots.push_back({sites[d.getSite()], d.getSeq()});
  }
  std::sort(dots.begin(), dots.end());
  dots.erase(std::unique(dots.begin(), dots.end()), dots.end());
  return dots;
}

void writeRow(wire::RowChange::Builder b, const RowChange& row, Interner& in) {
  b.setTable(in.table(row.table));
  b.setOp(static_cast<wire::RowOp>(row.op));
  auto pk = b.initPk(static_cast<unsigned>(row.pk.size()));
  for (unsigned i = 0; i < row.pk.size(); ++i) writeValue(pk[i], row.pk[i]);
  auto cols = b.initColumns(static_cast<unsigned>(row.columns.size()));
  for (unsigned i = 0; i < row.columns.size(); ++i) {
    const auto& c = row.columns[i];
    cols[i].setColumn(c.column);
    writeValue(cols[i].initOld(), c.oldValue);
    writeValue(cols[i].initNew(), c.newValue);
    writeDots(cols[i].initBase(static_cast<unsigned>(c.base.size())), c.base, in);
  }
  writeDots(b.initRowBase(static_cast<unsigned>(row.rowBase.size())), row.rowBase, in);
}

RowChange readRow(wire::RowChange::Reader r, const std::vector<SiteId>& sites,
                  const std::vector<std::string>& tables, Budget& budget) {
  budget.charge(12);
  RowChange row;
  if (r.getTable() >= tables.size()) corrupt("row names table " + std::to_string(r.getTable()));
  row.table = tables[r.getTable()];
  auto op = static_cast<unsigned>(r.getOp());
  if (op > 2) corrupt("unknown row operation " + std::to_string(op));
  row.op = static_cast<RowOp>(op);
  if (r.getPk().size() == 0) corrupt("row without key");
  for (auto v : r.getPk()) row.pk.push_back(readValue(v, budget));
  for (auto c : r.getColumns()) {
    budget.charge(8);
    row.columns.push_back({c.getColumn(), readValue(c.getOld(), budget), readValue(c.getNew(), budget),
                           readDots(c.getBase(), sites, budget)});
  }
  row.rowBase = readDots(r.getRowBase(), sites, budget);
  return row;
}

// A generous guess at a transaction's encoded size in words, so the builder and the output
// buffer are allocated once rather than grown (and copied) segment by segment.
std::size_t estimatedWords(const Transaction& t) {
  std::size_t words = 64 + 4 * t.context.entries().size();
  for (const auto& row : t.rows) words += 16 + 4 * row.pk.size() + 16 * row.columns.size();
  return words;
}

}  // namespace

std::string encodeTransaction(const Transaction& t) {
  std::size_t words = estimatedWords(t);
  capnp::MallocMessageBuilder message(static_cast<unsigned>(std::min<std::size_t>(words, 1u << 26)));
  auto b = message.initRoot<wire::Transaction>();
  Interner in;
  in.site(t.dot.site);
  b.setSeq(t.dot.seq);
  b.setHlc(t.hlc.value);
  auto ctx = b.initContext(static_cast<unsigned>(t.context.entries().size()));
  for (unsigned i = 0; i < t.context.entries().size(); ++i) {
    ctx[i].setSite(in.site(t.context.entries()[i].first));
    ctx[i].setSeq(t.context.entries()[i].second);
  }
  auto rows = b.initRows(static_cast<unsigned>(t.rows.size()));
  for (unsigned i = 0; i < t.rows.size(); ++i) writeRow(rows[i], t.rows[i], in);
  auto sites = b.initSites(static_cast<unsigned>(in.sites().size()));
  for (unsigned i = 0; i < in.sites().size(); ++i)
    sites.set(i, kj::arrayPtr(in.sites()[i].bytes.data(), 16));
  auto tables = b.initTables(static_cast<unsigned>(in.tables().size()));
  for (unsigned i = 0; i < in.tables().size(); ++i)
    tables.set(i, capnp::Text::Reader(in.tables()[i].data(), in.tables()[i].size()));

  kj::VectorOutputStream out(std::min<std::size_t>(words * 8, std::size_t{1} << 28));
  capnp::writePackedMessage(out, message);
  auto a = out.getArray();
  return std::string(reinterpret_cast<const char*>(a.begin()), a.size());
}

Transaction decodeTransaction(std::string_view bytes) {
  try {
    kj::ArrayInputStream in(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
    capnp::ReaderOptions options;
    // Packing compresses runs of zero words to two bytes, so the packed size says little: the
    // limit follows the unpacked size (decoding reads some lists twice), capped at 512 MiB.
    auto packed = kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size());
    options.traversalLimitInWords =
        std::min<std::uint64_t>(2 * capnp::computeUnpackedSizeInWords(packed) + 1024, kMaxTransactionWords);
    options.nestingLimit = 16;
    capnp::PackedMessageReader message(in, options);
    auto r = message.getRoot<wire::Transaction>();

    Budget budget;
    std::vector<SiteId> sites;
    budget.charge(8 + 4 * static_cast<std::uint64_t>(r.getSites().size() + r.getContext().size()));
    for (auto s : r.getSites()) {
      if (s.size() != 16) corrupt("site id of " + std::to_string(s.size()) + " bytes");
      sites.push_back(SiteId::fromBytes(s.begin(), 16));
    }
    if (sites.empty()) corrupt("no origin site");
    std::vector<std::string> tables;
    for (auto t : r.getTables()) {
      budget.chargeBytes(t.size());
      tables.emplace_back(t.begin(), t.size());
    }

    Transaction t;
    if (r.getSeq() == 0) corrupt("seq 0");
    t.dot = {sites[0], r.getSeq()};
    t.hlc.value = r.getHlc();
    for (auto d : r.getContext()) {
      if (d.getSite() >= sites.size()) corrupt("context names site " + std::to_string(d.getSite()));
      t.context.advance({sites[d.getSite()], d.getSeq()});
    }
    t.rows.reserve(r.getRows().size());
    for (auto row : r.getRows()) t.rows.push_back(readRow(row, sites, tables, budget));
    return t;
  } catch (const kj::Exception& e) {
    corrupt(std::string("malformed message: ") + e.getDescription().cStr());
  }
}

}  // namespace parley
