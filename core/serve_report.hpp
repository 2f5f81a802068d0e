// What a site keeps for `parley status` about the `parley serve` that replicates it: its last
// report (parley_serve, parley_serve_peers). Not replicated, not part of the fold; the tables
// are created when first written, so sites made before they existed open as they are.
#pragma once

#include <optional>
#include <string>

#include "parley/site.hpp"
#include "state.hpp"

namespace parley::serve_report {

// REQUIRES: inside a write transaction. Replaces the report.
void write(SiteState& s, const ServeReport& report);
std::optional<ServeReport> read(SiteState& s);
// REQUIRES: inside a write transaction. Drops the report: a copy of a site file (a clone) has
// no serve of its own yet.
void clear(SiteState& s);

}  // namespace parley::serve_report
