// capture_overhead (figure 1): the cost of change capture, tracked site vs plain SQLite, side by side.
//
// Both databases are files in WAL mode with synchronous=NORMAL and a 64 MB page cache. Measures
//   (a) one UPDATE of N rows in one transaction: the second one after the INSERT (at a site,
//       the rows' metadata is still one range, the INSERT's, which each UPDATE of all its rows
//       rewrites), the first one (a'), and one (a'') after every row was given metadata of its
//       own (by two UPDATEs, of the even rows then the odd ones: at a site, one metadata row
//       per row, as after scattered writes),
//   (b) K single-row UPDATE transactions,
//   (c) a bulk INSERT of N rows in one transaction,
//   (d) S single-row UPDATE statements with parameters in one transaction (what an application
//       updating rows one by one runs: plain SQLite binds one prepared statement again and
//       again, the site is given the same text through Site::exec with new parameters),
// alternating plain and tracked runs and keeping the best of R repetitions of each. Before each
// phase the WAL is checkpointed, in both, so a phase does not pay for the previous one's pages.
// For reference, five more runs: one captures with SQLite's session extension what a
// session-based replicator must (each transaction's changeset, stored in a log table in that
// transaction); one reads both images of every changed row in a preupdate hook, keeps the
// changed columns' values in a buffer and stores the buffer in the log before commit, the least
// any capture of row images that commits with the data costs; one gets the same images without
// reading them in the hook (it keeps only the touched rowids, then before the commit reads the
// old values through a second connection, which still sees the state before the transaction,
// and the new ones through the writer); one only appends a 16-byte row to
// a log table in each transaction, the least any capture that commits with the data writes; one
// writes that log row and a metadata row per changed row, what a design with per-row metadata
// writes at least (parley writes that for updates of rows with metadata of their own; a bulk
// insert's run of fresh rowids shares one range row, which an update of all of them rewrites).
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>

#include "common.hpp"  // defines what sqlite3.h needs for sessions and preupdate hooks

namespace {

using Exec = std::function<void(const std::string&)>;

struct Options {
  std::int64_t rows, txns, reps, statements;
  std::string dir;
  // Whether this repetition measures the memory phases add. Measuring returns the process's
  // free memory to the system first (malloc_trim), so the phase faults its memory in anew: only
  // the first repetition measures, and the best time usually comes from the others.
  bool memory = true;
};

struct Timings {
  double update = 1e9, single = 1e9, insert = 1e9, firstUpdate = 1e9, ownUpdate = 1e9, statements = 1e9;
  double updateMb = 1e9, ownUpdateMb = 1e9, insertMb = 1e9;  // memory the transaction added at its peak
};

// Empties the WAL into the database file, from a connection of its own, so that no timed phase
// pays for checkpointing the pages an earlier phase wrote.
void checkpoint(const std::string& path) {
  bench::PlainDb db(path);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

// Runs `n` statements "UPDATE t SET a = ?1 WHERE id = ?2" in one transaction (figure 1d).
using Statements = std::function<void(std::int64_t n)>;

constexpr const char* kUpdateOne = "UPDATE t SET a = ?1 WHERE id = ?2";

// `setup` runs DDL; `txn` runs one statement as one transaction; `statements`, if given,
// figure 1d's transaction.
Timings workload(const Exec& setup, const Exec& txn, const std::string& path, const Options& o,
                 const Statements& statements = nullptr) {
  Timings t;
  // One transaction running `sql`: its time, and the memory it adds at its peak into `mb`.
  auto phase = [&](double& seconds, double& mb, const std::string& sql) {
    std::optional<bench::MemoryGrowth> memory;
    if (o.memory) memory.emplace();
    seconds = bench::seconds([&] { txn(sql); });
    if (memory) mb = memory->mb();
  };
  setup("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT)");
  checkpoint(path);
  phase(t.insert, t.insertMb, bench::fillSql("t", o.rows, "x, 'row ' || x"));
  checkpoint(path);
  t.firstUpdate = bench::seconds([&] { txn("UPDATE t SET a = a + 1"); });
  checkpoint(path);
  phase(t.update, t.updateMb, "UPDATE t SET a = a + 1");
  txn("UPDATE t SET a = a + 1 WHERE id % 2 = 0");
  txn("UPDATE t SET a = a + 1 WHERE id % 2 = 1");
  checkpoint(path);
  phase(t.ownUpdate, t.ownUpdateMb, "UPDATE t SET a = a + 1");
  checkpoint(path);
  t.single = bench::seconds([&] {
    for (std::int64_t i = 0; i < o.txns; ++i) txn(fmt::format("UPDATE t SET a = a + 1 WHERE id = {}", i % o.rows + 1));
  });
  if (statements) {
    checkpoint(path);
    t.statements = bench::seconds([&] { statements(o.statements); });
  }
  return t;
}

// A plain SQLite file, with a table `log` when `withLog`; `make` gives what runs one
// transaction on it.
using MakeTxn = std::function<Exec(bench::PlainDb&)>;
Timings runOnPlain(const Options& o, const std::string& name, bool withLog, const MakeTxn& make,
                   bool statementsToo = false) {
  std::string path = o.dir + "/capture-" + name + ".db";
  bench::removeDb(path);
  bench::PlainDb db(path);
  if (withLog) db.exec("CREATE TABLE log(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  Exec txn = make(db);
  Statements statements = [&](std::int64_t n) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.handle(), kUpdateOne, -1, &raw, nullptr) != SQLITE_OK) bench::fail("prepare failed");
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> update(raw, sqlite3_finalize);
    db.exec("BEGIN");
    for (std::int64_t i = 0; i < n; ++i) {
      sqlite3_bind_int64(raw, 1, i);
      sqlite3_bind_int64(raw, 2, i % o.rows + 1);
      if (sqlite3_step(raw) != SQLITE_DONE) bench::fail("the update failed");
      sqlite3_reset(raw);
    }
    db.exec("COMMIT");
  };
  return workload([&](const std::string& sql) { db.exec(sql); }, txn, path, o,
                  statementsToo ? statements : nullptr);
}

