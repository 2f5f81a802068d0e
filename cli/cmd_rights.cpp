// parley rights: each site's rights on bounded columns, and moving them by hand.
#include <algorithm>
#include <charconv>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/resolvers/bounded.hpp"

namespace parley::cli {
namespace {

namespace bounded = resolvers::bounded;

const Command kRights{
    "rights", "SITE.db TABLE [options]",
    "Shows, for each row of TABLE's bounded columns, what each site may still subtract (its rights) and\n"
    "what it asked for. With --give N --to SITE this site gives N of its\n"
    "rights on row --key to SITE; with --ask N it asks the others for N (a `parley serve` holding the most\n"
    "rights answers); --answer gives now what this site would give as a server (every table). Moves are\n"
    "transactions: they reach the other sites at the next sync. --to takes a site's name (as status shows\n"
    "it), its id, or the first hex digits of its id."};

// A key as the command line gives it: comma-separated values, each an integer if it reads as one.
Row keyOf(const std::string& text) {
  Row pk;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::int64_t n = 0;
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (!part.empty() && error == std::errc() && end == part.data() + part.size()) pk.push_back(Value::integer(n));
    else pk.push_back(Value::text(part));
    if (comma == std::string::npos) return pk;
    start = comma + 1;
  }
}

std::string keyText(const Row& pk) {
  std::string out;
  for (const auto& v : pk) out += (out.empty() ? "" : ",") + v.toDisplay();
  return out;
}

std::string columnFor(Site& site, const std::string& table, const po::variables_map& vm) {
  auto columns = take(bounded::columns(site, table));
  if (vm.count("column")) {
    std::string column = vm["column"].as<std::string>();
    if (std::find(columns.begin(), columns.end(), column) == columns.end())
      throw CliError(fmt::format("column \"{}\" of \"{}\" is not a bounded column", column, table));
    return column;
  }
  if (columns.size() == 1) return columns.front();
  if (columns.empty()) throw CliError(fmt::format("table \"{}\" has no bounded column", table));
  usage(fmt::format("table \"{}\" has {} bounded columns; choose one with --column", table, columns.size()));
}

// A site as the tables show it: its name where known, else the start of its id.
std::string nameOf(const std::vector<std::pair<SiteId, std::string>>& known, const SiteId& id) {
  for (const auto& [site, name] : known)
    if (site == id && !name.empty()) return name;
  return id.shortHex();
}

std::string holders(Site& site, const bounded::CellRights& cell) {
  auto known = knownSites(site);
  std::string out;
  for (const auto& s : cell.sites) {
    out += (out.empty() ? "" : ", ") + fmt::format("{} {}", nameOf(known, s.site), s.rights);
    if (s.outstanding > 0) out += fmt::format(" (asks {})", s.outstanding);
  }
  return out;
}

void list(Site& site, const std::vector<std::string>& tables, std::size_t limit) {
  Table t{{"table", "column", "key", "value", "rights (site amount)"}, {}};
  std::size_t more = 0;
  for (const auto& table : tables)
    for (const auto& column : take(bounded::columns(site, table)))
      for (const auto& cell : take(bounded::rights(site, table, column))) {
        if (t.rows.size() >= limit) ++more;
        else t.rows.push_back({table, column, keyText(cell.pk), cell.value.toDisplay(), holders(site, cell)});
      }
  printTable(std::cout, t);
  if (more) std::cout << fmt::format("... and {} more rows (parley rights SITE TABLE lists them all)\n", more);
}

void listColumn(Site& site, const std::string& table, const std::string& column) {
  Table t{{"table", "column", "key", "value", "rights (site amount)"}, {}};
  for (const auto& cell : take(bounded::rights(site, table, column)))
    t.rows.push_back({table, column, keyText(cell.pk), cell.value.toDisplay(), holders(site, cell)});
  printTable(std::cout, t);
}

}  // namespace

void printRightsSummary(Site& site) {
  std::vector<std::string> tables;
  for (const auto& t : site.trackedTables())
    if (!take(bounded::columns(site, t)).empty()) tables.push_back(t);
  if (tables.empty()) return;
  std::cout << "\nrights on bounded columns (what each site may still subtract):\n";
  list(site, tables, 20);
}

RightsAnswers::RightsAnswers(Site& site, std::chrono::milliseconds every)
    : site_(&site), every_(every), next_(std::chrono::steady_clock::now()) {}

std::string RightsAnswers::tick() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_) return "";
  next_ = now + every_;
  auto held = site_->vector();
  if (!held) return "rights: " + held.status().message();
  if (seen_ && *seen_ == *held) return "";
  auto given = bounded::answerRequests(*site_);
  if (!given) return "rights: answering requests failed: " + given.status().message();
  seen_ = *site_->vector();  // the gives included: they need no answer
  return *given ? fmt::format("rights: answered {} requests for rights", *given) : "";
}

int cmdRights(const std::vector<std::string>& args) {
  po::options_description o("options");
  o.add_options()("column", po::value<std::string>(), "the bounded column (needed if TABLE has several)")
      ("key", po::value<std::string>(), "the row's primary key (comma-separated for several columns)")
      ("give", po::value<std::int64_t>(), "give N of this site's rights on the row")
      ("to", po::value<std::string>(), "the site to give to: its name, its id or its first hex digits")
      ("ask", po::value<std::int64_t>(), "ask the other sites for N rights on the row")
      ("answer", "give now what this site's serve would give to sites that asked");
  auto vm = parse(kRights, o, {"SITE", "TABLE"}, args);
  if (!vm) return 0;
  auto site = openSite((*vm)["SITE"].as<std::string>());
  bool give = vm->count("give"), ask = vm->count("ask");
  if (give && ask) usage("choose one of --give and --ask");
  if (vm->count("answer")) {
    std::size_t given = take(bounded::answerRequests(*site));
    std::cout << fmt::format("answered {} requests\n", given);
    return 0;
  }
  std::string table = (*vm)["TABLE"].as<std::string>();
  if (!give && !ask) {
    if (vm->count("column")) listColumn(*site, table, columnFor(*site, table, *vm));
    else if (take(bounded::columns(*site, table)).empty()) throw CliError(fmt::format("table \"{}\" has no bounded column", table));
    else list(*site, {table}, SIZE_MAX);
    return 0;
  }
  if (!vm->count("key")) usage("--give and --ask need --key, the row's primary key");
  std::string column = columnFor(*site, table, *vm);
  Row pk = keyOf((*vm)["key"].as<std::string>());
  Dot dot;
  if (give) {
    if (!vm->count("to")) usage("--give needs --to SITE");
    SiteId to = resolveSite(*site, (*vm)["to"].as<std::string>(), "--to");
    dot = take(bounded::give(*site, table, pk, column, to, (*vm)["give"].as<std::int64_t>()));
    std::cout << fmt::format("gave {} of {}.{} ({}) to {} (transaction {})\n", (*vm)["give"].as<std::int64_t>(), table,
                             column, keyText(pk), to.shortHex(), dot.toString());
  } else {
    dot = take(bounded::ask(*site, table, pk, column, (*vm)["ask"].as<std::int64_t>()));
    std::cout << fmt::format("asked for {} of {}.{} ({}) (transaction {})\n", (*vm)["ask"].as<std::int64_t>(), table,
                             column, keyText(pk), dot.toString());
  }
  return 0;
}

}  // namespace parley::cli
