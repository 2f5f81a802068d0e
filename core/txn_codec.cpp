#include "parley/txn_codec.hpp"

#include <algorithm>
#include <unordered_map>

#include "codec.hpp"
#include "parley/status.hpp"

namespace parley {
namespace {

constexpr std::size_t kMaxTransactionBytes = std::size_t{512} << 20;  // 512 MiB encoded

// Interns sites and tables so each is written once per transaction.
class Interner {
 public:
  std::uint32_t site(const SiteId& id) {
    // Most dots of a transaction name one or two sites: remember the last.
    if (lastSite_ < sites_.size() && sites_[lastSite_] == id) return lastSite_;
    return lastSite_ = intern(sites_, siteIndex_, id);
  }
  std::uint32_t table(const std::string& name) {
    if (lastTable_ < tables_.size() && tables_[lastTable_] == name) return lastTable_;
    return lastTable_ = intern(tables_, tableIndex_, name);
  }
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
  std::uint32_t lastSite_ = UINT32_MAX;
  std::uint32_t lastTable_ = UINT32_MAX;
  std::vector<std::string> tables_;
  std::unordered_map<std::string, std::uint32_t> tableIndex_;
};

// Dots lists of a transaction's rows (column bases, then the row base, row after row). A
// list of one dot equal to the list written just before it (an update's columns usually read
// versions of one write) is the single byte 0; any other list is its count + 1, then its dots.
class DotsWriter {
 public:
  void write(codec::Writer& w, const Dots& dots, Interner& in) {
    if (dots.size() == 1 && previous_ && *previous_ == dots) {
      w.varint(0);
      return;
    }
    previous_ = &dots;
    w.varint(dots.size() + 1);
    for (const auto& d : dots) {
      w.varint(in.site(d.site));
      w.varint(d.seq);
    }
  }

 private:
  const Dots* previous_ = nullptr;
};

void writeRow(codec::Writer& w, const RowChange& row, Interner& in, DotsWriter& dots) {
  w.varint(std::uint64_t{in.table(row.table)} << 2 | static_cast<std::uint8_t>(row.op));
  w.varint(row.pk.size());
  for (const auto& v : row.pk) w.compactValue(v);
  w.varint(row.columns.size());
  for (const auto& c : row.columns) {
    w.varint(c.column);
    w.compactValue(c.oldValue);
    w.compactValue(c.newValue);
    dots.write(w, c.base, in);
  }
  dots.write(w, row.rowBase, in);
}

// A generous guess at the encoded size, so the output is allocated once.
std::size_t estimatedBytes(const Transaction& t) {
  std::size_t bytes = 64 + 24 * t.context.entries().size();
  for (const auto& row : t.rows) bytes += 16 + 4 * row.pk.size() + 16 * row.columns.size();
  return bytes;
}

// Reads what encodeTransaction wrote, checking everything; `r` throws on truncation.
class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : r_(bytes, "transaction") {}

  Transaction run() {
    std::uint8_t format = r_.byte();
    if (format != kTransactionFormat)
      r_.fail("format " + std::to_string(format) + " is not supported (this parley reads " +
              std::to_string(kTransactionFormat) + ")");
    Transaction t;
    std::uint64_t seq = r_.varint();
    if (seq == 0) r_.fail("seq 0");
    t.hlc.value = r_.fixed64();
    std::uint64_t nSites = r_.count();
    if (nSites == 0) r_.fail("no origin site");
    if (nSites > r_.remaining() / 16) r_.fail("site list beyond end");
    sites_.reserve(nSites);
    for (std::uint64_t i = 0; i < nSites; ++i) {
      std::string_view id = r_.raw(16);
      sites_.push_back(SiteId::fromBytes(reinterpret_cast<const std::uint8_t*>(id.data()), 16));
    }
    t.dot = {sites_[0], seq};
    for (std::uint64_t i = 0, n = r_.count(); i < n; ++i) {
      const SiteId& site = siteAt(r_.varint());
      t.context.advance({site, r_.varint()});
    }
    for (std::uint64_t i = 0, n = r_.count(); i < n; ++i) tables_.emplace_back(r_.bytes());
    std::uint64_t nRows = r_.count();
    t.rows.reserve(nRows);
    for (std::uint64_t i = 0; i < nRows; ++i) t.rows.push_back(row());
    r_.expectDone();
    return t;
  }