Timings runPlain(const Options& o) {
  return runOnPlain(
      o, "plain", false, [](bench::PlainDb& db) -> Exec { return [&db](const std::string& sql) { db.exec(sql); }; },
      true);
}

Timings runTracked(const Options& o) {
  bench::SiteEnv env;
  std::string path = o.dir + "/capture-tracked.db";
  auto site = bench::createSite(env, path, "bench");
  Exec run = [&](const std::string& sql) { bench::exec(*site, sql); };
  Statements statements = [&](std::int64_t n) {
    run("BEGIN");
    for (std::int64_t i = 0; i < n; ++i) {
      auto r = site->exec(kUpdateOne, {parley::Value::integer(i), parley::Value::integer(i % o.rows + 1)});
      if (!r) bench::fail(r.status().message());
    }
    run("COMMIT");
  };
  return workload(
      [&](const std::string& sql) {
        run(sql);
        bench::check(site->track("t"));
      },
      run, path, o, statements);
}

// Appends a transaction's captured bytes to the table `log` of a plain database, in that
// transaction.
class LogAppend {
 public:
  explicit LogAppend(bench::PlainDb& db) {
    if (sqlite3_prepare_v2(db.handle(), "INSERT INTO log(body) VALUES (?1)", -1, &stmt_, nullptr) != SQLITE_OK)
      bench::fail("prepare the log insert failed");
  }
  ~LogAppend() { sqlite3_finalize(stmt_); }
  LogAppend(const LogAppend&) = delete;
  LogAppend& operator=(const LogAppend&) = delete;

