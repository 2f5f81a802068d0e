// apply_throughput (figure 2): applying remote row changes at a parley site vs
// sqlite3changeset_apply of the equivalent session changeset on the same data, side by side.
//
// A table t(id INTEGER PRIMARY KEY, v INTEGER) of N rows exists at a parley site (tracked, v
// resolved by merge) and in a plain SQLite file. A peer site (a clone) runs T transactions
// that together update every row once ("UPDATE t SET v = v + 1 WHERE id in a range"); the
// same UPDATEs run on a plain copy under sqlite3session. Then, timed:
//   parley apply   Site::apply() of the peer's changesSince() (decoded, in memory, one call)
//   parley import  sync::importChanges() of the peer's change-set file (verify + decode + apply)
//   session        sqlite3changeset_apply() of the recorded changeset
// The conflict case (M rows): before applying, every receiver has updated the even rows
// itself (v = v + 1000), so half the incoming writes are concurrent. parley merges them
// (v ends at old + 1 + 1000); the session handler returns SQLITE_CHANGESET_REPLACE for each
// data conflict (v ends at old + 1: the local write is lost). Each result is checked.
// Session and parley run alternately R times, from fresh databases each time; each time is
// the best of its R.
#include "common.hpp"
#include "parley/replication.hpp"
#include "parley/sync/changeset.hpp"

