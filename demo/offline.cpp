#include "parley/demo/offline.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "parley/demo/scenario.hpp"
#include "parley/replication.hpp"
#include "parley/sync/changeset.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::demo {
namespace {

namespace fs = std::filesystem;

void step(const std::string& text) { std::cout << "\n== " << text << "\n"; }

void run(Site& site, const std::string& sql) {
  std::cout << fmt::format("  {}> {}\n", site.name(), sql);
  must(site.exec(sql).status());
}

void show(Site& site, const Tools& tools) {
  std::cout << "  " << site.name() << " " << must(site.vector()).toString() << "\n";
  tools.printRows(must(site.exec("SELECT sku, name, stock, price FROM inventory ORDER BY sku")));
}

// Carries what `to` lacks from `from` in a change-set file.
void carry(Site& from, Site& to, const fs::path& dir) {
  fs::path file = dir / fmt::format("{}-to-{}.pcs", from.name(), to.name());
  fs::remove(file);
  VersionVector since;
  for (const auto& [id, v] : must(from.replication().acknowledgements()))
    if (id == to.id()) since = v;
  auto out = must(sync::exportChanges(from, file.string(), since));
  auto in = must(sync::importChanges(to, file.string()));
  std::cout << fmt::format("  {} -> {}: {} ({} transactions, {} bytes): applied {}, {} conflicts\n", from.name(), to.name(),
                           file.filename().string(), out.info.transactions, out.bytes, in.applied.applied,
                           in.applied.conflicts);
}

void removeSite(const fs::path& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix);
}

}  // namespace

int runOfflineDemo(const std::string& dirName, const Tools& tools) {
  SiteOptions options{tools.clock, tools.resolvers};
  fs::path dir(dirName);
  fs::create_directories(dir);
  for (const char* name : {"ny.db", "london.db", "tokyo.db"}) removeSite(dir / name);

  step("New York creates the site and the inventory; London and Tokyo are cloned from it");
  auto ny = must(Site::create((dir / "ny.db").string(), {"ny", tools.ids, {}}, options));
  run(*ny, "CREATE TABLE inventory(sku TEXT PRIMARY KEY, name TEXT, stock INTEGER NOT NULL, price REAL)");
  run(*ny, "INSERT INTO inventory VALUES ('W-1', 'widget', 100, 2.50), ('G-7', 'gadget', 40, 9.90)");
  TableConfig config;
  config.overrides["stock"] = "counter";
  must(ny->track("inventory", config));
  std::cout << "  tracking inventory: " << must(ny->config("inventory")).toString() << "\n";
  auto london = must(ny->clone((dir / "london.db").string(), {"london", tools.ids, {}}, options));
  auto tokyo = must(ny->clone((dir / "tokyo.db").string(), {"tokyo", tools.ids, {}}, options));
  must(london->replication().acknowledge(tokyo->id(), {}));
  must(tokyo->replication().acknowledge(london->id(), {}));

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
  sync::TcpOptions tcp{"cd577fe2561ebff23505db0bb006300c7cdecbd46bc0e03c449afafaca2c25bf", std::chrono::seconds(10), sync::kChunkBytes, {}};
  run(*ny, "UPDATE inventory SET stock = stock - 1 WHERE sku = 'G-7'");
  {
    auto server = must(sync::Server::start(*tokyo, "127.0.0.1:0", tcp));
    std::string address = fmt::format("127.0.0.1:{}", server->port());
    for (Site* site : {ny.get(), london.get(), ny.get()}) {
      auto r = must(sync::syncTcp(*site, address, tcp));
      std::cout << fmt::format("  {} <-> tokyo (tcp://{}): sent {}, received {}\n", site->name(), address,
                               r.sent.transactions, r.received.applied);
    }
    server->stop();
  }

  step("Converged: every site holds the same inventory (stock is a counter: 100 - 3 - 2 + 10 = 105)");
  for (Site* site : {ny.get(), london.get(), tokyo.get()}) show(*site, tools);
  bool same = must(ny->exec("SELECT * FROM inventory ORDER BY sku")).rows == must(london->exec("SELECT * FROM inventory ORDER BY sku")).rows &&
              must(ny->exec("SELECT * FROM inventory ORDER BY sku")).rows == must(tokyo->exec("SELECT * FROM inventory ORDER BY sku")).rows;
  std::cout << fmt::format("\nconverged: {}. The files stay in {}/ for you to explore, e.g.\n"
                           "  parley status {}/ny.db\n  parley conflicts {}/tokyo.db\n",
                           same ? "yes" : "NO", dir.string(), dir.string(), dir.string());
  return same ? 0 : 1;
}

}  // namespace parley::demo
