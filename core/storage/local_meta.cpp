#include "local_meta.hpp"

#include "codec.hpp"

namespace parley {

LocalMeta::LocalMeta(SiteState& s, const Transaction& txn) : s_(s), stamp_(txn.stamp()) {
  std::uint32_t own = s.sites.indexOf(s.db, s.id);
  codec::Writer stamp(ownStamp_);
  stamp.varint(txn.hlc.value);
  stamp.varint(own);
  // A fresh cell (fold.cpp, freshCell): the commit's dot, its stamp, no counter state or an
  // empty one (counter columns).
  codec::Writer cell(freshCell_);
  cell.varint(1);
  cell.varint(own);
  cell.varint(txn.dot.seq);
  freshCell_ += ownStamp_;
  freshCounterCell_ = freshCell_;
  freshCell_.push_back(0);
  codec::Writer counter(freshCounterCell_);
  counter.byte(1);
  counter.varint(0);
  counter.varint(0);
}

const std::string& LocalMeta::freshInsert(const TableInfo& t) {
  auto [it, added] = freshInserts_.try_emplace(t.id);
  if (!added) return it->second;
  std::string& out = it->second;
  codec::Writer w(out);
  w.byte(1);           // alive
  out += freshCell_;   // existence: the commit's dot and stamp
  std::uint64_t cells = 0;
  for (std::size_t i = 0; i < t.columns.size(); ++i) cells += !t.isKey[i];
  w.varint(cells);
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (t.isKey[i]) continue;
    w.varint(i);
    out += t.traits[i].keepsContributions ? freshCounterCell_ : freshCell_;
  }
  return out;
}

LocalMeta::CellSpan LocalMeta::readCell(std::string_view blob, std::size_t& pos) {
  codec::Reader r(blob.substr(pos), "row metadata");
  auto at = [&] { return pos + (blob.size() - pos - r.remaining()); };
  CellSpan c;
  std::size_t start = pos;
  for (std::uint64_t i = 0, n = r.varint(); i < n; ++i) {
    r.varint();
    r.varint();
  }
  std::size_t dotsEnd = at();
  r.varint();
  r.varint();
  std::size_t stampEnd = at();
  std::uint8_t kind = r.byte();
  c.counter = kind != 0;
  for (int side = 0; c.counter && side < 2; ++side) {
    for (std::uint64_t i = 0, n = r.varint(); i < n; ++i) {
      r.varint();
      r.signedVarint();
    }
  }
  if (kind == 2) {  // rights moves (row_meta.cpp): transfers, then wants
    for (std::uint64_t i = 0, n = r.varint(); i < n; ++i) {
      r.varint();
      r.varint();
      r.signedVarint();
    }
    for (std::uint64_t i = 0, n = r.varint(); i < n; ++i) {
      r.varint();
      r.signedVarint();
    }
  }
  std::size_t end = at();
  c.dots = blob.substr(start, dotsEnd - start);
  c.stamp = blob.substr(dotsEnd, stampEnd - dotsEnd);
  c.all = blob.substr(start, end - start);
  pos = end;
  return c;
}

bool LocalMeta::covered(std::string_view dots) {
  codec::Reader r(dots, "row metadata");
  for (std::uint64_t i = 0, n = r.varint(); i < n; ++i) {
    auto site = static_cast<std::uint32_t>(r.varint());
    std::uint64_t seq = r.varint();
    if (site >= contextSeq_.size() || !contextSeq_[site]) {
      std::uint64_t held = s_.vector.get(s_.sites.idAt(site));  // throws for an unknown index
      if (site >= contextSeq_.size()) contextSeq_.resize(site + 1, 0);
      contextSeq_[site] = held + 1;
    }
    if (contextSeq_[site] - 1 < seq) return false;
  }
  return true;
}

void LocalMeta::decodeDots(std::string_view dots, Dots& out) const {
  codec::Reader r(dots, "row metadata");
  out.resize(r.varint());
  for (auto& d : out) {
    d.site = s_.sites.idAt(static_cast<std::uint32_t>(r.varint()));
    d.seq = r.varint();
  }
}

std::string_view LocalMeta::maxStamp(std::string_view stored) const {
  codec::Reader r(stored, "row metadata");
  Stamp old{Hlc{r.varint()}, SiteId{}};
  old.site = s_.sites.idAt(static_cast<std::uint32_t>(r.varint()));
  return stamp_ > old ? std::string_view(ownStamp_) : stored;
}

bool LocalMeta::update(const TableInfo& t, std::string_view blob, RowChange& change, std::string& out) {
  if (blob.empty() || blob[0] != 1) return false;  // a tombstone: the fold decides
  std::size_t pos = 1;
  CellSpan existence = readCell(blob, pos);
  if (existence.counter) return false;
  codec::Reader count(blob.substr(pos), "row metadata");
  std::uint64_t present = count.varint();
  pos = blob.size() - count.remaining();
  cells_.clear();
  for (std::uint64_t i = 0; i < present; ++i) {
    codec::Reader col(blob.substr(pos), "row metadata");
    std::uint64_t column = col.varint();
    pos = blob.size() - col.remaining();
    if (column >= t.columns.size() || (!cells_.empty() && column <= cells_.back().column)) return false;
    cells_.push_back(readCell(blob, pos));
    cells_.back().column = static_cast<std::uint32_t>(column);
  }
  if (pos != blob.size()) return false;

  // Each changed cell must be superseded by this write: no counter, versions covered.
  std::size_t added = 0;
  auto cell = cells_.begin();
  for (auto& w : change.columns) {
    if (t.traits[w.column].keepsContributions) return false;
    while (cell != cells_.end() && cell->column < w.column) ++cell;
    if (cell == cells_.end() || cell->column != w.column) {
      w.base.clear();
      ++added;
      continue;
    }
    if (cell->counter || !covered(cell->dots)) return false;
    decodeDots(cell->dots, w.base);
  }
  decodeDots(existence.dots, change.rowBase);

  out.clear();
  codec::Writer w(out);
  w.byte(1);
  out += existence.dots;
  out += maxStamp(existence.stamp);
  w.byte(0);
  w.varint(present + added);
  cell = cells_.begin();
  auto write = change.columns.begin();
  while (cell != cells_.end() || write != change.columns.end()) {
    bool fromWrite = cell == cells_.end() || (write != change.columns.end() && write->column <= cell->column);
    std::uint32_t column = fromWrite ? write->column : cell->column;
    w.varint(column);
    out += fromWrite ? std::string_view(freshCell_) : cell->all;
    if (fromWrite && cell != cells_.end() && cell->column == column) ++cell;
    if (fromWrite) ++write;
    else ++cell;
  }
  return true;
}

}  // namespace parley
