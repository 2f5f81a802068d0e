// The crash tests' bank workload (bank_workload.hpp).
#include "bank_workload.hpp"

#include <fmt/format.h>

namespace parley::crash {
namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Transfer {
  int from, to;
  std::int64_t amount;
};

Transfer transferOf(int origin, std::int64_t txn) {
  std::uint64_t r = mix(static_cast<std::uint64_t>(origin) << 40 ^ static_cast<std::uint64_t>(txn));
  int from = static_cast<int>(r % kAccounts);
  int to = (from + 1 + static_cast<int>((r >> 8) % (kAccounts - 1))) % kAccounts;
  return {from + 1, to + 1, 1 + static_cast<std::int64_t>((r >> 16) % 50)};
}

std::int64_t entryId(int origin, std::int64_t txn, int k) {
  return static_cast<std::int64_t>(origin) * 100'000'000 + txn * kRowsPerTxn + k;
}

// Runs `sql` with `params`, turning a failure into a Status with context.
Status run(Site& site, std::string_view sql, const std::vector<Value>& params = {}) {
  auto r = site.exec(sql, params);
  return r ? Status() : r.status().withContext(fmt::format("bank: {}", sql));
}

Status writeTxn(Site& site, int origin, std::int64_t txn) {
  Transfer t = transferOf(origin, txn);
  const char* move = "UPDATE accounts SET balance = balance + ?1 WHERE id = ?2";
  if (auto s = run(site, move, {Value::integer(-t.amount), Value::integer(t.from)}); !s) return s;
  if (auto s = run(site, move, {Value::integer(t.amount), Value::integer(t.to)}); !s) return s;
  std::string note(120,
                   static_cast<char>('a' + txn % 26));  // some bulk: several WAL pages per commit
  for (int k = 0; k < kRowsPerTxn; ++k) {
    auto s = run(site, "INSERT INTO entries VALUES (?1, ?2, ?3, ?4, ?5)",
                 {Value::integer(entryId(origin, txn, k)), Value::integer(origin),
                  Value::integer(txn), Value::integer(t.amount), Value::text(note)});
    if (!s) return s;
  }
  return Status();
}

}  // namespace

Status createBankSchema(Site& site) {
  auto s = run(
      site,
      "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);"
      "CREATE TABLE entries(id INTEGER PRIMARY KEY, origin INTEGER NOT NULL, txn INTEGER NOT NULL,"
      " amount INTEGER NOT NULL, note TEXT)");
  for (int a = 1; s && a <= kAccounts; ++a)
    s = run(site, "INSERT INTO accounts VALUES (?1, ?2)",
            {Value::integer(a), Value::integer(kInitialBalance)});
  TableConfig config;
  config.overrides["balance"] = "merge";
  if (s) s = site.track("accounts", config);
  if (s) s = site.track("entries");
  return s;
}

Status runBankTxn(Site& site, int origin, std::int64_t txn) {
  if (auto s = run(site, "BEGIN"); !s) return s;
  Status s = writeTxn(site, origin, txn);
  if (!s) {
    (void)site.exec("ROLLBACK");
    return s;
  }
  return run(site, "COMMIT");
}

Result<BankState> readBankState(Site& site) {
  BankState state;
  auto total = site.exec("SELECT COALESCE(SUM(balance), 0), COUNT(*) FROM accounts");
  if (!total) return total.status();
  state.total = total->rows.at(0).at(0).asInteger();
  if (state.total != kAccounts * kInitialBalance ||
      total->rows.at(0).at(1).asInteger() != kAccounts)
    return Status::corruption(
        fmt::format("bank: balances sum to {} over {} accounts, expected {} over {}", state.total,
                    total->rows.at(0).at(1).asInteger(), kAccounts * kInitialBalance, kAccounts));
  auto txns = site.exec(
      "SELECT origin, txn, COUNT(*) FROM entries GROUP BY origin, txn ORDER BY origin, txn");
  if (!txns) return txns.status();
  for (const auto& row : txns->rows) {
    int origin = static_cast<int>(row.at(0).asInteger());
    std::int64_t txn = row.at(1).asInteger(), rows = row.at(2).asInteger();
    if (rows != kRowsPerTxn)
      return Status::corruption(
          fmt::format("bank: transaction {} of origin {} is partial: {} of {} rows", txn, origin,
                      rows, kRowsPerTxn));
    std::int64_t& n = state.held[origin];
    if (txn != n)
      return Status::corruption(
          fmt::format("bank: origin {} has transaction {} but not {}", origin, txn, n));
    ++n;
  }
  return state;
}

Status checkVector(Site& site, const SiteId& origin, std::uint64_t baseline, std::int64_t n) {
  std::uint64_t seq = site.vector().value().get(origin);
  if (seq == baseline + static_cast<std::uint64_t>(n)) return Status();
  return Status::corruption(
      fmt::format("bank: {} holds {} transactions of {} (vector) but the data shows {}",
                  site.name(), seq - baseline, origin.shortHex(), n));
}

Result<std::string> dumpBank(Site& site) {
  std::string out;
  for (const char* sql : {"SELECT id, balance FROM accounts ORDER BY id",
                          "SELECT id, origin, txn, amount, note FROM entries ORDER BY id"}) {
    auto r = site.exec(sql);
    if (!r) return r.status();
    for (const auto& row : r->rows) {
      for (const auto& v : row) out += v.toSqlLiteral() + "|";
      out += "\n";
    }
  }
  return out;
}

}  // namespace parley::crash
