// parley demo bank | offline: the guided scenarios.
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/demo/bank.hpp"
#include "parley/demo/offline.hpp"

namespace parley::cli {
namespace {

using demo::Outcome;
using demo::Workload;

// Site ids drawn from a seeded generator: the bank runs' in-memory sites sort (and break
// timestamp ties) the same way every time, so a seed, and the command a report records,
// replays the same outcome.
class SeededIds final : public IdSource {
 public:
  explicit SeededIds(std::uint64_t seed) : rng_(seed) {}
  SiteId newId() override {
    std::array<std::uint64_t, 2> words{rng_(), rng_()};
    return SiteId::fromBytes(words.data(), sizeof words);
  }

 private:
  std::mt19937_64 rng_;
};

// The scenarios run with this process's ids (or `ids`) and strategies, and print rows as tables.
demo::Tools tools(IdSource* ids = &env().ids) {
  return {&env().clock, ids, env().registry, [](const QueryResult& r) {
            Table t{r.columns, {}};
            for (const auto& row : r.rows) {
              std::vector<std::string> cells;
              for (const auto& v : row) cells.push_back(v.toDisplay());
              t.rows.push_back(std::move(cells));
            }
            printTable(std::cout, t);
          }};
}

const Command kBank{"demo bank", "[options]",
                    "New York and London share an account holding 1000. Partitioned, New York withdraws 100 and\n"
                    "London 200; then they sync. One run per resolver of the balance column, side by side.\n"
                    "With --ops, also a random workload of transfers, deposits and withdrawals across --sites\n"
                    "sites under --partitions partitions, with every resolver."};
const Command kOffline{"demo offline", "[--dir D]",
                       "Creates three site files (ny, london, tokyo), lets each take writes while offline, syncs\n"
                       "them by carrying change-set files in a chain, then over TCP, and prints each step."};

const std::vector<std::string> kResolvers{"lww", "fww", "merge", "counter", "reject"};

void printOutcomes(const std::vector<Outcome>& outcomes, bool random) {
  auto text = demo::comparison(outcomes, random);
  printTable(std::cout, Table{text.columns, text.rows});
}

// The command line as a shell would take it back: words with odd characters single-quoted.
std::string commandLine(const std::vector<std::string>& args) {
  std::string out = "parley demo bank";
  for (const auto& a : args) {
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                                   std::string::npos;
    out += " ";
    if (plain) {
      out += a;
      continue;
    }
    out += "'";
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += "'";
  }
  return out;
}

std::vector<std::string> resolversFrom(const std::string& choice) {
  if (choice == "all") return kResolvers;
  for (const auto& r : kResolvers)
    if (r == choice) return {r};
  usage(fmt::format("--resolver wants all, lww, fww, merge, counter or reject, not \"{}\"", choice));
}

int demoBank(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("resolver", po::value<std::string>()->default_value("all"), "all, lww, fww, merge, counter or reject")
      ("report", po::value<std::string>(), "also write a self-contained HTML report to this file")
      ("sites", po::value<int>()->default_value(3), "random workload: number of sites")
      ("accounts", po::value<int>()->default_value(4), "random workload: number of accounts")
      ("ops", po::value<int>()->default_value(0), "random workload: operations (0: skip it)")
      ("seed", po::value<std::uint64_t>()->default_value(1), "random workload: seed")
      ("partitions", po::value<int>()->default_value(2), "random workload: partitions to heal");
  auto vm = parse(kBank, o, {}, args);
  if (!vm) return 0;
  // Every argument is checked before anything runs, whether or not --ops asks for the random workload.
  auto resolvers = resolversFrom((*vm)["resolver"].as<std::string>());
  Workload w{(*vm)["sites"].as<int>(), (*vm)["accounts"].as<int>(), (*vm)["ops"].as<int>(),
             (*vm)["partitions"].as<int>(), (*vm)["seed"].as<std::uint64_t>()};
  if (w.sites < 2 || w.sites > 16) usage(fmt::format("--sites must be between 2 and 16, not {}", w.sites));
  if (w.accounts < 1 || w.accounts > 10000) usage(fmt::format("--accounts must be between 1 and 10000, not {}", w.accounts));
  if (w.ops < 0 || w.ops > 1000000) usage(fmt::format("--ops must be between 0 and 1000000, not {}", w.ops));
  if (w.partitions < 1 || w.partitions > 1000)
    usage(fmt::format("--partitions must be between 1 and 1000, not {}", w.partitions));
  std::string reportPath = vm->count("report") ? (*vm)["report"].as<std::string>() : "";
  if (vm->count("report") && reportPath.empty()) usage("--report wants a file name");
  std::ofstream report;
  if (!reportPath.empty()) {  // opened now: a path that cannot be written fails before the runs
    report.open(reportPath);
    if (!report) throw CliError(fmt::format("cannot write {}: {}", reportPath, std::strerror(errno)));
  }
  Workload bank;
  std::vector<demo::ReportSection> sections;
  std::cout << "Bank account: balance 1000; New York withdraws 100 while London withdraws 200.\n\n";
  sections.push_back({bank, {}});
  SeededIds ids(w.seed);
  for (const auto& r : resolvers) sections.back().outcomes.push_back(demo::runWorkload(r, bank, tools(&ids)));
  printOutcomes(sections.back().outcomes, false);
  if (w.ops > 0) {
    std::cout << fmt::format("\nRandom workload: {} sites, {} accounts of 1000, {} operations, {} partitions, seed {}.\n\n",
                             w.sites, w.accounts, w.ops, w.partitions, w.seed);
    sections.push_back({w, {}});
    for (const auto& r : resolvers) sections.back().outcomes.push_back(demo::runWorkload(r, w, tools(&ids)));
    printOutcomes(sections.back().outcomes, true);
  }
  if (report.is_open()) {
    report << demo::htmlReport(sections, {commandLine(args), kVersion});
    report.close();
    if (!report) throw CliError("cannot write " + reportPath);
    std::cout << "\nwrote " << reportPath << "\n";
  }
  return 0;
}

int demoOffline(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("dir", po::value<std::string>()->default_value("parley-demo"), "where to create the site files");
  auto vm = parse(kOffline, o, {}, args);
  if (!vm) return 0;
  std::string dir = (*vm)["dir"].as<std::string>();
  if (dir.empty()) usage("--dir wants a directory");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    usage(fmt::format("--dir {} exists and is not a directory", dir));
  return demo::runOfflineDemo(dir, tools());
}

}  // namespace

int cmdDemo(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: parley demo bank [options] | parley demo offline [--dir D]\n";
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "bank") return demoBank(rest);
  if (args[0] == "offline") return demoOffline(rest);
  usage(fmt::format("unknown demo \"{}\" (bank, offline)", args[0]));
}

}  // namespace parley::cli
