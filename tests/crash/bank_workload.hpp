// The crash tests' workload: transfers between accounts, each tagged with rows that make a
// half-applied transaction visible.
//
// Transaction t of origin o (o: a small number per site) moves an amount between two of
// kAccounts accounts and inserts kRowsPerTxn rows into `entries` tagged (o, t). Its content is
// a function of (o, t) alone, so a checker knows what every transaction wrote. Invariants a
// site must satisfy whatever it crashed in:
//   - the balances sum to kAccounts * kInitialBalance (transfers conserve money; balance is a
//     `merge` column, so concurrent transfers merge as deltas and conserve it too);
//   - every transaction's rows are all there or all absent;
//   - each origin's transactions present are 0..n-1 for some n (commits happen in order, and
//     sync delivers in causal order);
//   - n equals what the site's version vector says it holds of that origin, minus the origin's
//     transactions from before the workload (data and replication metadata agree).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "parley/site.hpp"

namespace parley::crash {

inline constexpr int kAccounts = 8;
inline constexpr std::int64_t kInitialBalance = 1000;
inline constexpr int kRowsPerTxn = 3;

// Creates the tables, the accounts, and tracks both (balance merges).
Status createBankSchema(Site& site);
// Runs transaction `txn` of `origin` as one local transaction.
Status runBankTxn(Site& site, int origin, std::int64_t txn);

// What a site holds of the workload, per origin: how many transactions (0..n-1).
struct BankState {
  std::map<int, std::int64_t> held;  // origin -> n
  std::int64_t total = 0;            // sum of balances
};

// Reads the workload's state and checks the invariants above (except the vector one, which
// needs the baseline: see checkVector). Fails naming the first broken one.
Result<BankState> readBankState(Site& site);
// Checks that `site` holds exactly `baseline + n` transactions of `origin`.
Status checkVector(Site& site, const SiteId& origin, std::uint64_t baseline, std::int64_t n);

// The user tables as text, row by row, for comparing sites.
Result<std::string> dumpBank(Site& site);

}  // namespace parley::crash
