#include "row_meta.hpp"

#include <cstring>

#include "codec.hpp"

namespace parley {
namespace {

using codec::RawWriter;

void writeDots(RawWriter& w, const Dots& dots, RowMetaEncoder& sites) {
  w.varint(dots.size());
  for (const auto& d : dots) {
    w.varint(sites.indexOf(d.site));
    w.varint(d.seq);
  }
}

void writeTotals(RawWriter& w, const GCounter& g, RowMetaEncoder& sites) {
  w.varint(g.entries().size());
  for (const auto& [site, total] : g.entries()) {
    w.varint(sites.indexOf(site));
    w.signedVarint(total);
  }
}

void writeCell(RawWriter& w, const CellMeta& c, RowMetaEncoder& sites) {
  writeDots(w, c.dots, sites);
  w.varint(c.stamp.hlc.value);
  w.varint(sites.indexOf(c.stamp.site));
  w.byte(!c.counter ? 0 : c.moves ? 2 : 1);
  if (!c.counter) return;
  writeTotals(w, c.counter->increments(), sites);
  writeTotals(w, c.counter->decrements(), sites);
  if (!c.moves) return;
  w.varint(c.moves->transfers().size());
  for (const auto& [pair, total] : c.moves->transfers()) {
    w.varint(sites.indexOf(pair.first));
    w.varint(sites.indexOf(pair.second));
    w.signedVarint(total);
  }
  w.varint(c.moves->wants().size());
  for (const auto& [site, total] : c.moves->wants()) {
    w.varint(sites.indexOf(site));
    w.signedVarint(total);
  }
}

// At most what writeCell writes: varints of at most 10 bytes each.
std::size_t cellBound(const CellMeta& c) {
  constexpr std::size_t v = RawWriter::kMaxVarint;
  std::size_t n = v + 2 * v * c.dots.size() + 2 * v + 1;
  if (c.counter) n += 2 * v + 2 * v * (c.counter->increments().entries().size() + c.counter->decrements().entries().size());
  if (c.moves) n += 2 * v + 3 * v * c.moves->transfers().size() + 2 * v * c.moves->wants().size();
  return n;
}

std::size_t rowMetaBound(const RowMeta& m) {
  constexpr std::size_t v = RawWriter::kMaxVarint;
  std::size_t n = 1 + cellBound(m.existence) + v;
  for (const auto& c : m.cells)
    if (c) n += v + cellBound(*c);
  if (!m.alive) n += RawWriter::rowBound(m.tombstone);
  return n;
}

std::vector<GCounter::Entry> readTotals(codec::Reader& r, const SiteTable& sites) {
  auto n = r.varint();
  if (n > 65536) throw Error(Status::corruption("row metadata: too many counter entries"));
  std::vector<GCounter::Entry> out;
  for (std::uint64_t i = 0; i < n; ++i) {
    const SiteId& site = sites.idAt(static_cast<std::uint32_t>(r.varint()));
    std::int64_t total = r.signedVarint();
    if (total < 0) throw Error(Status::corruption("row metadata: negative counter total"));
    out.push_back({site, total});
  }
  return out;
}

RightsMoves readMoves(codec::Reader& r, const SiteTable& sites) {
  auto n = r.varint();
  if (n > 65536) throw Error(Status::corruption("row metadata: too many rights transfers"));
  std::vector<RightsMoves::Transfer> transfers;
  for (std::uint64_t i = 0; i < n; ++i) {
    const SiteId& from = sites.idAt(static_cast<std::uint32_t>(r.varint()));
    const SiteId& to = sites.idAt(static_cast<std::uint32_t>(r.varint()));
    std::int64_t total = r.signedVarint();
    if (total < 0) throw Error(Status::corruption("row metadata: negative rights transfer"));
    transfers.push_back({{from, to}, total});
  }
  auto wanted = readTotals(r, sites);
  return RightsMoves::fromTotals(std::move(transfers), std::move(wanted));
}

// Reads a dot list into `dots`, reusing its storage.
void readDots(codec::Reader& r, const SiteTable& sites, Dots& dots) {
  auto n = r.varint();
  if (n > 4096) throw Error(Status::corruption("row metadata: too many dots"));
  dots.clear();
  dots.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    const SiteId& site = sites.idAt(static_cast<std::uint32_t>(r.varint()));
    dots.push_back({site, r.varint()});
  }
}

// Reads a cell into `c`, reusing its dots' storage; every field is overwritten.
void readCellInto(codec::Reader& r, const SiteTable& sites, CellMeta& c) {
  readDots(r, sites, c.dots);
  c.stamp.hlc.value = r.varint();
  c.stamp.site = sites.idAt(static_cast<std::uint32_t>(r.varint()));
  std::uint8_t kind = r.byte();
  if (kind > 2) throw Error(Status::corruption("row metadata: unknown cell state"));
  if (kind) {
    auto p = readTotals(r, sites);
    c.counter = PNCounter::fromTotals(p, readTotals(r, sites));
  } else {
    c.counter.reset();
  }
  if (kind == 2) c.moves = readMoves(r, sites);
  else c.moves.reset();
}

CellMeta readCell(codec::Reader& r, const SiteTable& sites) {
  CellMeta c;
  readCellInto(r, sites, c);
  return c;
}

}  // namespace

