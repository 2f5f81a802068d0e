#include "parley/txn_codec.hpp"

#include <algorithm>
#include <new>
#include <optional>
#include <unordered_map>

#include <xxhash.h>

#include "codec.hpp"
#include "txn_encoder.hpp"
#include "parley/status.hpp"

namespace parley {
namespace {

constexpr std::size_t kMaxTransactionBytes = std::size_t{512} << 20;  // 512 MiB encoded

template <class T, class Map>
std::uint32_t intern(std::vector<T>& list, Map& index, const T& key) {
  auto [it, added] = index.try_emplace(key, static_cast<std::uint32_t>(list.size()));
  if (added) list.push_back(key);
  return it->second;
}

// Reads what encodeTransaction wrote, checking everything; `r` throws on truncation.
class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : r_(bytes, "transaction") {}

  // Overwrites `t` with the transaction read, reusing the storage it holds (its rows, their
  // keys, writes and dots): decoding into the same Transaction again allocates little.
  void run(Transaction& t) {
    std::uint8_t format = r_.byte();
    // Format 2 carried whole contexts, which format 3's rule allows: it reads the same.
    // Formats 2 and 3 carry no hash chain: their links read as empty.
    if (format != kTransactionFormat && format != 3 && format != 2)
      r_.fail("format " + std::to_string(format) + " is not supported (this parley reads 2 to " +
              std::to_string(kTransactionFormat) + ")");
    std::uint64_t seq = r_.varint();
    if (seq == 0) r_.fail("seq 0");
    t.hlc.value = r_.fixed64();
    t.prev = {};
    t.hash = {};
    if (format == kTransactionFormat) {
      readHash(t.prev);
      readHash(t.hash);
    }
    std::uint64_t nSites = r_.count();
    if (nSites == 0) r_.fail("no origin site");
    if (nSites > r_.remaining() / 16) r_.fail("site list beyond end");
    sites_.reserve(nSites);
    for (std::uint64_t i = 0; i < nSites; ++i) {
      std::string_view id = r_.raw(16);
      sites_.push_back(SiteId::fromBytes(reinterpret_cast<const std::uint8_t*>(id.data()), 16));
    }
    t.dot = {sites_[0], seq};
    t.context = VersionVector{};
    for (std::uint64_t i = 0, n = r_.count(); i < n; ++i) {
      const SiteId& site = siteAt(r_.varint());
      t.context.advance({site, r_.varint()});
    }
    for (std::uint64_t i = 0, n = r_.count(); i < n; ++i) tables_.emplace_back(r_.bytes());
    std::uint64_t nRows = r_.count();
    t.rows.resize(nRows);
    for (auto& row : t.rows) readRow(row);
    r_.expectDone();
  }

 private:
  const SiteId& siteAt(std::uint64_t index) {
    if (index >= sites_.size())
      r_.fail("names site " + std::to_string(index) + " of " + std::to_string(sites_.size()));
    return sites_[index];
  }

  void readHash(ChainHash& out) {
    std::string_view bytes = r_.raw(out.bytes.size());
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  }

  // Reads a dots list into `out`, reusing its storage.
  void readDots(Dots& out) {
    std::uint64_t n = r_.varint();
    if (n == 0) {  // the previous list again; one dot for the byte, so decoding stays linear
      if (!previous_) r_.fail("repeats a previous base that is not one dot");
      out.assign(1, *previous_);
      return;
    }
    if (--n > r_.remaining()) r_.fail("count " + std::to_string(n) + " beyond the bytes left");
    out.clear();
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      const SiteId& site = siteAt(r_.varint());
      std::uint64_t seq = r_.varint();
      if (seq == 0) r_.fail("dot with seq 0");
      out.push_back({site, seq});
    }
    if (out.size() > 1) {
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    previous_ = out.size() == 1 ? std::optional<Dot>(out[0]) : std::nullopt;
  }

  void readRow(RowChange& row) {
    std::uint64_t head = r_.varint();
    if ((head >> 2) >= tables_.size()) r_.fail("row names table " + std::to_string(head >> 2));
    if ((head & 3) > 2) r_.fail("unknown row operation 3");
    row.table = tables_[head >> 2];
    row.op = static_cast<RowOp>(head & 3);
    std::uint64_t nKey = r_.count();
    if (nKey == 0) r_.fail("row without key");
    row.pk.resize(nKey);
    for (auto& v : row.pk) v = r_.compactValue();
    std::uint64_t nColumns = r_.count();
    row.columns.resize(nColumns);
    for (auto& c : row.columns) {
      std::uint64_t column = r_.varint();
      if (column > UINT32_MAX) r_.fail("column index " + std::to_string(column));
      c.column = static_cast<std::uint32_t>(column);
      c.oldValue = r_.compactValue();
      c.newValue = r_.compactValue();
      readDots(c.base);
    }
    readDots(row.rowBase);
  }

  codec::Reader r_;
  std::vector<SiteId> sites_;
  std::vector<std::string> tables_;
  std::optional<Dot> previous_;  // the last dots list read, if it was one dot
};

}  // namespace

std::string encodeTransaction(const Transaction& t) {
  TransactionEncoder encoder(t, t.rows.size());
  for (const auto& row : t.rows) encoder.add(row);
  return encoder.finish();
}

std::uint32_t TransactionEncoder::Interner::site(const SiteId& id) {
  // Most dots of a transaction name one or two sites: remember the last.
  if (lastSite_ < sites_.size() && sites_[lastSite_] == id) return lastSite_;
  return lastSite_ = intern(sites_, siteIndex_, id);
}