  void operator()(const void* data, std::size_t size) {
    sqlite3_bind_blob(stmt_, 1, data, static_cast<int>(size), SQLITE_STATIC);
    if (sqlite3_step(stmt_) != SQLITE_DONE) bench::fail("the log insert failed");
    sqlite3_reset(stmt_);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Plain SQLite plus the session extension: each transaction records its changes in a session
// and stores the session's changeset in the log before it commits.
Timings runSession(const Options& o) {
  return runOnPlain(o, "session", true, [](bench::PlainDb& db) -> Exec {
    auto append = std::make_shared<LogAppend>(db);
    return [&db, append](const std::string& sql) {
      db.exec("BEGIN");
      bench::Changeset cs = bench::recordChangeset(db, "t", [&] { db.exec(sql); });
      (*append)(cs.bytes.data(), cs.bytes.size());
      db.exec("COMMIT");
    };
  });
}

// What a preupdate hook that records row images costs at least: it reads every column of both
// images (SQLite does not say which columns an UPDATE changed) and keeps the rowid and, for each
// column that changed, its index and both values, as a type byte and the value's bytes, appended
// to one buffer. Nothing is looked up or encoded beyond that.
struct ImageLog {
  std::string bytes;

  // Around each transaction (runHooked): before it, and what to log before its COMMIT.
  void begin(sqlite3*) { bytes.clear(); }
  const std::string& finish() { return bytes; }

  template <class T>
  void raw(const T& v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }

  void value(sqlite3_value* v) {
    int type = v ? sqlite3_value_type(v) : SQLITE_NULL;
    bytes.push_back(static_cast<char>(type));
    if (type == SQLITE_INTEGER) raw(sqlite3_value_int64(v));
    if (type == SQLITE_FLOAT) raw(sqlite3_value_double(v));
    if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
      const void* data = type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_value_text(v)) : sqlite3_value_blob(v);
      int n = sqlite3_value_bytes(v);
      raw(n);
      bytes.append(static_cast<const char*>(data), static_cast<std::size_t>(n));
    }
  }

  static bool same(sqlite3_value* a, sqlite3_value* b) {
    int type = sqlite3_value_type(a);
    if (type != sqlite3_value_type(b)) return false;
    if (type == SQLITE_INTEGER) return sqlite3_value_int64(a) == sqlite3_value_int64(b);
    if (type == SQLITE_FLOAT) return sqlite3_value_double(a) == sqlite3_value_double(b);
    if (type == SQLITE_NULL) return true;
    const void* x = type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_value_text(a)) : sqlite3_value_blob(a);
    const void* y = type == SQLITE_TEXT ? static_cast<const void*>(sqlite3_value_text(b)) : sqlite3_value_blob(b);
    int n = sqlite3_value_bytes(a);
    return n == sqlite3_value_bytes(b) && std::memcmp(x, y, static_cast<std::size_t>(n)) == 0;
  }

  static void onPreupdate(void* ctx, sqlite3* db, int op, const char*, const char* table, sqlite3_int64 oldRowid,
                          sqlite3_int64 newRowid) {
    if (std::strcmp(table, "t") != 0) return;
    auto* log = static_cast<ImageLog*>(ctx);
    log->bytes.push_back(static_cast<char>(op));
    log->raw(op == SQLITE_INSERT ? newRowid : oldRowid);
    int columns = sqlite3_preupdate_count(db);
    for (int i = 0; i < columns; ++i) {
      sqlite3_value* before = nullptr;
      sqlite3_value* after = nullptr;
      if (op != SQLITE_INSERT) sqlite3_preupdate_old(db, i, &before);
      if (op != SQLITE_DELETE) sqlite3_preupdate_new(db, i, &after);
      if (before && after && same(before, after)) continue;
      log->raw(i);
      log->value(before);
      log->value(after);
    }
  }
};

// Plain SQLite with `Capture`'s preupdate hook: each transaction logs what its finish() gives.
template <class Capture>
Timings runHooked(const Options& o, const std::string& name) {
  auto capture = std::make_shared<Capture>();
  return runOnPlain(o, name, true, [capture](bench::PlainDb& db) -> Exec {
    sqlite3_preupdate_hook(db.handle(), &Capture::onPreupdate, capture.get());
    auto append = std::make_shared<LogAppend>(db);
    return [&db, append, capture](const std::string& sql) {
      capture->begin(db.handle());
      db.exec("BEGIN");
      db.exec(sql);
      const std::string& bytes = capture->finish();
      (*append)(bytes.data(), bytes.size());
      db.exec("COMMIT");
    };
  });
}

