// What a site keeps for `parley status` about the processes that replicate it: the names its
// peers gave in their hellos (parley_site_names) and the last report of a `parley serve` on the
// file (parley_serve, parley_serve_peers). None of it is replicated or part of the fold; each
// table is created when first written, so sites made before they existed open as they are.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "parley/site.hpp"
#include "state.hpp"

namespace parley::serve_report {

// REQUIRES: inside a write transaction. Keeps `name` as `site`'s (a no-op when empty or unchanged).
void noteName(SiteState& s, const SiteId& site, std::string_view name);
// Every site's name as last noted.
std::unordered_map<SiteId, std::string, SiteIdHash> names(SiteState& s);
// REQUIRES: inside a write transaction. Replaces the report.
void write(SiteState& s, const ServeReport& report);
std::optional<ServeReport> read(SiteState& s);
// REQUIRES: inside a write transaction. Drops the report: a copy of a site file (a clone) has
// no serve of its own yet.
void clear(SiteState& s);

}  // namespace parley::serve_report
