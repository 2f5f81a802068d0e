// Comparing sites: each tracked table read in key order, and a readable diff naming the
// table, key, column and every site's value where they differ.
#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "cluster_impl.hpp"

namespace parley::testing {

namespace {

constexpr std::size_t kMaxDifferences = 40;

struct TableDump {
  std::vector<std::string> columns;
  std::vector<std::string> keys;    // each row's key as text, in key order
  std::map<std::string, Row> rows;  // by key text
};

std::string quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string keyText(const Row& row, const std::vector<std::size_t>& keyColumns) {
  Row key;
  for (std::size_t c : keyColumns) key.push_back(row.at(c));
  return rowText(key);
}

TableDump read(const ClusterState& m, std::size_t site, const std::string& table) {
  Site& s = m.at(site);
  auto info =
      s.exec("SELECT name, pk FROM pragma_table_info(?1) ORDER BY name", {Value::text(table)});
  if (!info)
    m.fail("reading table " + table + " at " + m.siteName(site) + ": " + info.status().toString());
  TableDump d;
  std::vector<std::pair<std::int64_t, std::size_t>> order;  // (position in the key, column)
  for (const auto& row : info->rows) {
    if (row[1].asInteger() > 0) order.push_back({row[1].asInteger(), d.columns.size()});
    d.columns.push_back(row[0].asText());
  }
  std::sort(order.begin(), order.end());
  std::vector<std::size_t> keyColumns;
  std::string orderBy;
  for (const auto& [pos, column] : order) {
    keyColumns.push_back(column);
    orderBy += (orderBy.empty() ? "" : ", ") + std::to_string(column + 1);
  }
  // Columns by name: columns added concurrently at two sites may stand in either order.
  std::string selected;
  for (const auto& c : d.columns) selected += (selected.empty() ? "" : ", ") + quoted(c);
  auto rows = s.exec("SELECT " + selected + " FROM " + quoted(table) +
                     (orderBy.empty() ? "" : " ORDER BY " + orderBy));
  if (!rows)
    m.fail("reading table " + table + " at " + m.siteName(site) + ": " + rows.status().toString());
  for (auto& row : rows->rows) {
    std::string key = keyText(row, keyColumns);
    d.keys.push_back(key);
    d.rows.emplace(key, std::move(row));
  }
  return d;
}

struct Diff {
  const ClusterState& m;
  const std::vector<std::size_t>& sites;
  std::vector<std::string> lines;
  std::size_t count = 0;

  void add(std::string line) {
    if (++count <= kMaxDifferences) lines.push_back(std::move(line));
  }

  void compareRow(const std::string& table, const std::vector<TableDump>& dumps,
                  const std::string& key) {
    std::vector<const Row*> rows;
    for (const auto& d : dumps) {
      auto it = d.rows.find(key);
      rows.push_back(it == d.rows.end() ? nullptr : &it->second);
    }
    bool missing = false;
    for (const Row* r : rows) missing = missing || r == nullptr;
    if (missing) return reportMissing(table, key, rows);
    const auto& columns = dumps.front().columns;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      bool same = true;
      for (const Row* r : rows) same = same && (*r)[c] == (*rows.front())[c];
      if (same) continue;
      std::string line = "table " + table + ", key " + key + ", column " + columns[c] + ":";
      for (std::size_t i = 0; i < rows.size(); ++i)
        line += " " + m.siteName(sites[i]) + "=" + (*rows[i])[c].toSqlLiteral();
      add(line);
    }
  }

  void reportMissing(const std::string& table, const std::string& key,
                     const std::vector<const Row*>& rows) {
    std::string line = "table " + table + ", key " + key + ":";
    for (std::size_t i = 0; i < rows.size(); ++i)
      line += " " + m.siteName(sites[i]) + "=" +
              (rows[i] ? rowText(*rows[i]) : std::string("(no row)"));
    add(line);
  }

  void compareTable(const std::string& table) {
    std::vector<TableDump> dumps;
    for (std::size_t s : sites) dumps.push_back(read(m, s, table));
    for (std::size_t i = 1; i < dumps.size(); ++i)
      if (dumps[i].columns != dumps[0].columns)
        return add("table " + table + ": columns differ between " + m.siteName(sites[0]) + " and " +
                   m.siteName(sites[i]));
    std::vector<std::string> keys;
    std::map<std::string, bool> seen;
    for (const auto& d : dumps)
      for (const auto& k : d.keys)
        if (!seen[k]) {
          seen[k] = true;
          keys.push_back(k);
        }
    for (const auto& k : keys) compareRow(table, dumps, k);
  }
};

std::string siteList(const ClusterState& m, const std::vector<std::size_t>& sites) {
  std::string out;
  for (std::size_t s : sites) out += (out.empty() ? "" : ", ") + m.siteName(s);
  return out;
}

}  // namespace

std::string rowText(const Row& row) {
  std::string out = "(";
  for (std::size_t i = 0; i < row.size(); ++i) out += (i ? ", " : "") + row[i].toSqlLiteral();
  return out + ")";
}

Convergence Cluster::converged() const {
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < size(); ++i) all.push_back(i);
  return converged(all);
}

Convergence Cluster::converged(const std::vector<std::size_t>& sites) const {
  const ClusterState& m = *impl_;
  for (std::size_t s : sites) m.at(s);
  Diff diff{m, sites, {}, 0};
  for (const auto& table : m.comparedTables()) diff.compareTable(table);
  if (diff.count == 0) return {};
  std::ostringstream out;
  out << "sites " << siteList(m, sites) << " diverge in " << diff.count << " place"
      << (diff.count == 1 ? "" : "s") << ":\n";
  for (const auto& line : diff.lines) out << "  " << line << "\n";
  if (diff.count > diff.lines.size())
    out << "  ... and " << diff.count - diff.lines.size() << " more\n";
  out << "holding:";
  for (std::size_t s : sites) out << " " << m.siteName(s) << "=" << m.at(s).vector().value().toString();
  out << "\nreplay with seed=" << m.options.seed;
  return {false, out.str()};
}

void Cluster::assertConverged() const {
  if (auto c = converged(); !c) throw Divergence(c.message, seed());
}

void Cluster::assertConverged(const std::vector<std::size_t>& sites) const {
  if (auto c = converged(sites); !c) throw Divergence(c.message, seed());
}

std::string Cluster::dump(std::size_t site) const {
  std::string out;
  for (const auto& table : impl_->comparedTables()) {
    TableDump d = read(*impl_, site, table);
    out += "table " + table + "\n";
    for (const auto& key : d.keys) out += "  " + rowText(d.rows.at(key)) + "\n";
  }
  return out;
}

std::string describe(const ConflictReport& c) {
  std::string out = toString(c.kind) + " " + c.table + rowText(c.pk);
  if (!c.column.empty()) out += "." + c.column;
  out += " [" + c.resolver + "] local " + c.localValue.toSqlLiteral() + " remote " +
         c.remoteValue.toSqlLiteral() + " (" + c.remoteDot.toString() + ") -> " +
         c.result.toSqlLiteral() + " " + toString(c.outcome);
  if (!c.reason.empty()) out += " (" + c.reason + ")";
  return out;
}

}  // namespace parley::testing