 private:
  const SiteId& siteAt(std::uint64_t index) {
    if (index >= sites_.size())
      r_.fail("names site " + std::to_string(index) + " of " + std::to_string(sites_.size()));
    return sites_[index];
  }

  Dots dots() {
    std::uint64_t n = r_.varint();
    if (n == 0) {  // the previous list again; one dot for the byte, so decoding stays linear
      if (previous_.size() != 1) r_.fail("repeats a previous base that is not one dot");
      return previous_;
    }
    if (--n > r_.remaining()) r_.fail("count " + std::to_string(n) + " beyond the bytes left");
    Dots out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      const SiteId& site = siteAt(r_.varint());
      std::uint64_t seq = r_.varint();
      if (seq == 0) r_.fail("dot with seq 0");
      out.push_back({site, seq});
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    previous_ = out;
    return out;
  }

  RowChange row() {
    RowChange row;
    std::uint64_t head = r_.varint();
    if ((head >> 2) >= tables_.size()) r_.fail("row names table " + std::to_string(head >> 2));
    if ((head & 3) > 2) r_.fail("unknown row operation 3");
    row.table = tables_[head >> 2];
    row.op = static_cast<RowOp>(head & 3);
    std::uint64_t nKey = r_.count();
    if (nKey == 0) r_.fail("row without key");
    row.pk.reserve(nKey);
    for (std::uint64_t i = 0; i < nKey; ++i) row.pk.push_back(r_.compactValue());
    std::uint64_t nColumns = r_.count();
    row.columns.reserve(nColumns);
    for (std::uint64_t i = 0; i < nColumns; ++i) {
      std::uint64_t column = r_.varint();
      if (column > UINT32_MAX) r_.fail("column index " + std::to_string(column));
      ColumnWrite c;
      c.column = static_cast<std::uint32_t>(column);
      c.oldValue = r_.compactValue();
      c.newValue = r_.compactValue();
      c.base = dots();
      row.columns.push_back(std::move(c));
    }
    row.rowBase = dots();
    return row;
  }

  codec::Reader r_;
  std::vector<SiteId> sites_;
  std::vector<std::string> tables_;
  Dots previous_;  // the last dots list read
};

}  // namespace

std::string encodeTransaction(const Transaction& t) {
  Interner in;
  in.site(t.dot.site);
  for (const auto& [site, seq] : t.context.entries()) in.site(site);
  std::string rows;
  rows.reserve(estimatedBytes(t));
  codec::Writer rw(rows);
  rw.varint(t.rows.size());
  DotsWriter dots;
  for (const auto& row : t.rows) writeRow(rw, row, in, dots);

  std::string out;
  out.reserve(rows.size() + 32 + 17 * in.sites().size() + 16 * in.tables().size());
  codec::Writer w(out);
  w.byte(kTransactionFormat);
  w.varint(t.dot.seq);
  w.fixed64(t.hlc.value);
  w.varint(in.sites().size());
  for (const auto& s : in.sites()) out.append(reinterpret_cast<const char*>(s.bytes.data()), 16);
  w.varint(t.context.entries().size());
  for (const auto& [site, seq] : t.context.entries()) {
    w.varint(in.site(site));
    w.varint(seq);
  }
  w.varint(in.tables().size());
  for (const auto& name : in.tables()) w.bytes(name);
  out += rows;
  return out;
}

Transaction decodeTransaction(std::string_view bytes) {
  if (bytes.size() > kMaxTransactionBytes)
    throw Error(Status::corruption("transaction: larger than a transaction may be (512 MiB)"));
  return Decoder(bytes).run();
}

}  // namespace parley
