// schema changes (figure 8): what a replicated schema change costs.
//
// (i) ADD COLUMN on a tracked table of N rows against the same on an empty tracked table, two
//     file sites side by side, alternating, best of R (a fresh column each time). The change
//     is a schema transaction; no row is rewritten (SQLite's ADD COLUMN is a catalog change,
//     and a row's digest leaves out a cell holding its column's default).
//     Beside it, the same ADD COLUMN through plain SQLite on two untracked tables of the same
//     sizes: what SQLite's own ALTER costs, parley's part being the difference. Best and median.
// (ii) a sync across a schema change: a producer updates K rows of a tracked table, one
//     transaction per row, and a receiver (a clone) syncs them in-process (syncSites); only the
//     sync is timed. Without: the updates write an existing column. With: the producer first
//     adds a column and the updates write it, so the receiver applies the change and then
//     writes naming the column by its id. Per row, side by side, best of R.
#include <algorithm>

#include "common.hpp"
#include "parley/sync/in_process.hpp"

namespace {

const char* kTable = "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)";

std::unique_ptr<parley::Site> tracked(bench::SiteEnv& env, const std::string& path, const std::string& name,
                                      std::int64_t rows) {
  auto site = bench::createSite(env, path, name);
  bench::exec(*site, kTable);
  if (rows > 0) bench::exec(*site, bench::fillSql("items", rows, "'item ' || x, x % 100"));
  bench::check(site->track("items"));
  return site;
}

double addColumn(parley::Site& site, int n) {
  return bench::seconds([&] { bench::exec(site, fmt::format("ALTER TABLE items ADD COLUMN c{} INTEGER DEFAULT 0", n)); });
}

void plainExec(bench::PlainDb& db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db.handle(), sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string what = error ? error : "?";
    sqlite3_free(error);
    bench::fail("plain SQLite: " + what);
  }
}

double plainAddColumn(bench::PlainDb& db, int n) {
  return bench::seconds([&] { plainExec(db, fmt::format("ALTER TABLE items ADD COLUMN c{} INTEGER DEFAULT 0", n)); });
}

struct Samples {
  std::vector<double> s;
  double best() const { return *std::min_element(s.begin(), s.end()); }
  double median() {
    std::vector<double> copy = s;
    return bench::percentile(copy, 50);
  }
};

// Seconds per row of a sync of `rows` single-row updates; with `schemaChange`, the producer
// adds a column first and the updates write it.
double syncPerRow(bench::SiteEnv& env, const std::string& dir, const std::string& tag, std::int64_t rows,
                  bool schemaChange) {
  auto producer = tracked(env, dir + "/schema-" + tag + "-p.db", tag + "-p", rows);
  auto receiver = bench::cloneSite(env, *producer, dir + "/schema-" + tag + "-r.db", tag + "-r");
  std::string column = "qty";
  if (schemaChange) {
    bench::exec(*producer, "ALTER TABLE items ADD COLUMN bin INTEGER");
    column = "bin";
  }
  for (std::int64_t i = 1; i <= rows; ++i)
    bench::ok(producer->exec(fmt::format("UPDATE items SET {} = ?1 WHERE id = ?1", column), {parley::Value::integer(i)}));
  double s = bench::seconds([&] { bench::ok(parley::syncSites(*receiver, *producer)); });
  auto value = bench::ok(receiver->exec(fmt::format("SELECT sum({}) FROM items", column)));
  if (!(value.rows.at(0).at(0) == parley::Value::integer(rows * (rows + 1) / 2)))
    bench::fail("the receiver did not apply every update");
  return s / static_cast<double>(rows);
}

}  // namespace

