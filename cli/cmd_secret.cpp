// parley secret: prints a new strong cluster secret (parley/sync/secret.hpp).
#include <iostream>

#include "cli.hpp"
#include "parley/sync/secret.hpp"

namespace parley::cli {
namespace {

const Command kSecret{"secret", "[options]",
                      "Prints a new cluster secret: 256 random bits as 64 hex digits. Give it to every site's\n"
                      "commands as PARLEY_SECRET or in a --secret-file (mode 0600). Secrets under 128 bits are refused."};

}  // namespace

int cmdSecret(const std::vector<std::string>& args) {
  auto vm = parse(kSecret, po::options_description("options"), {}, args);
  if (!vm) return 0;
  std::cout << take(sync::newSecret()) << "\n";
  return 0;
}

}  // namespace parley::cli
