// The HTML report of `parley demo bank --report`: the table and an SVG bar chart, no scripts.
#include <algorithm>

#include <fmt/format.h>

#include "parley/demo/bank.hpp"

namespace parley::demo {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

std::string table(const std::vector<Outcome>& outcomes) {
  std::string out = "<table><tr><th>resolver</th>";
  for (const auto& n : outcomes.front().siteNames) out += "<th>" + escape(n) + " total</th>";
  out += "<th>converged</th><th>money conserved</th><th>lost updates</th><th>rejected</th><th>balance &ge; 0</th>"
         "<th>withdrawals bounced after the fact</th><th>withdrawals refused when written</th></tr>";
  for (const auto& o : outcomes) {
    out += "<tr><td>" + escape(o.resolver) + "</td>";
    for (auto t : o.totals) out += fmt::format("<td>{}</td>", t);
    out += fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>", o.converged ? "yes" : "NO",
                       o.conserved ? "yes" : "no", o.lostUpdates, o.rejected, o.invariantHeld ? "yes" : "NO");
    out += fmt::format("<td>{}</td><td>{}</td></tr>", o.bounced, o.refused);
  }
  return out + "</table>";
}

// One bar per resolver: the first site's total.
std::string chart(const std::vector<Outcome>& outcomes) {
  std::int64_t top = 1;
  for (const auto& o : outcomes) top = std::max(top, o.totals.front());
  const int width = 520, barHeight = 26, gap = 8, label = 80;
  int height = static_cast<int>(outcomes.size()) * (barHeight + gap) + gap;
  std::string svg = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">", width + label + 60, height);
  int y = gap;
  for (const auto& o : outcomes) {
    int w = static_cast<int>(static_cast<double>(std::max<std::int64_t>(o.totals.front(), 0)) / top * width);
    std::string color = o.conserved ? "#4a8" : "#d74";
    svg += fmt::format("<text x=\"0\" y=\"{}\" font-size=\"14\">{}</text>", y + 18, escape(o.resolver));
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>", label, y, w, barHeight, color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"13\">{}</text>", label + w + 6, y + 18, o.totals.front());
    y += barHeight + gap;
  }
  return svg + "</svg>";
}

}  // namespace

std::string htmlReport(const Workload& w, const std::vector<Outcome>& outcomes) {
  std::string title = w.ops == 0 ? "Bank account: 1000; New York withdraws 100 while London withdraws 200"
                                 : fmt::format("Random workload: {} sites, {} accounts, {} operations, {} partitions, seed {}",
                                               w.sites, w.accounts, w.ops, w.partitions, w.seed);
  return "<h2>" + escape(title) + "</h2>" + table(outcomes) +
         "<p>Total money at the first site after sync (green: every accepted transaction's effect kept).</p>" +
         chart(outcomes);
}

}  // namespace parley::demo
