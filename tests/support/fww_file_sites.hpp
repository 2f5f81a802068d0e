// Three file-backed sites s1, s2, s3 of one cluster, tracking t(id, a, b) under fww (where a
// write supersedes only what its transaction's whole context covers, and a late arrival
// re-folds what sorts after it), each on a manual clock, each acknowledging the others. A
// site can be closed and opened again, so nothing it cached in memory survives.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "sites.hpp"

namespace parley::test {

class FwwFileSites {
 public:
  FwwFileSites() {
    for (std::uint8_t i = 1; i <= 3; ++i) {
      ids_.push_back(std::make_unique<FixedIdSource>(testSiteId(i)));
      clocks_.push_back(std::make_unique<ManualClock>());
      clocks_.back()->advance(1'700'000'000'000 + i);
      auto r = Site::create(path(i - 1), CreateOptions{"s" + std::to_string(i), ids_.back().get(), testClusterId()},
                            options(i - 1));
      REQUIRE_OK(r);
      execOk(**r, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)");
      TableConfig fww;
      fww.columns = "fww";
      REQUIRE_OK((*r)->track("t", fww));
      sites_.push_back(std::move(r).value());
    }
    for (auto& s : sites_)
      for (auto& other : sites_)
        if (s != other) REQUIRE_OK(s->replication().acknowledge(other->id(), {}));
  }
  Site& operator[](std::size_t i) { return *sites_[i]; }
  ManualClock& clock(std::size_t i) { return *clocks_[i]; }
  std::string path(std::size_t i) const { return dir_.file("s" + std::to_string(i) + ".db"); }
  void close(std::size_t i) { sites_[i].reset(); }
  void open(std::size_t i) {
    auto r = Site::open(path(i), options(i));
    REQUIRE_OK(r);
    sites_[i] = std::move(r).value();
  }
  void reopen(std::size_t i) {
    close(i);
    open(i);
  }
  // Every site gives every other what it lacks, twice round.
  void exchangeAll() {
    for (int round = 0; round < 2; ++round)
      for (std::size_t i = 0; i < sites_.size(); ++i)
        for (std::size_t j = 0; j < sites_.size(); ++j)
          if (i != j) transfer(*sites_[i], *sites_[j]);
  }

 private:
  SiteOptions options(std::size_t i) { return SiteOptions{clocks_[i].get(), resolvers::standard()}; }

  TempDir dir_;
  std::vector<std::unique_ptr<FixedIdSource>> ids_;
  std::vector<std::unique_ptr<ManualClock>> clocks_;
  std::vector<std::unique_ptr<Site>> sites_;
};

}  // namespace parley::test
