// parley demo bank | offline: the guided scenarios.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/demo/bank.hpp"
#include "parley/demo/offline.hpp"

namespace parley::cli {
namespace {

using demo::Outcome;
using demo::Workload;

// The scenarios run with this process's ids and strategies, and print rows as tables.
demo::Tools tools() {
  return {&env().clock, &env().ids, env().registry, [](const QueryResult& r) {
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

const std::vector<std::string> kResolvers{"lww", "fww", "merge", "counter", "reject", "bounded"};

void printOutcomes(const std::vector<Outcome>& outcomes, bool random) {
  std::vector<std::string> columns{"resolver"};
  for (const auto& name : outcomes.front().siteNames) columns.push_back(random ? name + " total" : name);
  for (const char* c : {"converged", "money conserved", "lost updates", "rejected", "balance >= 0"}) columns.push_back(c);
  if (random) columns.push_back("bounced later");
  columns.push_back("refused when written");
  if (random) columns.push_back("txn/s");
  Table t{columns, {}};
  for (const auto& o : outcomes) {
    std::vector<std::string> row{o.resolver};
    for (auto total : o.totals) row.push_back(std::to_string(total));
    row.push_back(o.converged ? "yes" : "NO");
    row.push_back(o.conserved ? "yes" : "no");
    row.push_back(std::to_string(o.lostUpdates));
    row.push_back(std::to_string(o.rejected));
    row.push_back(o.invariantHeld ? "yes" : "NO");
    if (random) row.push_back(std::to_string(o.bounced));
    row.push_back(std::to_string(o.refused));
    if (random) row.push_back(fmt::format("{:.0f}", o.transactions / std::max(o.seconds, 1e-9)));
    t.rows.push_back(std::move(row));
  }
  printTable(std::cout, t);
}

std::vector<std::string> resolversFrom(const std::string& choice) {
  if (choice == "all") return kResolvers;
  for (const auto& r : kResolvers)
    if (r == choice) return {r};
  usage(fmt::format("--resolver wants all, lww, fww, merge, counter, reject or bounded, not \"{}\"", choice));
}

int demoBank(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("resolver", po::value<std::string>()->default_value("all"), "all, lww, fww, merge, counter, reject or bounded")
      ("report", po::value<std::string>(), "also write a self-contained HTML report to this file")
      ("sites", po::value<int>()->default_value(3), "random workload: number of sites")
      ("accounts", po::value<int>()->default_value(4), "random workload: number of accounts")
      ("ops", po::value<int>()->default_value(0), "random workload: operations (0: skip it)")
      ("seed", po::value<std::uint64_t>()->default_value(1), "random workload: seed")
      ("partitions", po::value<int>()->default_value(2), "random workload: partitions to heal");
  auto vm = parse(kBank, o, {}, args);
  if (!vm) return 0;
  auto resolvers = resolversFrom((*vm)["resolver"].as<std::string>());
  Workload w{(*vm)["sites"].as<int>(), (*vm)["accounts"].as<int>(), (*vm)["ops"].as<int>(),
             (*vm)["partitions"].as<int>(), (*vm)["seed"].as<std::uint64_t>()};
  if (w.ops < 0 || w.sites < 2 || w.sites > 16 || w.accounts < 1 || w.partitions < 1)
    usage("random workload: --ops >= 0, --sites 2..16, --accounts >= 1, --partitions >= 1");
  Workload bank;
  std::vector<Outcome> outcomes;
  std::cout << "Bank account: balance 1000; New York withdraws 100 while London withdraws 200.\n\n";
  for (const auto& r : resolvers) outcomes.push_back(demo::runWorkload(r, bank, tools()));
  printOutcomes(outcomes, false);
  for (const auto& outcome : outcomes)
    if (!outcome.refusal.empty())
      std::cout << fmt::format("\n{}: London's withdrawal of 400 more, refused when written: {}\n", outcome.resolver,
                               outcome.refusal);
  std::string html = demo::htmlReport(bank, outcomes);
  if (w.ops > 0) {
    std::cout << fmt::format("\nRandom workload: {} sites, {} accounts of 1000, {} operations, {} partitions, seed {}.\n\n",
                             w.sites, w.accounts, w.ops, w.partitions, w.seed);
    std::vector<Outcome> random;
    for (const auto& r : resolvers) random.push_back(demo::runWorkload(r, w, tools()));
    printOutcomes(random, true);
    html += demo::htmlReport(w, random);
  }
  if (vm->count("report")) {
    std::string path = (*vm)["report"].as<std::string>();
    std::ofstream out(path);
    out << "<!doctype html><html><head><meta charset=\"utf-8\"><title>parley: resolvers on the bank account</title>"
        << "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        << "padding:4px 8px;text-align:right}th{background:#eee}</style></head><body>" << html << "</body></html>\n";
    if (!out) throw CliError("cannot write " + path);
    std::cout << "\nwrote " << path << "\n";
  }
  return 0;
}

int demoOffline(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("dir", po::value<std::string>()->default_value("parley-demo"), "where to create the site files");
  auto vm = parse(kOffline, o, {}, args);
  if (!vm) return 0;
  return demo::runOfflineDemo((*vm)["dir"].as<std::string>(), tools());
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
