// `parley demo offline`: three site files that take writes while disconnected, then sync by
// carrying change-set files in a chain and finally over TCP.
#pragma once

#include <string>

namespace parley::cli {

int runOfflineDemo(const std::string& dir);

}  // namespace parley::cli
