#include "offline.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"
#include "output.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

void step(const std::string& text) { std::cout << "\n== " << text << "\n"; }

void run(Site& site, const std::string& sql) {
  std::cout << fmt::format("  {}> {}\n", site.name(), sql);
  check(site.exec(sql).status());
}

void show(Site& site) {
  auto r = take(site.exec("SELECT sku, name, stock, price FROM inventory ORDER BY sku"));
  Table t{r.columns, {}};
  for (const auto& row : r.rows) {
    std::vector<std::string> cells;
    for (const auto& v : row) cells.push_back(v.toDisplay());
    t.rows.push_back(std::move(cells));
  }
  std::cout << "  " << site.name() << " " << take(site.vector()).toString() << "\n";
  printTable(std::cout, t);
}

// Carries what `to` lacks from `from` in a change-set file.
void carry(Site& from, Site& to, const fs::path& dir) {
  fs::path file = dir / fmt::format("{}-to-{}.pcs", from.name(), to.name());
  fs::remove(file);
  VersionVector since;
  for (const auto& [id, v] : take(from.acknowledgements()))
    if (id == to.id()) since = v;
  auto out = take(sync::exportChanges(from, file.string(), since));
  auto in = take(sync::importChanges(to, file.string()));
  std::cout << fmt::format("  {} -> {}: {} ({} transactions, {} bytes): applied {}, {} conflicts\n", from.name(), to.name(),
                           file.filename().string(), out.info.transactions, out.bytes, in.applied.applied,
                           in.applied.conflicts);
}

void removeSite(const fs::path& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
}

}  // namespace

int runOfflineDemo(const std::string& dirName) {
  fs::path dir(dirName);
  fs::create_directories(dir);
  for (const char* name : {"ny.db", "london.db", "tokyo.db"}) removeSite(dir / name);

  step("New York creates the site and the inventory; London and Tokyo are cloned from it");
  auto ny = take(Site::create((dir / "ny.db").string(), {"ny", &env().ids, {}}, env().siteOptions()));
  run(*ny, "CREATE TABLE inventory(sku TEXT PRIMARY KEY, name TEXT, stock INTEGER NOT NULL, price REAL)");
  run(*ny, "INSERT INTO inventory VALUES ('W-1', 'widget', 100, 2.50), ('G-7', 'gadget', 40, 9.90)");
  TableConfig config;
  config.overrides["stock"] = "counter";
  check(ny->track("inventory", config));
  std::cout << "  tracking inventory: " << take(ny->config("inventory")).toString() << "\n";
  auto london = take(ny->clone((dir / "london.db").string(), {"london", &env().ids, {}}, env().siteOptions()));
  auto tokyo = take(ny->clone((dir / "tokyo.db").string(), {"tokyo", &env().ids, {}}, env().siteOptions()));
  check(london->acknowledge(tokyo->id(), {}));
  check(tokyo->acknowledge(london->id(), {}));

  step("Offline: each site takes writes on its own");
  run(*ny, "UPDATE inventory SET stock = stock - 3 WHERE sku = 'W-1'");
  run(*ny, "UPDATE inventory SET price = 2.75 WHERE sku = 'W-1'");
  run(*london, "UPDATE inventory SET stock = stock - 2 WHERE sku = 'W-1'");
  run(*london, "INSERT INTO inventory VALUES ('S-3', 'sprocket', 12, 4.20)");
  run(*tokyo, "UPDATE inventory SET stock = stock + 10 WHERE sku = 'W-1'");
  run(*tokyo, "UPDATE inventory SET price = 2.60 WHERE sku = 'W-1'");

  step("Carrying change-set files along the chain ny -> london -> tokyo, and back");
  carry(*ny, *london, dir);
  carry(*london, *tokyo, dir);
  carry(*tokyo, *london, dir);
  carry(*london, *ny, dir);

  step("Over TCP: tokyo serves, New York writes again and syncs with it, then London");
  sync::TcpOptions tcp{"demo-secret", std::chrono::seconds(10), sync::kChunkBytes, {}};
  run(*ny, "UPDATE inventory SET stock = stock - 1 WHERE sku = 'G-7'");
  {
    auto server = take(sync::Server::start(*tokyo, "127.0.0.1:0", tcp));
    std::string address = fmt::format("127.0.0.1:{}", server->port());
    for (Site* site : {ny.get(), london.get(), ny.get()}) {
      auto r = take(sync::syncTcp(*site, address, tcp));
      std::cout << fmt::format("  {} <-> tokyo (tcp://{}): sent {}, received {}\n", site->name(), address,
                               r.sent.transactions, r.received.applied);
    }
    server->stop();
  }

  step("Converged: every site holds the same inventory (stock is a counter: 100 - 3 - 2 + 10 = 105)");
  for (Site* site : {ny.get(), london.get(), tokyo.get()}) show(*site);
  bool same = take(ny->exec("SELECT * FROM inventory ORDER BY sku")).rows == take(london->exec("SELECT * FROM inventory ORDER BY sku")).rows &&
              take(ny->exec("SELECT * FROM inventory ORDER BY sku")).rows == take(tokyo->exec("SELECT * FROM inventory ORDER BY sku")).rows;
  std::cout << fmt::format("\nconverged: {}. The files stay in {}/ for you to explore, e.g.\n"
                           "  parley status {}/ny.db\n  parley conflicts {}/tokyo.db\n",
                           same ? "yes" : "NO", dir.string(), dir.string(), dir.string());
  return same ? 0 : 1;
}

}  // namespace parley::cli
