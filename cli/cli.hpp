// Shared plumbing of the parley command: option parsing, opening sites, one-line errors.
//
// Every command is a function taking its arguments (after the command name) and returning the
// process exit code. User errors are thrown as CliError and printed by main() as one line:
// "parley <command>: <message>", exit 1 (2 for a bad command line, 70 for a bug in parley:
// an InternalError or a status of code kInternal). A library Status keeps its contexts apart
// from its message; main() leaves out those the "parley <command>:" prefix already says.
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::cli {

namespace po = boost::program_options;

// This parley's version: the CMake project's (parley --version).
inline constexpr const char* kVersion = PARLEY_VERSION;

class CliError : public std::runtime_error {
 public:
  CliError(std::string message, int exitCode = 1) : std::runtime_error(std::move(message)), code_(exitCode) {}
  // A library failure: its message, contexts kept apart (parley/status.hpp).
  // Exit 70 (EX_SOFTWARE) for a bug in parley (kInternal), 1 otherwise.
  explicit CliError(Status status)
      : std::runtime_error(status.message()),
        code_(status.code() == Status::Code::kInternal ? 70 : 1),
        status_(std::move(status)) {}
  int exitCode() const { return code_; }
  // The line to print after "parley COMMAND: ": the status' message without the contexts that
  // line already gives (the command's own name, the SQL layer's "sql" and "prepare"), or what().
  std::string messageFor(std::string_view command) const;

 private:
  int code_;
  std::optional<Status> status_;
};

// A bad command line: exit code 2.
[[noreturn]] void usage(const std::string& message);
// Throws CliError with the status' message unless it is ok.
void check(const Status& status);
template <class T>
T take(Result<T> r) {
  check(r.status());
  return std::move(r).value();
}

// The real clock, ids and strategies: created here, in the top-level program only.
struct Env {
  SystemClock clock;
  RandomIdSource ids;
  std::shared_ptr<resolvers::Registry> registry = resolvers::standard();
  SiteOptions siteOptions() { return {&clock, registry, std::chrono::minutes(1)}; }
};
Env& env();

std::unique_ptr<Site> openSite(const std::string& path);

// Parses `args` against `options` with `positional` names in order; prints help and returns
// nullopt for --help. Positionals from index `required` on may be left out.
struct Command {
  std::string name;
  std::string synopsis;  // "SITE.db \"SQL\" [options]"
  std::string summary;
};
std::optional<po::variables_map> parse(const Command& cmd, po::options_description options,
                                       const std::vector<std::string>& positional, const std::vector<std::string>& args,
                                       std::size_t required = SIZE_MAX);

// The cluster secret from --secret-file or $PARLEY_SECRET; empty if neither.
std::string secret(const po::variables_map& vm);
// Adds --secret-file and --insecure.
void addSecretOption(po::options_description& options);

// A commit token: the site's vector as "siteid:seq,siteid:seq" (full hex ids).
std::string tokenOf(const VersionVector& v);
// "HOST:PORT" of "tcp://HOST:PORT"; empty for anything else (a site file).
std::string tcpAddress(const std::string& peer);
// --timeout: how long a TCP exchange waits for a sign of life from the peer.
void addTimeoutOption(po::options_description& o);
// The TCP options from the command line: the secret (a usage error without one) and --timeout.
sync::TcpOptions tcpOptions(const po::variables_map& vm);
// A new site at `path` cloned from `source`: a site file or tcp://HOST:PORT.
std::unique_ptr<Site> cloneFrom(const std::string& source, const std::string& path, const CreateOptions& create,
                                const po::variables_map& vm);
VersionVector parseToken(const std::string& text);

// The sites `site` knows (itself, members, origins it holds), each with its name where known
// (empty otherwise): a peer's name is what its hello or change-set file said.
std::vector<std::pair<SiteId, std::string>> knownSites(Site& site);
// The site `text` names for option `what`: a known site's name, an id (32 hex digits, dashes
// allowed), or the first 4+ hex digits of a known site's id, as parley status shows it.
SiteId resolveSite(Site& site, const std::string& text, const std::string& what);
// A vector given to `what`: a commit token, or as parley status prints it ("{3f0c61a2:5,
// 1a2b3c4d:2}", braces optional), with sites by short id or by name.
VersionVector parseVector(Site& site, const std::string& text, const std::string& what);

int cmdInit(const std::vector<std::string>& args);
int cmdExec(const std::vector<std::string>& args);
int cmdTrack(const std::vector<std::string>& args);
int cmdConfigure(const std::vector<std::string>& args);
int cmdUntrack(const std::vector<std::string>& args);
int cmdStatus(const std::vector<std::string>& args);
int cmdConflicts(const std::vector<std::string>& args);
int cmdCompact(const std::vector<std::string>& args);
int cmdBackup(const std::vector<std::string>& args);
int cmdForget(const std::vector<std::string>& args);
int cmdRestoreGuards(const std::vector<std::string>& args);
int cmdSchema(const std::vector<std::string>& args);
int cmdExport(const std::vector<std::string>& args);
int cmdImport(const std::vector<std::string>& args);
int cmdSync(const std::vector<std::string>& args);
int cmdServe(const std::vector<std::string>& args);
int cmdClone(const std::vector<std::string>& args);
int cmdDemo(const std::vector<std::string>& args);
int cmdVerify(const std::vector<std::string>& args);
int cmdRejoin(const std::vector<std::string>& args);
int cmdRights(const std::vector<std::string>& args);
// status' section on bounded columns: each site's rights (nothing without bounded columns).
void printRightsSummary(Site& site);
// serve's answers to rights requests (parley/resolvers/bounded.hpp), on a connection of its
// own: tick() runs the policy at most every `every`, when the site holds new transactions,
// and returns a line to log when it gave something (else empty).
class RightsAnswers {
 public:
  // Uses `site` (serve's main thread's connection) until destroyed.
  RightsAnswers(Site& site, std::chrono::milliseconds every);
  std::string tick();

 private:
  Site* site_;
  std::chrono::milliseconds every_;
  std::chrono::steady_clock::time_point next_;
  std::optional<VersionVector> seen_;
};
int cmdSecret(const std::vector<std::string>& args);

}  // namespace parley::cli
