// Atomicity: a multi-row local transaction is one Transaction, and a batch handed to apply()
// is all-or-nothing: when any transaction in it is invalid, no transaction and no row of it is
// applied (vector, log and tables unchanged).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::ClusterOptions;
using test::describe;
using test::execOk;
using test::findColumn;
using test::findRow;
using test::Int;
using test::tableContents;
using test::Txt;

ClusterOptions bank() {
  ClusterOptions o;
  o.schema =
      "CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER);"
      "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);";
  o.tracked = {"accounts"};
  return o;
}

constexpr const char* kTransfer =
    "BEGIN;"
    " UPDATE accounts SET balance = balance - 100 WHERE id = 1;"
    " UPDATE accounts SET balance = balance + 100 WHERE id = 2;"
    "COMMIT;";

}  // namespace

TEST_CASE("a two-row transfer in one BEGIN/COMMIT is one transaction", "[core][atomicity]") {
  Cluster c(test::clusterOptions(2, bank()));
  execOk(c[0], "INSERT INTO accounts VALUES (1, 'alice', 1000), (2, 'bob', 500)");
  Transaction t = test::captureOne(c[0], kTransfer);
  INFO(describe(t));
  REQUIRE(t.rows.size() == 2);
  const RowChange* from = findRow(t, "accounts", {Int(1)});
  const RowChange* to = findRow(t, "accounts", {Int(2)});
  REQUIRE(from != nullptr);
  REQUIRE(to != nullptr);
  CHECK(from->op == RowOp::kUpdate);
  CHECK(to->op == RowOp::kUpdate);
  REQUIRE(findColumn(*from, 2) != nullptr);
  REQUIRE(findColumn(*to, 2) != nullptr);
  CHECK(findColumn(*from, 2)->oldValue == Int(1000));
  CHECK(findColumn(*from, 2)->newValue == Int(900));
  CHECK(findColumn(*to, 2)->oldValue == Int(500));
  CHECK(findColumn(*to, 2)->newValue == Int(600));

  auto r = c.deliver(0, 1);
  CHECK(r.applied == 2);
  CHECK(tableContents(c[1], "accounts") ==
        std::vector<Row>{{Int(1), Txt("alice"), Int(900)}, {Int(2), Txt("bob"), Int(600)}});
}

TEST_CASE("a batch whose later transaction is invalid is refused whole and nothing is applied",
          "[core][atomicity]") {
  Cluster c(test::clusterOptions(2, bank()));
  Site& origin = c[0];
  Site& receiver = c[1];
  execOk(origin, "INSERT INTO accounts VALUES (1, 'alice', 1000), (2, 'bob', 500)");
  c.deliver(0, 1);
  execOk(origin, "UPDATE accounts SET owner = 'Alice' WHERE id = 1");  // valid, first in the batch
  execOk(origin, kTransfer);                                           // to be made invalid
  auto batch = test::changesOk(origin, receiver.vector().value());
  REQUIRE(batch.size() == 2);
  REQUIRE(batch[1].rows.size() == 2);
  const auto good = batch;

  std::string corruption = GENERATE(as<std::string>{}, "unknown table", "untracked table", "column out of range",
                                    "key of the wrong arity");
  INFO("corruption: " << corruption);
  RowChange& second = batch[1].rows[1];
  if (corruption == "unknown table") second.table = "ghost";
  if (corruption == "untracked table") second.table = "notes";  // exists at the receiver, not tracked
  if (corruption == "column out of range") second.columns.at(0).column = 99;
  if (corruption == "key of the wrong arity") second.pk = {Int(2), Int(3)};
  INFO(describe(batch));

  auto contentsBefore = tableContents(receiver, "accounts");
  auto vectorBefore = receiver.vector().value();
  auto heldBefore = test::allTransactions(receiver).size();

  auto r = receiver.replication().apply(batch);
  INFO(r.status().toString());
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.status().message().empty());
  CHECK(r.status().message().find('\n') == std::string::npos);
  CHECK(receiver.vector().value() == vectorBefore);
  CHECK(tableContents(receiver, "accounts") == contentsBefore);
  CHECK(tableContents(receiver, "notes").empty());
  CHECK(test::allTransactions(receiver).size() == heldBefore);

  // The intact batch still applies completely afterwards.
  auto ok = test::applyOk(receiver, good);
  CHECK(ok.applied == 2);
  CHECK(receiver.vector().value() == origin.vector().value());
  CHECK(tableContents(receiver, "accounts") == tableContents(origin, "accounts"));
}

TEST_CASE("a transfer is never half-applied at any site of a chain", "[core][atomicity]") {
  Cluster c(test::clusterOptions(3, bank()));
  execOk(c[0], "INSERT INTO accounts VALUES (1, 'alice', 1000), (2, 'bob', 500)");
  c.deliver(0, 1);
  c.deliver(1, 2);
  execOk(c[0], kTransfer);
  c.deliver(0, 1);
  c.deliver(1, 2);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("site " << i);
    CHECK(test::queryInt(c[i], "SELECT sum(balance) FROM accounts") == 1500);
    CHECK(tableContents(c[i], "accounts") ==
          std::vector<Row>{{Int(1), Txt("alice"), Int(900)}, {Int(2), Txt("bob"), Int(600)}});
  }
}

TEST_CASE("a transaction that swaps UNIQUE values between two rows replicates", "[core][atomicity][constraints]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE)";
  o.tracked = {"u"};
  Cluster c(test::clusterOptions(2, o));
  execOk(c[0], "INSERT INTO u VALUES (1, 'x'), (2, 'y')");
  c.deliver(0, 1);
  test::captureOne(c[0],
                   "BEGIN;"
                   " UPDATE u SET email = 'tmp' WHERE id = 1;"
                   " UPDATE u SET email = 'x' WHERE id = 2;"
                   " UPDATE u SET email = 'y' WHERE id = 1;"
                   "COMMIT;");
  auto r = c[1].replication().apply(test::changesOk(c[0], c[1].vector().value()));
  INFO(r.status().toString());
  REQUIRE(r.ok());
  CHECK(tableContents(c[1], "u") == std::vector<Row>{{Int(1), Txt("y")}, {Int(2), Txt("x")}});
}

}  // namespace parley
