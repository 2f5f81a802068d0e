// parley: the command-line program. Dispatches to the commands in cmd_*.cpp.
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"

namespace {

using Handler = int (*)(const std::vector<std::string>&);

struct Entry {
  Handler handler;
  const char* summary;
};

const std::map<std::string, Entry>& commands() {
  using namespace parley::cli;
  static const std::map<std::string, Entry> table{
      {"init", {cmdInit, "create a new site (and cluster)"}},
      {"exec", {cmdExec, "run SQL; writes are captured and replicate"}},
      {"track", {cmdTrack, "start replicating a table, with its resolvers"}},
      {"untrack", {cmdUntrack, "stop replicating a table; its rows stay"}},
      {"configure", {cmdConfigure, "change a tracked table's resolvers"}},
      {"status", {cmdStatus, "the site, its peers and their lag"}},
      {"conflicts", {cmdConflicts, "the conflict log"}},
      {"export", {cmdExport, "write a change-set file"}},
      {"import", {cmdImport, "apply a change-set file"}},
      {"sync", {cmdSync, "sync with another site file or tcp://host:port"}},
      {"serve", {cmdServe, "serve syncs over TCP; replicate continuously with peers"}},
      {"clone", {cmdClone, "create a new site from a snapshot of another"}},
      {"compact", {cmdCompact, "drop log entries every member has acknowledged"}},
      {"backup", {cmdBackup, "write a consistent copy of a site"}},
      {"verify", {cmdVerify, "check a site's rows against its digests, or against a peer's rows"}},
      {"rights", {cmdRights, "each site's rights on bounded columns; give or ask for them"}},
      {"rejoin", {cmdRejoin, "give a forked site (a copy that wrote) a new id, keeping its writes"}},
      {"forget", {cmdForget, "remove a member that is gone for good"}},
      {"restore-guards", {cmdRestoreGuards, "recreate tracked tables' guard triggers dropped outside parley"}},
      {"schema", {cmdSchema, "the tracked tables as this site holds them, to compare two sites"}},
      {"secret", {cmdSecret, "print a new strong cluster secret"}},
      {"demo", {cmdDemo, "guided scenarios: bank, offline"}},
  };
  return table;
}

int help() {
  std::cout << "usage: parley COMMAND [ARGS] (parley help COMMAND, or parley COMMAND --help, for details)\n"
               "       parley --version\n\ncommands:\n";
  for (const auto& [name, entry] : commands()) std::cout << fmt::format("  {:<16}{}\n", name, entry.summary);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    help();
    return 2;
  }
  std::string name = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (name == "help" && !args.empty()) {  // parley help COMMAND [SUBCOMMAND]: parley COMMAND [SUBCOMMAND] --help
    name = args[0];
    args.erase(args.begin());
    args.push_back("--help");
  } else if (name == "--help" || name == "-h" || name == "help") {
    return help();
  } else if (name == "--version" || name == "-V" || name == "version") {
    std::cout << "parley " << parley::cli::kVersion << "\n";
    return 0;
  }
  auto it = commands().find(name);
  if (it == commands().end()) {
    std::cerr << "parley: unknown command \"" << name << "\" (see parley --help)\n";
    return 2;
  }
  try {
    return it->second.handler(args);
  } catch (const parley::cli::CliError& e) {
    std::cerr << "parley " << name << ": " << e.messageFor(name) << "\n";
    return e.exitCode();
  } catch (const parley::InternalError& e) {
    std::cerr << "parley " << name << ": " << e.what() << "\n";
    return 70;  // EX_SOFTWARE: a bug, not bad input
  } catch (const std::exception& e) {
    std::cerr << "parley " << name << ": " << e.what() << "\n";
    return 1;
  }
}
