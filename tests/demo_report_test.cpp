// The comparison table and HTML report of `parley demo bank` (demo/report.cpp), on outcomes
// made by hand: sites that agree share one cell, sites that differ are each named, the
// deviation is the total minus the expected total, and the report grows by rows and bars only.
#include <catch2/catch.hpp>

#include <string>

#include "parley/demo/bank.hpp"

namespace {

using parley::demo::Outcome;

Outcome outcome(const std::string& resolver, std::vector<std::int64_t> totals, std::int64_t expected) {
  Outcome o;
  o.resolver = resolver;
  for (std::size_t i = 0; i < totals.size(); ++i) o.siteNames.push_back("site" + std::to_string(i + 1));
  o.totals = std::move(totals);
  o.expected = expected;
  o.converged = true;
  for (auto t : o.totals) o.converged = o.converged && t == o.totals.front();
  return o;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the comparison has one total column whatever the number of sites", "[demo][report]") {
  std::vector<std::int64_t> sixteen(16, 900);
  auto t = parley::demo::comparison({outcome("fww", sixteen, 700), outcome("reject", sixteen, 900)}, false);
  auto small = parley::demo::comparison({outcome("fww", {900, 900}, 700)}, false);
  CHECK(t.columns == small.columns);
  CHECK(t.columns.at(1) == "total");
  CHECK(t.rows.at(0).at(1) == "900");
  CHECK(t.rows.at(0).at(3) == "+200");  // fww's 900 created 200
  CHECK(t.rows.at(1).at(3) == "0");     // reject's 900 is what was accepted
  CHECK(parley::demo::deviation(outcome("lww", {600}, 700)) == -100);
}

TEST_CASE("sites that disagree are named in the total cell, a value most share counted", "[demo][report]") {
  std::vector<std::int64_t> totals(16, 1000);
  totals[15] = 990;
  auto t = parley::demo::comparison({outcome("lww", totals, 1000)}, false);
  CHECK(t.rows.at(0).at(1) == "1000 at 15 sites, 990 at site16");
  CHECK(t.rows.at(0).at(6) == "NO");  // converged
}

TEST_CASE("the report has a bar per resolver per measure, the command and the version", "[demo][report]") {
  parley::demo::Workload w;
  std::vector<Outcome> three{outcome("lww", {800, 800}, 700), outcome("merge", {700, 700}, 700),
                             outcome("bounded", {700, 700}, 700)};
  std::string html = parley::demo::htmlReport({{w, three}}, {"parley demo bank --report <x>.html", "9.9.9"});
  CHECK(count(html, "<rect ") == 3 * 3);
  CHECK(count(html, "<figure>") == 3);
  CHECK(html.find("parley demo bank --report &lt;x&gt;.html") != std::string::npos);
  CHECK(html.find("(parley 9.9.9)") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find(">+100</text>") != std::string::npos);  // lww's created money, signed
}
