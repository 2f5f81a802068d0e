// TransactionEncoder: writes a transaction's log body (the format of encodeTransaction) one row
// at a time, so a local commit can encode each change as soon as it is made instead of
// building Transaction::rows first. encodeTransaction is this encoder fed every row: the two
// give the same bytes by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "parley/transaction.hpp"

namespace parley {

class TransactionEncoder {
 public:
  // `t`'s dot, hlc and context make the header; its rows are not read. `rowsHint`: about how
  // many rows will be added (for the buffer's size).
  TransactionEncoder(const Transaction& t, std::size_t rowsHint);
  // Appends one row; `row` may be reused or destroyed afterwards.
  void add(const RowChange& row);
  std::size_t rows() const { return rowCount_; }
  // The whole body. REQUIRES: called once, last.
  std::string finish();

 private:
  // Interns sites and tables so each is written once per transaction.
  class Interner {
   public:
    std::uint32_t site(const SiteId& id);
    std::uint32_t table(const std::string& name);
    const std::vector<SiteId>& sites() const { return sites_; }
    const std::vector<std::string>& tables() const { return tables_; }

   private:
    std::vector<SiteId> sites_;
    std::unordered_map<SiteId, std::uint32_t, SiteIdHash> siteIndex_;
    std::uint32_t lastSite_ = UINT32_MAX;
    std::uint32_t lastTable_ = UINT32_MAX;
    std::vector<std::string> tables_;
    std::unordered_map<std::string, std::uint32_t> tableIndex_;
  };
  void writeDots(const Dots& dots);

  const Transaction& header_;
  Interner in_;
  std::string rows_;  // the rows, without their count
  std::size_t rowCount_ = 0;
  // Dots lists are written column bases, then the row base, row after row. A list of one dot
  // equal to the list written just before it is the single byte 0: the last list written, if
  // it was one dot.
  std::optional<Dot> previousSingle_;
};

}  // namespace parley