std::uint32_t TransactionEncoder::Interner::table(const std::string& name) {
  if (lastTable_ < tables_.size() && tables_[lastTable_] == name) return lastTable_;
  return lastTable_ = intern(tables_, tableIndex_, name);
}

TransactionEncoder::TransactionEncoder(const Transaction& t, std::size_t rowsHint) : header_(t) {
  in_.site(t.dot.site);
  for (const auto& [site, seq] : t.context.entries()) in_.site(site);
  rows_.reserve(16 + 40 * rowsHint);  // a generous guess: the rows are allocated once
}

void TransactionEncoder::writeDots(const Dots& dots) {
  codec::Writer w(rows_);
  if (dots.size() == 1 && previousSingle_ && *previousSingle_ == dots[0]) {
    w.varint(0);
    return;
  }
  previousSingle_ = dots.size() == 1 ? std::optional<Dot>(dots[0]) : std::nullopt;
  w.varint(dots.size() + 1);
  for (const auto& d : dots) {
    w.varint(in_.site(d.site));
    w.varint(d.seq);
  }
}

void TransactionEncoder::add(const RowChange& row) {
  codec::Writer w(rows_);
  w.varint(std::uint64_t{in_.table(row.table)} << 2 | static_cast<std::uint8_t>(row.op));
  w.varint(row.pk.size());
  for (const auto& v : row.pk) w.compactValue(v);
  w.varint(row.columns.size());
  for (const auto& c : row.columns) {
    w.varint(c.column);
    w.compactValue(c.oldValue);
    w.compactValue(c.newValue);
    writeDots(c.base);
  }
  writeDots(row.rowBase);
  ++rowCount_;
}

std::string TransactionEncoder::finish() {
  const Transaction& t = header_;
  std::string head;
  codec::Writer w(head);
  w.byte(kTransactionFormat);
  w.varint(t.dot.seq);
  w.fixed64(t.hlc.value);
  head.append(reinterpret_cast<const char*>(t.prev.bytes.data()), t.prev.bytes.size());
  std::size_t hashAt = head.size();
  head.append(reinterpret_cast<const char*>(t.hash.bytes.data()), t.hash.bytes.size());
  w.varint(in_.sites().size());
  for (const auto& s : in_.sites()) head.append(reinterpret_cast<const char*>(s.bytes.data()), 16);
  w.varint(t.context.entries().size());
  for (const auto& [site, seq] : t.context.entries()) {
    w.varint(in_.site(site));
    w.varint(seq);
  }
  w.varint(in_.tables().size());
  for (const auto& name : in_.tables()) w.bytes(name);
  w.varint(rowCount_);
  // The header goes in front of the rows, in their buffer (usually within the room reserved):
  // a large transaction's rows are not copied into a second buffer.
  rows_.insert(0, head);
  // A transaction's own hash is its origin's: made once, when it is first encoded (a commit),
  // and carried unchanged when it is encoded again elsewhere.
  if (t.hash.empty()) {
    ChainHash h = chainHashOf(rows_);
    std::copy(h.bytes.begin(), h.bytes.end(), rows_.begin() + static_cast<std::ptrdiff_t>(hashAt));
  }
  return std::move(rows_);
}

ChainHash chainHashOf(std::string_view body) {
  // The body as encoded with an empty hash field; the hash of nothing but zeros is never empty.
  XXH128_hash_t h = XXH3_128bits(body.data(), body.size());
  ChainHash out;
  for (int i = 0; i < 8; ++i) {
    out.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(h.high64 >> (56 - 8 * i));
    out.bytes[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(h.low64 >> (56 - 8 * i));
  }
  if (out.empty()) out.bytes[15] = 1;
  return out;
}

bool ChainHash::empty() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string ChainHash::hex() const {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) out += digits[b >> 4], out += digits[b & 15];
  return out;
}

std::string ChainHash::shortHex() const { return hex().substr(0, 8); }

std::optional<ChainHash> chainHashInBody(std::string_view body) {
  if (body.empty() || static_cast<std::uint8_t>(body[0]) != kTransactionFormat) return std::nullopt;
  std::size_t at = 1;
  while (at < body.size() && (static_cast<std::uint8_t>(body[at]) & 0x80)) ++at;  // the seq varint
  at += 1 + 8 + 16;
  if (at + 16 > body.size()) return std::nullopt;
  ChainHash out;
  std::copy(body.begin() + static_cast<std::ptrdiff_t>(at), body.begin() + static_cast<std::ptrdiff_t>(at + 16),
            out.bytes.begin());
  return out;
}

// The boundary of the public decoder: whatever the bytes, a Status, never an exception. The
// decoder below reports bad bytes by throwing Error(Corruption); a failed PARLEY_ASSERT
// (InternalError) is a bug and goes on.
Result<Transaction> decodeTransaction(std::string_view bytes) {
  Transaction t;
  if (Status st = decodeTransaction(bytes, t); !st) return st;
  return t;
}

Status decodeTransaction(std::string_view bytes, Transaction& into) {
  if (bytes.size() > kMaxTransactionBytes)
    return Status::corruption("transaction: larger than a transaction may be (512 MiB)");
  try {
    Decoder(bytes).run(into);
    return Status::ok();
  } catch (const Error& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return Status::ioError("transaction: out of memory decoding it");
  }
}

}  // namespace parley