// What a capture costs that does not read row images in the hook: the hook keeps only the
// touched rowids; before the commit, the old values are read from the file by a second
// connection (in WAL mode a reader sees the last committed state, the state before this
// transaction, because the writer holds the write lock until its COMMIT) and the new ones by
// the writer, a run of consecutive rowids with one range scan on each; the changed columns are
// kept as "row images + log" keeps them, and stored in the log.
struct SnapshotDiff {
  std::vector<sqlite3_int64> touched;
  ImageLog log;
  sqlite3* reader = nullptr;
  sqlite3_stmt* before = nullptr;
  sqlite3_stmt* after = nullptr;

  void begin(sqlite3* writer) {
    if (!reader) open(writer);
  }
  const std::string& finish() {
    diff();
    return log.bytes;
  }

  ~SnapshotDiff() {
    sqlite3_finalize(before);
    sqlite3_finalize(after);
    sqlite3_close(reader);
  }

  static void onPreupdate(void* ctx, sqlite3*, int op, const char*, const char* table, sqlite3_int64 oldRowid,
                          sqlite3_int64 newRowid) {
    if (std::strcmp(table, "t") != 0) return;
    auto* self = static_cast<SnapshotDiff*>(ctx);
    if (op != SQLITE_INSERT) self->touched.push_back(oldRowid);
    if (op != SQLITE_DELETE && (op == SQLITE_INSERT || newRowid != oldRowid)) self->touched.push_back(newRowid);
  }