int main(int argc, char** argv) {
  bench::programName() = "parley-bench-schema";
  bench::Flags flags(argc, argv, {{"rows", "1000000"}, {"sync-rows", "20000"}, {"reps", "5"}, {"dir", "/tmp/parley-bench"}},
                     "[--rows N] [--sync-rows K] [--reps R] [--dir D]");
  if (flags.smoke()) {
    flags.fallback("rows", "2000");
    flags.fallback("sync-rows", "200");
    flags.fallback("reps", "1");
  }
  std::int64_t rows = flags.integer("rows"), syncRows = flags.integer("sync-rows"), reps = flags.integer("reps");
  std::string dir = bench::workDir(flags.text("dir"));
  bench::SiteEnv env;

  auto full = tracked(env, dir + "/schema-full.db", "full", rows);
  auto empty = tracked(env, dir + "/schema-empty.db", "empty", 0);
  bench::removeDb(dir + "/schema-plain-full.db");
  bench::removeDb(dir + "/schema-plain-empty.db");
  bench::PlainDb plainFull(dir + "/schema-plain-full.db"), plainEmpty(dir + "/schema-plain-empty.db");
  for (auto* db : {&plainFull, &plainEmpty}) plainExec(*db, kTable);
  plainExec(plainFull, bench::fillSql("items", rows, "'item ' || x, x % 100"));
  Samples sFull, sEmpty, pFull, pEmpty;
  for (int r = 0; r < reps; ++r) {
    sEmpty.s.push_back(addColumn(*empty, r));
    sFull.s.push_back(addColumn(*full, r));
    pEmpty.s.push_back(plainAddColumn(plainEmpty, r));
    pFull.s.push_back(plainAddColumn(plainFull, r));
  }
  double onFull = sFull.best(), onEmpty = sEmpty.best();
  double plain = 1e9, changed = 1e9;
  for (int r = 0; r < reps; ++r) {
    plain = std::min(plain, syncPerRow(env, dir, "plain", syncRows, false));
    changed = std::min(changed, syncPerRow(env, dir, "changed", syncRows, true));
  }
  double addRatio = onFull / onEmpty, syncRatio = changed / plain;
  std::printf("| figure | measured | without | with | with / without |\n|---|---|---:|---:|---:|\n");
  std::printf("| 8i | ADD COLUMN, best of %lld | empty table: %.2f ms | %lld rows: %.2f ms | %.2fx |\n",
              static_cast<long long>(reps), onEmpty * 1e3, static_cast<long long>(rows), onFull * 1e3, addRatio);
  std::printf("| 8i | ADD COLUMN, median of %lld | empty table: %.2f ms | %lld rows: %.2f ms | %.2fx |\n",
              static_cast<long long>(reps), sEmpty.median() * 1e3, static_cast<long long>(rows), sFull.median() * 1e3,
              sFull.median() / sEmpty.median());
  std::printf("| 8i | plain SQLite ADD COLUMN (untracked), best / median of %lld | empty table: %.2f / %.2f ms | %lld rows: %.2f / %.2f ms | %.2fx |\n",
              static_cast<long long>(reps), pEmpty.best() * 1e3, pEmpty.median() * 1e3, static_cast<long long>(rows),
              pFull.best() * 1e3, pFull.median() * 1e3, pFull.best() / pEmpty.best());
  std::printf("| 8ii | sync of %lld single-row updates, per row | no schema change: %.2f us | across an ADD COLUMN: %.2f us | %.2fx |\n",
              static_cast<long long>(syncRows), plain * 1e6, changed * 1e6, syncRatio);
  std::printf("@summary|8i. ADD COLUMN on %lld rows vs an empty table|<= 1.5x|%.2fx|%s\n", static_cast<long long>(rows),
              addRatio, addRatio <= 1.5 ? "pass" : "fail");
  std::printf("@summary|8ii. Sync per row across a schema change vs without|<= 1.0x (noise ~5%%)|%.2fx|%s\n", syncRatio,
              syncRatio <= 1.05 ? "pass" : "fail");
  for (const char* f : {"full", "empty", "plain-full", "plain-empty"}) bench::removeDb(dir + "/schema-" + std::string(f) + ".db");
  return 0;
}
