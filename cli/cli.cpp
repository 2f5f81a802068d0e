#include "cli.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "parley/sync/secret.hpp"

namespace parley::cli {

void usage(const std::string& message) { throw CliError(message, 2); }

void check(const Status& status) {
  if (!status) throw CliError(status);
}

std::string CliError::messageFor(std::string_view command) const {
  if (!status_ || std::getenv("PARLEY_DEBUG_ERRORS")) return what();
  auto said = [&](std::string_view context) {
    return context == command || context == "sql" || context == "prepare" || context == "backup";
  };
  std::string out;
  for (const auto& context : status_->contexts())
    if (!said(context)) out += context + ": ";
  return out.append(status_->bareMessage());
}

Env& env() {
  static Env e;  // the one real clock and id source, for this process
  return e;
}

std::unique_ptr<Site> openSite(const std::string& path) { return take(Site::open(path, env().siteOptions())); }

std::optional<po::variables_map> parse(const Command& cmd, po::options_description options,
                                       const std::vector<std::string>& positional, const std::vector<std::string>& args,
                                       std::size_t required) {
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
  for (std::size_t i = 0; i < positional.size() && i < required; ++i)
    if (const auto& name = positional[i]; !vm.count(name)) usage(fmt::format("missing {} (usage: parley {} {})", name, cmd.name, cmd.synopsis));
  return vm;
}

void addSecretOption(po::options_description& options) {
  options.add_options()("secret-file", po::value<std::string>(),
                        "file holding the cluster secret (default: $PARLEY_SECRET)")(
      "insecure", "plaintext instead of TLS 1.3 (the peer must say --insecure too)");
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

std::string tokenOf(const VersionVector& v) { return commitToken(v); }

VersionVector parseToken(const std::string& text) {
  auto token = parseCommitToken(text);
  if (!token) usage(token.status().message());
  return std::move(token).value();
}

std::string tcpAddress(const std::string& peer) { return peer.starts_with("tcp://") ? peer.substr(6) : ""; }

// --timeout: how long a TCP sync waits for a sign of life from the peer before it gives up.
// serve needs it below the default to stay live when a peer goes silent without closing.
void addTimeoutOption(po::options_description& o) {
  o.add_options()("timeout", po::value<double>()->default_value(30),
                  "seconds without a reply from the peer before a TCP sync gives up");
}

sync::TcpOptions tcpOptions(const po::variables_map& vm) {
  sync::TcpOptions o;
  o.secret = secret(vm);
  if (o.secret.empty())
    usage("TCP needs the cluster secret: --secret-file FILE or PARLEY_SECRET (make one with `parley secret`)");
  if (auto st = sync::checkSecret(o.secret); !st) throw CliError(st.message(), 2);
  o.insecure = vm.count("insecure") > 0;
  if (o.insecure)
    std::cerr << "warning: --insecure: this connection is not encrypted; anyone on the path can read and change "
                 "what is synced\n";
  if (vm.count("timeout")) {
    double seconds = vm["timeout"].as<double>();
    if (!(seconds >= 0.001 && seconds <= 86400)) usage("--timeout must be between 0.001 and 86400 seconds");
    o.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  return o;
}

std::unique_ptr<Site> cloneFrom(const std::string& source, const std::string& path, const CreateOptions& create,
                                const po::variables_map& vm) {
  if (tcpAddress(source).empty()) return take(openSite(source)->clone(path, create, env().siteOptions()));
  return take(sync::cloneTcp(tcpAddress(source), path, create, env().siteOptions(), tcpOptions(vm)));
}

}  // namespace parley::cli
