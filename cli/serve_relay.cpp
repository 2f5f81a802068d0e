#include "serve_relay.hpp"

#include <fmt/format.h>

#include <sstream>

#include "cli.hpp"
#include "parley/sync/secret.hpp"

namespace parley::cli {
namespace po = boost::program_options;

void addRelayOptions(po::options_description& o) {
  o.add_options()("nats", po::value<std::string>(),
                  "replicate through NATS JetStream: nats://HOST:PORT[,HOST:PORT...] (tls://... for TLS)")
      ("nats-creds", po::value<std::string>(), "NATS user credentials file (.creds)")
      ("nats-ca", po::value<std::string>(), "CA certificates that verify the NATS servers (turns TLS on)")
      ("nats-cert", po::value<std::string>(), "client certificate for NATS TLS (with --nats-key)")
      ("nats-key", po::value<std::string>(), "client key for NATS TLS")
      ("nats-max-age", po::value<double>()->default_value(7 * 24 * 3600),
       "seconds the stream keeps transactions (when this site creates it)")
      ("nats-max-mib", po::value<std::int64_t>()->default_value(1024),
       "MiB the stream keeps, oldest dropped first (when this site creates it)")
      ("nats-replicas", po::value<int>()->default_value(0),
       "stream replicas when this site creates it (0: 3 with three or more NATS servers, else 1)");
}

namespace {

std::vector<std::string> natsServers(const std::string& list) {
  std::vector<std::string> servers;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) usage(fmt::format("--nats wants nats://HOST:PORT[,HOST:PORT...], got {}", list));
    if (item.find("://") == std::string::npos) item = "nats://" + item;
    if (!item.starts_with("nats://") && !item.starts_with("tls://"))
      usage(fmt::format("--nats wants nats:// or tls:// addresses, got {}", item));
    servers.push_back(item);
  }
  if (servers.empty()) usage("--nats wants nats://HOST:PORT[,HOST:PORT...]");
  return servers;
}

std::string optional(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::string>() : std::string();
}

}  // namespace

std::unique_ptr<sync::Relay> startRelay(const po::variables_map& vm, const std::string& path) {
  if (!vm.count("nats")) return nullptr;
  sync::RelayOptions o;
  o.servers = natsServers(vm["nats"].as<std::string>());
  o.secret = secret(vm);
  if (o.secret.empty())
    usage("the relay needs the cluster secret: --secret-file FILE or PARLEY_SECRET (make one with `parley secret`)");
  if (auto st = sync::checkSecret(o.secret); !st) throw CliError(st.message(), 2);
  o.credsFile = optional(vm, "nats-creds");
  o.caFile = optional(vm, "nats-ca");
  o.certFile = optional(vm, "nats-cert");
  o.keyFile = optional(vm, "nats-key");
  if (o.certFile.empty() != o.keyFile.empty()) usage("--nats-cert and --nats-key go together");
  double age = vm["nats-max-age"].as<double>();
  if (!(age >= 1)) usage("--nats-max-age must be at least 1 second");
  o.limits.maxAge = std::chrono::seconds(static_cast<std::int64_t>(age));
  auto mib = vm["nats-max-mib"].as<std::int64_t>();
  if (mib < 1) usage("--nats-max-mib must be at least 1");
  o.limits.maxBytes = mib << 20;
  o.limits.replicas = vm["nats-replicas"].as<int>();
  if (o.limits.replicas < 0 || o.limits.replicas > 5) usage("--nats-replicas must be between 0 and 5");
  o.siteFile = path;
  auto open = [path]() { return Site::open(path, env().siteOptions()); };
  return take(sync::Relay::start(open, std::move(o)));
}

void RelayReport::print(sync::Relay* relay, Log& log) {
  if (!relay) return;
  for (const auto& line : relay->takeLog()) log.library(line);
  auto& shown = shown_;
  auto& lastShown = lastShown_;
  auto now = std::chrono::steady_clock::now();
  if (now - lastShown < std::chrono::seconds(5)) return;
  auto s = relay->stats();
  if (s.published == shown.published && s.applied == shown.applied && s.held == shown.held) return;
  log.info(fmt::format("relay: published {} transactions, applied {} ({} already held), holding {}",
                        s.published - shown.published, s.applied - shown.applied, s.duplicates - shown.duplicates,
                        s.held));
  shown = s;
  lastShown = now;
}

}  // namespace parley::cli