Dots RowMeta::allDots() const {
  Dots out = existence.dots;
  for (const auto& c : cells)
    if (c) out = unionOf(out, c->dots);
  return out;
}

namespace {

// Two ids compared as two words (std::array's == compares byte by byte).
bool sameSite(const SiteId& a, const SiteId& b) {
  std::uint64_t x[2], y[2];
  std::memcpy(x, a.bytes.data(), 16);
  std::memcpy(y, b.bytes.data(), 16);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

}  // namespace

std::uint32_t RowMetaEncoder::indexOf(const SiteId& id) {
  for (const auto& k : recent_)
    if (k.idx != 0 && sameSite(k.id, id)) return k.idx;
  std::uint32_t idx = sites_.indexOf(db_, id);
  recent_[next_] = {id, idx};
  next_ = (next_ + 1) % std::size(recent_);
  return idx;
}

std::string encodeRowMeta(const RowMeta& m, sql::Db& db, SiteTable& sites) {
  return RowMetaEncoder(db, sites).encode(m);
}

std::string RowMetaEncoder::encode(const RowMeta& m) {
  std::string out;
  encodeTo(m, out);
  return out;
}

void RowMetaEncoder::encodeTo(const RowMeta& m, std::string& out) {
  codec::appendBounded(out, rowMetaBound(m), [&](RawWriter& w) {
    w.byte(m.alive ? 1 : 0);
    writeCell(w, m.existence, *this);
    std::uint64_t present = 0;
    for (const auto& c : m.cells) present += c.has_value();
    w.varint(present);
    for (std::size_t i = 0; i < m.cells.size(); ++i) {
      if (!m.cells[i]) continue;
      w.varint(i);
      writeCell(w, *m.cells[i], *this);
    }
    if (!m.alive) w.row(m.tombstone);
  });
}

RowMeta decodeRowMeta(std::string_view bytes, const SiteTable& sites, std::size_t columnCount) {
  RowMeta m;
  decodeRowMetaInto(bytes, sites, columnCount, m);
  return m;
}

void decodeRowMetaInto(std::string_view bytes, const SiteTable& sites, std::size_t columnCount, RowMeta& m) {
  codec::Reader r(bytes, "row metadata");
  m.alive = r.byte() != 0;
  readCellInto(r, sites, m.existence);
  m.cells.resize(columnCount);
  // Cells [0, settled) hold this decode's result. The encoder writes columns in increasing
  // order: a cell skipped on the way is absent; one listed again (only in hand-made bytes)
  // is read afresh over the first, as a decode into a new RowMeta would.
  std::size_t settled = 0;
  auto present = r.varint();
  for (std::uint64_t i = 0; i < present; ++i) {
    auto col = r.varint();
    if (col >= columnCount) throw Error(Status::corruption("row metadata: column out of range"));
    if (col < settled) {
      m.cells[col] = readCell(r, sites);
      continue;
    }
    for (; settled < col; ++settled) m.cells[settled].reset();
    if (!m.cells[col]) m.cells[col].emplace();
    readCellInto(r, sites, *m.cells[col]);
    settled = col + 1;
  }
  for (; settled < columnCount; ++settled) m.cells[settled].reset();
  if (!m.alive) {
    m.tombstone = r.row();
    // Narrower when columns were added since the row was deleted: they were NULL for it.
    if (m.tombstone.size() > columnCount) throw Error(Status::corruption("row metadata: tombstone width"));
    m.tombstone.resize(columnCount);
  } else {
    m.tombstone.clear();
  }
  r.expectDone();
}

}  // namespace parley
