// `parley demo offline`: three site files that take writes while disconnected, then sync by
// carrying change-set files in a chain and finally over TCP.
#pragma once

#include <string>

#include "parley/demo/scenario.hpp"

namespace parley::demo {

// Runs the walkthrough in `dir` (its site files are replaced), printing each step to stdout.
// Returns 0 when the three sites converged.
int runOfflineDemo(const std::string& dir, const Tools& tools);

}  // namespace parley::demo
