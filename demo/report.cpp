// The comparison of `parley demo bank` as text (terminal and HTML) and the HTML report: a table
// and one SVG bar chart per measure, no scripts. Columns and measures are lists: a new resolver
// is a new row everywhere, a new measure one entry below.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "parley/demo/bank.hpp"

namespace parley::demo {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string yesNo(bool b, const char* no = "NO") { return b ? "yes" : no; }

std::string signedText(std::int64_t v) { return v > 0 ? fmt::format("+{}", v) : fmt::format("{}", v); }

// The sites' totals in one cell: the value when they agree, else each value with its sites
// (a value most sites share is counted, not listed).
std::string totalsText(const Outcome& o) {
  std::map<std::int64_t, std::vector<std::string>> byValue;
  for (std::size_t i = 0; i < o.totals.size(); ++i) byValue[o.totals[i]].push_back(o.siteNames.at(i));
  if (byValue.size() <= 1) return o.totals.empty() ? "" : std::to_string(o.totals.front());
  std::vector<std::pair<std::int64_t, std::vector<std::string>>> groups(byValue.begin(), byValue.end());
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });  // most shared first
  std::string out;
  for (const auto& [value, sites] : groups) {
    if (!out.empty()) out += ", ";
    out += sites.size() > 2 ? fmt::format("{} at {} sites", value, sites.size())
                            : fmt::format("{} at {}", value, fmt::join(sites, " and "));
  }
  return out;
}

struct Column {
  std::string header;
  std::function<std::string(const Outcome&)> cell;
};

std::vector<Column> columns(bool withRate) {
  std::vector<Column> c{
      {"resolver", [](const Outcome& o) { return o.resolver; }},
      {"total", totalsText},
      {"expected", [](const Outcome& o) { return std::to_string(o.expected); }},
      {"created/destroyed", [](const Outcome& o) { return signedText(deviation(o)); }},
      {"lost updates", [](const Outcome& o) { return std::to_string(o.lostUpdates); }},
      {"rejected", [](const Outcome& o) { return std::to_string(o.rejected); }},
      {"converged", [](const Outcome& o) { return yesNo(o.converged); }},
      {"balance >= 0", [](const Outcome& o) { return yesNo(o.invariantHeld); }},
  };
  if (withRate)
    c.push_back({"txn/s", [](const Outcome& o) { return fmt::format("{:.0f}", o.transactions / std::max(o.seconds, 1e-9)); }});
  return c;
}

// One bar chart of the report: a bar per resolver.
struct Measure {
  std::string title;
  std::string meaning;
  std::function<std::int64_t(const Outcome&)> value;
  std::string color;
  bool signedValue = false;  // shown as +N / -N
};

std::vector<Measure> measures() {
  return {
      {"money created (+) or destroyed (-)",
       "the total minus what the accepted transactions give: a lost withdrawal creates money; 0 is conserved",
       deviation, "#c0392b", true},
      {"lost updates", "concurrent writes a resolver discarded (a withdrawal or deposit that left no trace)",
       [](const Outcome& o) { return static_cast<std::int64_t>(o.lostUpdates); }, "#d68910"},
      {"rejected transactions", "refused in canonical order, all of their writes; the writer's site lists them",
       [](const Outcome& o) { return static_cast<std::int64_t>(o.rejected); }, "#2e86c1"},
  };
}

std::string htmlTable(const TextTable& t) {
  std::string out = "<table><thead><tr>";
  for (const auto& c : t.columns) out += "<th>" + escape(c) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + escape(cell) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

// Horizontal bars from a zero line (in the middle when some value is negative).
std::string chart(const Measure& m, const std::vector<Outcome>& outcomes) {
  std::int64_t top = 1;
  bool negative = false;
  for (const auto& o : outcomes) {
    top = std::max<std::int64_t>(top, std::llabs(m.value(o)));
    negative = negative || m.value(o) < 0;
  }
  const int label = 70, plot = 170, barHeight = 20, gap = 6, right = 60;
  int zero = label + (negative ? plot / 2 : 0);
  int span = negative ? plot / 2 : plot;
  int height = static_cast<int>(outcomes.size()) * (barHeight + gap) + gap;
  std::string svg = fmt::format(
      "<figure><figcaption><b>{}</b><br><small>{}</small></figcaption>"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\">",
      escape(m.title), escape(m.meaning), label + plot + right, height);
  int y = gap;
  for (const auto& o : outcomes) {
    std::int64_t v = m.value(o);
    int w = static_cast<int>(static_cast<double>(std::llabs(v)) / static_cast<double>(top) * span);
    int x = v < 0 ? zero - w : zero;
    svg += fmt::format("<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>", y + 15, escape(o.resolver));
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>", x, y, std::max(w, 0),
                       barHeight, m.color);
    // The value right of the bar, or right of the zero line for a bar that grows left.
    int textX = v < 0 ? zero + 4 : x + w + 4;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>", textX, y + 15,
                       m.signedValue ? signedText(v) : std::to_string(v));
    y += barHeight + gap;
  }
  svg += fmt::format("<line x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"{1}\" stroke=\"#555\"/>", zero, height);
  return svg + "</svg></figure>";
}

std::string title(const Workload& w) {
  if (w.ops == 0) return "Bank account: 1000; New York withdraws 100 while London withdraws 200";
  return fmt::format("Random workload: {} sites, {} accounts of 1000, {} operations, {} partitions, seed {}", w.sites,
                     w.accounts, w.ops, w.partitions, w.seed);
}

std::string section(const ReportSection& s) {
  std::string out = "<section><h2>" + escape(title(s.workload)) + "</h2>";
  out += htmlTable(comparison(s.outcomes, false));
  out += "<div class=\"charts\">";
  for (const auto& m : measures()) out += chart(m, s.outcomes);
  return out + "</div></section>";
}

const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}th{background:#eee}td:nth-child(2){max-width:22em}"
    ".charts{display:flex;flex-wrap:wrap;gap:1.5em}figure{margin:0;max-width:310px}"
    "figcaption small{color:#555}.meta{color:#555}code{background:#f4f4f4;padding:1px 4px}";

}  // namespace

std::int64_t deviation(const Outcome& o) { return o.totals.empty() ? 0 : o.totals.front() - o.expected; }

TextTable comparison(const std::vector<Outcome>& outcomes, bool withRate) {
  TextTable t;
  auto cols = columns(withRate);
  for (const auto& c : cols) t.columns.push_back(c.header);
  for (const auto& o : outcomes) {
    std::vector<std::string> row;
    for (const auto& c : cols) row.push_back(c.cell(o));
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string htmlReport(const std::vector<ReportSection>& sections, const ReportInfo& info) {
  std::string out = fmt::format(
      "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
      "<title>parley: resolvers on the bank account</title><style>{}</style></head><body>"
      "<h1>Resolvers on the bank account</h1>"
      "<p class=\"meta\">Written by <code>{}</code> (parley {}).</p>"
      "<p><b>total</b>: the money at the sites after they synced (one value when they agree); <b>expected</b>: what "
      "the transactions the sites accepted add up to; <b>created/destroyed</b>: the difference. A resolver that "
      "discards a concurrent withdrawal creates money (a lost update); a rejected transaction is refused as a whole "
      "and reported to its writer, so money is conserved.</p>",
      kStyle, escape(info.command), escape(info.version));
  for (const auto& s : sections) out += section(s);
  return out + "</body></html>\n";
}

}  // namespace parley::demo
