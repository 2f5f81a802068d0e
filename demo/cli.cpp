#include "cli.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

namespace parley::cli {

void usage(const std::string& message) { throw CliError(message, 2); }

void check(const Status& status) {
  if (!status) throw CliError(status.message());
}

Env& env() {
  static Env e;  // the one real clock and id source, for this process
  return e;
}

std::unique_ptr<Site> openSite(const std::string& path) { return take(Site::open(path, env().siteOptions())); }

std::optional<po::variables_map> parse(const Command& cmd, po::options_description options,
                                       const std::vector<std::string>& positional, const std::vector<std::string>& args) {
  options.add_options()("help,h", "show this help");
  po::options_description hidden;
  po::positional_options_description order;
  for (const auto& name : positional) {
    hidden.add_options()(name.c_str(), po::value<std::string>());
    order.add(name.c_str(), 1);
  }
  po::options_description all;
  all.add(options).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(order).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: parley " << cmd.name << " " << cmd.synopsis << "\n\n" << cmd.summary << "\n\n" << options;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    usage(fmt::format("{} (see parley {} --help)", e.what(), cmd.name));
  }
  for (const auto& name : positional)
    if (!vm.count(name)) usage(fmt::format("missing {} (usage: parley {} {})", name, cmd.name, cmd.synopsis));
  return vm;
}

void addSecretOption(po::options_description& options) {
  options.add_options()("secret-file", po::value<std::string>(),
                        "file holding the cluster secret (default: $PARLEY_SECRET)");
}

std::string secret(const po::variables_map& vm) {
  if (vm.count("secret-file")) {
    std::string path = vm["secret-file"].as<std::string>();
    std::ifstream in(path);
    if (!in) throw CliError(fmt::format("cannot read the secret file {}", path));
    std::string s;
    std::getline(in, s);
    if (s.empty()) throw CliError(fmt::format("the secret file {} is empty", path));
    return s;
  }
  const char* fromEnv = std::getenv("PARLEY_SECRET");
  return fromEnv ? fromEnv : "";
}

std::string tokenOf(const VersionVector& v) {
  std::string out;
  for (const auto& [site, seq] : v.entries()) out += fmt::format("{}{}:{}", out.empty() ? "" : ",", site.hex(), seq);
  return out.empty() ? "-" : out;
}

VersionVector parseToken(const std::string& text) {
  VersionVector v;
  if (text == "-" || text.empty()) return v;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    auto colon = part.find(':');
    auto site = SiteId::fromHex(part.substr(0, colon));
    char* end = nullptr;
    unsigned long long seq = colon == std::string::npos ? 0 : std::strtoull(part.c_str() + colon + 1, &end, 10);
    if (!site || colon == std::string::npos || !end || *end != '\0' || seq == 0)
      usage(fmt::format("bad token \"{}\": expected SITEID:SEQ[,SITEID:SEQ...] as printed by exec", text));
    v.advance({*site, seq});
  }
  return v;
}

}  // namespace parley::cli
