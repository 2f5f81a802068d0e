// The site a fuzz target attacks, set up as fuzz_schema.hpp says: in memory, of the fuzz
// cluster, with id kImporterByte and the fuzz tables tracked. The tests that record and replay
// the fuzz corpus use the same site, so what they record is what the fuzzers start from.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "fuzz/fuzz_schema.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"

namespace parley::fuzz {

inline SiteId everyByte(std::uint8_t byte) {
  SiteId id;
  id.bytes.fill(byte);
  return id;
}

struct FuzzSite {
  ManualClock clock;
  FixedIdSource ids{everyByte(kImporterByte)};
  std::unique_ptr<Site> site;

  // Creates the site; on failure returns why and leaves `site` null.
  Status open(std::string name) {
    auto created = Site::create(":memory:", CreateOptions{std::move(name), &ids, everyByte(kClusterByte)},
                                SiteOptions{&clock, resolvers::lwwEverywhere()});
    if (!created) return created.status();
    site = std::move(created).value();
    if (auto r = site->exec(kSchema); !r) return r.status();
    for (const auto& [table, config] : kTables) {
      std::optional<TableConfig> parsed;
      if (!config.empty()) parsed = *TableConfig::parse(config);
      if (auto st = site->track(table, parsed); !st) return st;
    }
    return Status::ok();
  }
};

}  // namespace parley::fuzz