  void open(sqlite3* writer) {
    const char* path = sqlite3_db_filename(writer, "main");
    if (sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) bench::fail("open the reader failed");
    sqlite3_exec(reader, "PRAGMA cache_size = -65536", nullptr, nullptr, nullptr);
    const char* sql = "SELECT id, a, b FROM t WHERE id BETWEEN ?1 AND ?2";
    if (sqlite3_prepare_v2(reader, sql, -1, &before, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(writer, sql, -1, &after, nullptr) != SQLITE_OK)
      bench::fail("prepare the range scans failed");
  }

  // Steps `stmt` to the row `id`, if it has it; the statements walk rowids in order.
  static bool seek(sqlite3_stmt* stmt, bool& more, sqlite3_int64 id) {
    while (more && sqlite3_column_int64(stmt, 0) < id) more = sqlite3_step(stmt) == SQLITE_ROW;
    return more && sqlite3_column_int64(stmt, 0) == id;
  }

  // Fills `log` with the changed columns of every touched row, old values from the reader.
  void diff() {
    log.bytes.clear();
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    if (sqlite3_exec(reader, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) bench::fail("reader BEGIN failed");
    for (std::size_t i = 0; i < touched.size();) {
      std::size_t j = i + 1;
      while (j < touched.size() && touched[j] == touched[j - 1] + 1) ++j;
      for (auto* stmt : {before, after}) {
        sqlite3_bind_int64(stmt, 1, touched[i]);
        sqlite3_bind_int64(stmt, 2, touched[j - 1]);
      }
      bool moreBefore = sqlite3_step(before) == SQLITE_ROW, moreAfter = sqlite3_step(after) == SQLITE_ROW;
      for (std::size_t k = i; k < j; ++k) {
        bool old = seek(before, moreBefore, touched[k]), now = seek(after, moreAfter, touched[k]);
        log.raw(touched[k]);
        for (int c = 1; c < 3; ++c) {
          sqlite3_value* b = old ? sqlite3_column_value(before, c) : nullptr;
          sqlite3_value* a = now ? sqlite3_column_value(after, c) : nullptr;
          if (b && a && ImageLog::same(b, a)) continue;
          log.raw(c);
          log.value(b);
          log.value(a);
        }
      }
      sqlite3_reset(before);
      sqlite3_reset(after);
      i = j;
    }
    sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
    touched.clear();
  }
};


// Plain SQLite plus one 16-byte row appended to the log in each transaction.
Timings runLogRow(const Options& o) {
  return runOnPlain(o, "logrow", true, [](bench::PlainDb& db) -> Exec {
    return [&db](const std::string& sql) {
      db.exec("BEGIN; " + sql + "; INSERT INTO log(body) VALUES (zeroblob(16)); COMMIT");
    };
  });
}

// Plain SQLite plus what parley's design writes at least: each changed row's metadata row (46
// bytes, as parley's for this table) in a table of its own, and a 16-byte log row, in the same
// transaction. No capture, no lookups, no encoding. Each transaction's metadata differs from
// the last one's (SQLite skips rewriting a record that is unchanged).
Timings runMetaRows(const Options& o) {
  return runOnPlain(o, "metarows", true, [](bench::PlainDb& db) -> Exec {
    db.exec("CREATE TABLE meta(id INTEGER PRIMARY KEY, m BLOB NOT NULL)");
    return [&db, txn = std::int64_t{0}](const std::string& sql) mutable {
      std::string blob = fmt::format("zeroblob(38) || x'{:016x}'", ++txn);
      const std::string update = "UPDATE t SET a = a + 1";
      std::string meta = sql.rfind(update, 0) == 0
                             ? fmt::format("UPDATE meta SET m = {}{}", blob, sql.substr(update.size()))
                             : fmt::format("INSERT INTO meta(id, m) SELECT id, {} FROM t", blob);
      db.exec("BEGIN; " + sql + "; " + meta + "; INSERT INTO log(body) VALUES (zeroblob(16)); COMMIT");
    };
  });
}

Timings best(const Timings& a, const Timings& b) {
  return {std::min(a.update, b.update),
          std::min(a.single, b.single),
          std::min(a.insert, b.insert),
          std::min(a.firstUpdate, b.firstUpdate),
          std::min(a.ownUpdate, b.ownUpdate),
          std::min(a.statements, b.statements),
          std::min(a.updateMb, b.updateMb),
          std::min(a.ownUpdateMb, b.ownUpdateMb),
          std::min(a.insertMb, b.insertMb)};
}

struct Run {
  Timings plain, tracked, session, hookLog, snapshotDiff, logRow, metaRows;
};

void row(const std::string& figure, const std::string& name, double target, double Timings::*phase, const Run& r,
         double n) {
  double plain = r.plain.*phase, tracked = r.tracked.*phase, session = r.session.*phase,
         hookLog = r.hookLog.*phase, snapshotDiff = r.snapshotDiff.*phase, logRow = r.logRow.*phase, metaRows = r.metaRows.*phase;
  double ratio = tracked / plain;
  std::printf("| %s | %s | %.3f s (%s) | %.3f s (%s) | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx | %.2fx |\n",
              figure.c_str(), name.c_str(), plain, bench::rate(n / plain).c_str(), tracked,
              bench::rate(n / tracked).c_str(), ratio, session / plain, hookLog / plain, snapshotDiff / plain,
              logRow / plain, metaRows / plain);
  bench::summary(fmt::format("{} capture: {}", figure, name), fmt::format("<= {:.1f}x plain", target),
                 fmt::format("{:.2f}x ({} vs {})", ratio, bench::rate(n / tracked), bench::rate(n / plain)),
                 ratio <= target);
}

}  // namespace

int main(int argc, char** argv) {
  bench::Flags flags(argc, argv, {{"rows", "1000000"}, {"txns", "10000"}, {"reps", "3"}, {"statements", "200000"},
                      {"dir", "/tmp/parley-bench"}},
                     "[--rows N] [--txns K] [--reps R] [--statements S] [--dir D]");
  if (flags.smoke()) {
    flags.fallback("rows", "2000");
    flags.fallback("txns", "200");
    flags.fallback("reps", "1");
    flags.fallback("statements", "500");
  }
  Options o{flags.integer("rows"), flags.integer("txns"), flags.integer("reps"), flags.integer("statements"),
            bench::workDir(flags.text("dir"))};
  Run run;
  for (std::int64_t r = 0; r < o.reps; ++r) {
    o.memory = r == 0;
    run.plain = best(run.plain, runPlain(o));
    run.tracked = best(run.tracked, runTracked(o));
    run.session = best(run.session, runSession(o));
    run.hookLog = best(run.hookLog, runHooked<ImageLog>(o, "hooklog"));
    run.snapshotDiff = best(run.snapshotDiff, runHooked<SnapshotDiff>(o, "snapshot"));
    run.logRow = best(run.logRow, runLogRow(o));
    run.metaRows = best(run.metaRows, runMetaRows(o));
  }
  std::printf("| figure | workload | plain SQLite | tracked | tracked / plain | session extension + log / plain "
              "| row images + log / plain | rowids + snapshot diff + log / plain | log row / plain "
              "| metadata rows + log row / plain |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  row("1a", fmt::format("UPDATE {} rows, one transaction", o.rows), 1.5, &Timings::update, run, o.rows);
  row("1a'", fmt::format("the first UPDATE of the {} rows after their INSERT", o.rows), 1.5, &Timings::firstUpdate, run,
      o.rows);
  row("1a''", fmt::format("UPDATE {} rows with a metadata row each, one transaction", o.rows), 1.5,
      &Timings::ownUpdate, run, o.rows);
  row("1b", fmt::format("{} single-row UPDATE transactions", o.txns), 1.3, &Timings::single, run, o.txns);
  row("1c", fmt::format("INSERT {} rows, one transaction", o.rows), 1.5, &Timings::insert, run, o.rows);
  {
    double plain = run.plain.statements, tracked = run.tracked.statements, n = static_cast<double>(o.statements);
    auto name = fmt::format("{} single-row UPDATE statements with parameters, one transaction", o.statements);
    std::printf("\n| figure | workload | plain SQLite (one prepared statement) | tracked (Site::exec) | tracked / plain |\n"
                "|---|---|---:|---:|---:|\n| 1d | %s | %.3f s (%s) | %.3f s (%s) | %.2fx |\n",
                name.c_str(), plain, bench::rate(n / plain).c_str(), tracked, bench::rate(n / tracked).c_str(),
                tracked / plain);
    bench::summary(fmt::format("1d capture: {}", name), "(no target)",
                   fmt::format("{:.2f}x ({} vs {})", tracked / plain, bench::rate(n / tracked), bench::rate(n / plain)),
                   std::nullopt);
  }
  std::printf("\n| figure | workload | peak memory added: plain SQLite | tracked | session extension + log "
              "| row images + log |\n|---|---|---:|---:|---:|---:|\n");
  for (auto [figure, name, mb] : {std::tuple{"1a", "UPDATE", &Timings::updateMb}, {"1a''", "UPDATE", &Timings::ownUpdateMb},
                                  {"1c", "INSERT", &Timings::insertMb}})
    std::printf("| %s | %s %lld rows, one transaction | %.0f MB | %.0f MB | %.0f MB | %.0f MB |\n", figure, name,
                static_cast<long long>(o.rows), run.plain.*mb, run.tracked.*mb, run.session.*mb, run.hookLog.*mb);
  std::printf("\nBest of %lld alternating runs each; files in WAL mode, synchronous=NORMAL, a 64 MB page cache. "
              "For reference, five more plain SQLite runs: \"session extension + log\" records each transaction's changes with sqlite3session "
              "and stores the changeset in a log table before it commits (no causal metadata); \"row images + log\" "
              "reads both images of every changed row in a preupdate hook, keeps the rowid and the changed columns' "
              "before and after values in a buffer and stores the buffer in the log before it commits (no lookups, "
              "no metadata: the least a capture of row images costs); \"rowids + snapshot diff + log\" keeps only "
              "the touched rowids in the hook and, before the commit, reads the rows' old values through a second "
              "connection (in WAL mode it still sees the state before the transaction) and their new values through "
              "the writer, a run of rowids with one range scan each, then logs the changed columns as the row-image "
              "run does; \"log row\" "
              "only appends a 16-byte row to a log table in each transaction; \"metadata rows + log row\" writes, "
              "besides, a 46-byte row for each changed row in a metadata table (what a design with per-row "
              "metadata writes, without capturing anything; parley writes that for updates of rows with metadata of "
              "their own, and one row for a bulk insert's run of fresh rowids). 1a is the second UPDATE after the INSERT and 1a' the first: at the site "
              "the rows' metadata is one range, the INSERT's, whose blob each UPDATE of all its rows rewrites (no "
              "metadata row per row); 1a'' an UPDATE of rows that each have a metadata row of their own (given by "
              "two UPDATEs, of the even rows then the odd ones, run in every database). Peak memory added: the process's peak resident set during the "
              "transaction less its resident set before it, measured in the first repetition only (it returns "
              "the process's free memory to the system before the transaction, which then faults its memory in "
              "anew; the times are the best of all repetitions).\n",
              static_cast<long long>(o.reps));
  return 0;
}