namespace {

struct Case {
  std::int64_t rows, txns;
  bool conflicts;
  std::string dir;
  std::int64_t reps;
};

struct Times {
  double apply = 0, import = 0, session = 0;
  std::int64_t sessionConflicts = 0, parleyConflicts = 0;
};

const char* kTable = "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)";
const char* kLocalWrite = "UPDATE t SET v = v + 1000 WHERE id % 2 = 0";

std::string rangeUpdate(const Case& c, std::int64_t i) {
  std::int64_t per = (c.rows + c.txns - 1) / c.txns;
  return fmt::format("UPDATE t SET v = v + 1 WHERE id > {} AND id <= {}", i * per, (i + 1) * per);
}

std::int64_t sum(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT total(v) FROM t", -1, &st, nullptr);
  sqlite3_step(st);
  auto s = static_cast<std::int64_t>(sqlite3_column_double(st, 0));
  sqlite3_finalize(st);
  return s;
}

std::int64_t sum(parley::Site& site) {
  auto r = bench::ok(site.exec("SELECT total(v) FROM t"));
  return static_cast<std::int64_t>(r.rows.at(0).at(0).asReal());
}

void expectSum(const std::string& who, std::int64_t got, std::int64_t want) {
  if (got != want) bench::fail(fmt::format("{}: sum(v) is {} after apply, expected {}", who, got, want));
}

void runParley(const Case& c, Times& t) {
  bench::SiteEnv env;
  auto origin = bench::createSite(env, c.dir + "/apply-origin.db", "origin");
  bench::exec(*origin, kTable);
  bench::exec(*origin, bench::fillSql("t", c.rows, "0"));
  parley::TableConfig merge;
  merge.columns = "merge";
  bench::check(origin->track("t", merge));
  auto inProcess = bench::cloneSite(env, *origin, c.dir + "/apply-recv.db", "recv");
  auto byFile = bench::cloneSite(env, *origin, c.dir + "/apply-import.db", "import");
  auto peer = bench::cloneSite(env, *origin, c.dir + "/apply-peer.db", "peer");
  for (std::int64_t i = 0; i < c.txns; ++i) bench::exec(*peer, rangeUpdate(c, i));
  if (c.conflicts) {
    bench::exec(*inProcess, kLocalWrite);
    bench::exec(*byFile, kLocalWrite);
  }
  auto txns = bench::ok(peer->replication().changesSince(inProcess->vector().value()));
  std::string file = c.dir + "/apply.pcs";
  std::filesystem::remove(file);
  bench::ok(parley::sync::exportChanges(*peer, file, byFile->vector().value()));
  parley::ApplyResult applied;
  t.apply = bench::seconds([&] { applied = bench::ok(inProcess->replication().apply(txns)); });
  t.parleyConflicts = static_cast<std::int64_t>(applied.conflicts.size());
  parley::sync::ImportSummary imported;
  t.import = bench::seconds([&] { imported = bench::ok(parley::sync::importChanges(*byFile, file)); });
  std::int64_t want = c.rows + (c.conflicts ? 1000 * (c.rows / 2) : 0);
  expectSum("parley apply", sum(*inProcess), want);
  expectSum("parley import", sum(*byFile), want);
}

void runSession(const Case& c, Times& t) {
  std::string src = c.dir + "/apply-plain-src.db", dst = c.dir + "/apply-plain-dst.db";
  bench::removeDb(src);
  bench::removeDb(dst);
  bench::PlainDb source(src), target(dst);
  for (auto* db : {&source, &target}) {
    db->exec(kTable);
    db->exec(bench::fillSql("t", c.rows, "0"));
  }
  auto cs = bench::recordChangeset(source, "t", [&] {
    for (std::int64_t i = 0; i < c.txns; ++i) source.exec(rangeUpdate(c, i));
  });
  if (c.conflicts) target.exec(kLocalWrite);
  t.session = bench::seconds([&] { t.sessionConflicts = bench::applyChangeset(target, cs, SQLITE_CHANGESET_REPLACE); });
  expectSum("session", sum(target.handle()), c.rows);
}

Times measure(const Case& c) {
  Times best;
  for (std::int64_t r = 0; r < c.reps; ++r) {
    Times t;
    runSession(c, t);
    runParley(c, t);
    if (r == 0 || t.session < best.session) best.session = t.session;
    if (r == 0 || t.apply < best.apply) best.apply = t.apply;
    if (r == 0 || t.import < best.import) best.import = t.import;
    best.sessionConflicts = t.sessionConflicts;  // the same every time (checked by the sums)
    best.parleyConflicts = t.parleyConflicts;
  }
  return best;
}

void report(const Case& c, const Times& t) {
  double n = static_cast<double>(c.rows);
  std::string name = c.conflicts ? fmt::format("{} changes, 50% concurrent (merge)", c.rows)
                                 : fmt::format("{} changes, no conflicts", c.rows);
  std::printf("| %s | %lld | %.3f s (%s) | %.3f s (%s) | %.3f s (%s) | %.2fx | %.2fx | %lld / %lld |\n", name.c_str(),
              static_cast<long long>(c.txns), t.session, bench::rate(n / t.session).c_str(), t.apply,
              bench::rate(n / t.apply).c_str(), t.import, bench::rate(n / t.import).c_str(), t.session / t.apply,
              t.session / t.import, static_cast<long long>(t.sessionConflicts),
              static_cast<long long>(t.parleyConflicts));
  std::string measured = fmt::format("{:.2f}x (apply {}, import {:.2f}x, session {})", t.session / t.apply,
                                     bench::rate(n / t.apply), t.session / t.import, bench::rate(n / t.session));
  if (c.conflicts) bench::summary("2b apply: " + name, "(no target)", measured, std::nullopt);
  else bench::summary("2a apply: " + name, ">= 0.5x session rate", measured, t.session / t.apply >= 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv,
                     {{"rows", "1000000"}, {"txns", "1000"}, {"conflict-rows", "100000"}, {"reps", "3"},
                      {"dir", "/tmp/parley-bench"}},
                     "[--rows N] [--txns T] [--conflict-rows M] [--reps R] [--dir D]");
  if (flags.smoke()) {
    flags.fallback("rows", "2000");
    flags.fallback("txns", "20");
    flags.fallback("conflict-rows", "1000");
    flags.fallback("reps", "1");
  }
  std::string dir = bench::workDir(flags.text("dir"));
  std::int64_t reps = flags.integer("reps");
  if (reps < 1) bench::fail("--reps must be at least 1");
  Case plain{flags.integer("rows"), flags.integer("txns"), false, dir, reps};
  Case conflicting{flags.integer("conflict-rows"), flags.integer("txns"), true, dir, reps};
  std::printf("| case | txns | session changeset_apply | parley apply (in process) | parley import (file) "
              "| apply rate / session | import rate / session | conflicts session / parley |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|\n");
  report(plain, measure(plain));
  report(conflicting, measure(conflicting));
  std::printf("\nBest of %lld alternating runs each. parley apply: Site::apply() of changesSince(), decoded in memory, one call. parley import:"
              " sync::importChanges() of the exported file (verify, decode, apply). Session conflicts: data"
              " conflicts answered SQLITE_CHANGESET_REPLACE (the local write is lost); parley merges them.\n",
              static_cast<long long>(reps));
  return 0;
}
