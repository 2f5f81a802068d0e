// The bounded counter (parley/resolvers/bounded.hpp) on simulated sites: rights start with the
// inserting site, a write beyond this site's rights is refused at commit (never rejected
// later), rights move by give and ask transactions that replicate like any other, the bank
// scenario gives 700 with no rejection, and rights are counted pessimistically where another
// column can still reject a transaction.
#include <catch2/catch.hpp>

#include <string>

#include "parley/replication.hpp"
#include "parley/resolvers/bounded.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::ClusterOptions;
using test::execOk;
using test::Int;
using test::queryInt;
namespace bounded = resolvers::bounded;

ClusterOptions accounts(std::string balance = "bounded", std::string note = "lww") {
  ClusterOptions o;
  o.schema = "CREATE TABLE acct(id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, note TEXT);";
  o.tracked = {"acct"};
  TableConfig c;
  c.overrides = {{"balance", balance}, {"note", note}};
  o.config = c;
  return o;
}

std::int64_t balance(Site& site, int id = 1) {
  return queryInt(site, "SELECT balance FROM acct WHERE id = " + std::to_string(id));
}

std::int64_t rightsOf(Site& site, const SiteId& who, int id = 1) {
  auto cell = site.cellState("acct", {Int(id)}, "balance");
  REQUIRE_OK(cell);
  REQUIRE(cell->has_value());
  return (*cell)->state.rights(who);
}

std::uint64_t ownSeq(Site& site) { return site.vector().value().get(site.id()); }

TEST_CASE("a withdrawal beyond this site's rights is refused at commit, naming who holds more",
          "[resolvers][bounded]") {
  Cluster c(test::clusterOptions(2, accounts()));
  execOk(c[0], "INSERT INTO acct VALUES (1, 1000, 'alice')");
  c.deliver(0, 1);
  CHECK(rightsOf(c[1], c[0].id()) == 1000);
  CHECK(rightsOf(c[1], c[1].id()) == 0);
  auto before = ownSeq(c[1]);
  auto refused = c[1].exec("UPDATE acct SET balance = balance - 100 WHERE id = 1");
  REQUIRE_FALSE(refused.ok());
  std::string message = refused.status().message();
  INFO(message);
  CHECK(message.find("site1 may spend 0 more, not 100") != std::string::npos);
  CHECK(message.find(c[0].id().shortHex() + " holds 1000; asking the other sites for 100") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(balance(c[1]) == 1000);
  // The refused transaction is gone; what it lacked is asked for, in a transaction of its own.
  CHECK(ownSeq(c[1]) == before + 1);
  auto cell = c[1].cellState("acct", {Int(1)}, "balance");
  REQUIRE_OK(cell);
  CHECK((*cell)->state.outstanding(c[1].id()) == 100);
  // Asking again for as much adds nothing.
  auto again = c[1].exec("UPDATE acct SET balance = balance - 100 WHERE id = 1");
  CHECK(again.status().message().find("asking") == std::string::npos);
  CHECK(ownSeq(c[1]) == before + 1);
  // A deposit needs no rights, and adds to the depositor's.
  execOk(c[1], "UPDATE acct SET balance = balance + 50 WHERE id = 1");
  CHECK(rightsOf(c[1], c[1].id()) == 50);
  execOk(c[1], "UPDATE acct SET balance = balance - 50 WHERE id = 1");
  CHECK_FALSE(c[1].exec("UPDATE acct SET balance = balance - 1 WHERE id = 1").ok());
}

TEST_CASE("rights given to a site let it spend while partitioned, and no site goes below the bound",
          "[resolvers][bounded]") {
  Cluster c(test::clusterOptions(2, accounts()));
  execOk(c[0], "INSERT INTO acct VALUES (1, 1000, 'alice')");
  REQUIRE_OK(bounded::give(c[0], "acct", {Int(1)}, "balance", c[1].id(), 300));
  CHECK(rightsOf(c[0], c[0].id()) == 700);
  c.syncPair(0, 1);
  CHECK(rightsOf(c[1], c[1].id()) == 300);
  CHECK(balance(c[1]) == 1000);  // a give leaves the value as it is
  // Partitioned: each spends what it holds, no more.
  execOk(c[1], "UPDATE acct SET balance = balance - 200 WHERE id = 1");
  CHECK_FALSE(c[1].exec("UPDATE acct SET balance = balance - 101 WHERE id = 1").ok());
  execOk(c[0], "UPDATE acct SET balance = balance - 700 WHERE id = 1");
  CHECK_FALSE(c[0].exec("UPDATE acct SET balance = balance - 1 WHERE id = 1").ok());
  auto refusedGive = bounded::give(c[0], "acct", {Int(1)}, "balance", c[1].id(), 1);
  REQUIRE_FALSE(refusedGive.ok());
  CHECK(refusedGive.status().message().find("may give 0, not 1") != std::string::npos);
  auto [toOne, toZero] = c.syncPair(0, 1);
  CHECK(toOne.rejected + toZero.rejected == 0);
  CHECK(balance(c[0]) == 100);
  CHECK(balance(c[1]) == 100);
  CHECK(rightsOf(c[0], c[0].id()) == 0);
  CHECK(rightsOf(c[0], c[1].id()) == 100);
  // A give to itself, of nothing, or on another column is refused.
  CHECK_FALSE(bounded::give(c[1], "acct", {Int(1)}, "balance", c[1].id(), 1).ok());
  CHECK_FALSE(bounded::give(c[1], "acct", {Int(1)}, "balance", c[0].id(), 0).ok());
  CHECK_FALSE(bounded::give(c[1], "acct", {Int(1)}, "note", c[0].id(), 1).ok());
  CHECK(bounded::give(c[1], "acct", {Int(9)}, "balance", c[0].id(), 1).status().code() == Status::Code::kNotFound);
}

TEST_CASE("re-issuing a give (a forked site's history) gives again, checked again", "[resolvers][bounded]") {
  Cluster c(test::clusterOptions(2, accounts()));
  execOk(c[0], "INSERT INTO acct VALUES (1, 1000, 'alice')");
  auto gave = bounded::give(c[0], "acct", {Int(1)}, "balance", c[1].id(), 300);
  REQUIRE_OK(gave);
  Transaction give = test::transactionWithDot(c[0], *gave);
  auto again = c[0].replication().reissue(std::vector<Transaction>{give});
  REQUIRE_OK(again);
  CHECK(rightsOf(c[0], c[0].id()) == 400);
  CHECK(rightsOf(c[0], c[1].id()) == 600);
  CHECK(balance(c[0]) == 1000);
  auto beyond = c[0].replication().reissue(std::vector<Transaction>{give, give});
  REQUIRE_FALSE(beyond.ok());
  CHECK(beyond.status().message().find("may give 100, not 300") != std::string::npos);
}

TEST_CASE("New York -100 and London -200 under bounded give 700 with no rejection", "[resolvers][bounded][bank]") {
  Cluster c(test::clusterOptions(2, accounts()));
  Site& ny = c[0];
  Site& london = c[1];
  execOk(ny, "INSERT INTO acct VALUES (1, 1000, 'alice')");
  REQUIRE_OK(bounded::give(ny, "acct", {Int(1)}, "balance", london.id(), 500));
  c.syncPair(0, 1);
  execOk(ny, "UPDATE acct SET balance = balance - 100 WHERE id = 1");
  c.clock(1).advance(10);
  execOk(london, "UPDATE acct SET balance = balance - 200 WHERE id = 1");
  auto [a, b] = c.syncPair(0, 1);
  CHECK(a.rejected + b.rejected == 0);
  CHECK(balance(ny) == 700);
  CHECK(balance(london) == 700);
  CHECK(london.rejectedWrites().value().empty());
  // Beyond London's rights: refused when written, not bounced later.
  CHECK_FALSE(london.exec("UPDATE acct SET balance = balance - 301 WHERE id = 1").ok());
}

TEST_CASE("a site that asks for rights gets them from the site holding the most", "[resolvers][bounded]") {
  Cluster c(test::clusterOptions(3, accounts()));
  execOk(c[0], "INSERT INTO acct VALUES (1, 1000, 'alice')");
  REQUIRE_OK(bounded::give(c[0], "acct", {Int(1)}, "balance", c[2].id(), 100));
  c.syncAll();
  REQUIRE_OK(bounded::ask(c[1], "acct", {Int(1)}, "balance", 250));
  c.syncAll();
  // Only the richest other site answers.
  auto none = bounded::answerRequests(c[2]);
  REQUIRE_OK(none);
  CHECK(*none == 0);
  auto one = bounded::answerRequests(c[0]);
  REQUIRE_OK(one);
  CHECK(*one == 1);
  auto again = bounded::answerRequests(c[0]);  // answered: nothing outstanding
  REQUIRE_OK(again);
  CHECK(*again == 0);
  c.syncAll();
  CHECK(rightsOf(c[1], c[1].id()) == 250);
  CHECK(rightsOf(c[2], c[0].id()) == 650);
  auto cells = bounded::rights(c[1], "acct", "balance");
  REQUIRE_OK(cells);
  REQUIRE(cells->size() == 1);
  CHECK(cells->front().sites.front().site == c[0].id());
  CHECK(cells->front().sites.front().outstanding == 0);
  execOk(c[1], "UPDATE acct SET balance = balance - 250 WHERE id = 1");
}

TEST_CASE("a refused withdrawal asks for what it lacked, and the answer lets it through", "[resolvers][bounded]") {
  Cluster c(test::clusterOptions(2, accounts()));
  execOk(c[0], "INSERT INTO acct VALUES (1, 1000, 'alice')");
  REQUIRE_OK(bounded::give(c[0], "acct", {Int(1)}, "balance", c[1].id(), 100));
  c.syncPair(0, 1);
  CHECK_FALSE(c[1].exec("UPDATE acct SET balance = balance - 250 WHERE id = 1").ok());
  c.syncPair(0, 1);
  auto given = bounded::answerRequests(c[0]);
  REQUIRE_OK(given);
  CHECK(*given == 1);
  c.syncPair(0, 1);
  CHECK(rightsOf(c[1], c[1].id()) == 250);
  execOk(c[1], "UPDATE acct SET balance = balance - 250 WHERE id = 1");
  // Refusals that are not withdrawals ask for nothing.
  auto before = ownSeq(c[1]);
  CHECK_FALSE(c[1].exec("UPDATE acct SET balance = 'x' WHERE id = 1").ok());
  CHECK_FALSE(c[1].exec("DELETE FROM acct WHERE id = 1").ok());
  CHECK(ownSeq(c[1]) == before);
}

TEST_CASE("tracking a table gives the tracking site every row's rights, bounded:MIN, what is refused",
          "[resolvers][bounded]") {
  ClusterOptions o = accounts("bounded:-100");
  o.schema += "INSERT INTO acct VALUES (1, 0, 'overdraft allowed to -100');";
  Cluster c(test::clusterOptions(1, o));
  CHECK(rightsOf(c[0], c[0].id()) == 100);
  execOk(c[0], "UPDATE acct SET balance = balance - 100 WHERE id = 1");
  CHECK(balance(c[0]) == -100);
  CHECK_FALSE(c[0].exec("UPDATE acct SET balance = balance - 1 WHERE id = 1").ok());
  auto below = c[0].exec("INSERT INTO acct VALUES (2, -101, 'x')");
  REQUIRE_FALSE(below.ok());
  CHECK(below.status().message().find("below the bound -100") != std::string::npos);
  CHECK(c[0].exec("DELETE FROM acct WHERE id = 1").status().message().find("cannot be deleted") != std::string::npos);
  CHECK(c[0].exec("UPDATE acct SET balance = 'lots' WHERE id = 1").status().message().find("holds integers") !=
        std::string::npos);
  // Other columns are written as usual.
  execOk(c[0], "UPDATE acct SET note = 'n' WHERE id = 1");
}

// Pessimistic counting (DESIGN.md, "Bounded counter"). Three sites; row 1 holds 100 (all of it
// site0's rights), `note` is a reject column. C's, then B's, then A's transactions, in
// canonical order: B's rewrites the notes of rows 1 and 2, C's (earliest) the note of row 2.
struct Pessimism {
  Cluster c{test::clusterOptions(3, accounts("bounded", "reject"))};
  Site& a = c[0];
  Site& b = c[1];
  Site& cc = c[2];

  Pessimism() {
    execOk(a, "INSERT INTO acct VALUES (1, 100, 'n1'), (2, 0, 'n2')");
    c.syncAll();
    c.clock(2).advance(10);
    execOk(cc, "UPDATE acct SET note = 'c' WHERE id = 2");
    c.clock(1).advance(20);
    execOk(b, "UPDATE acct SET note = 'b' WHERE id IN (1, 2)");
    c.clock(0).advance(30);
  }
};

TEST_CASE("a decrement in a transaction rejected for now still counts until it is finally rejected",
          "[resolvers][bounded][pessimistic]") {
  Pessimism p;
  // A spends all its rights in a transaction that also writes the reject column.
  execOk(p.a, "UPDATE acct SET balance = balance - 100, note = 'a' WHERE id = 1");
  // B's earlier write of the note arrives: A's transaction is rejected, for now.
  p.c.deliver(1, 0);
  REQUIRE(p.a.rejectedWrites().value().size() == 2);
  CHECK(balance(p.a) == 100);
  CHECK(rightsOf(p.a, p.a.id()) == 100);  // as the fold counts it...
  // ...but the decrement may come back: spending the 100 again is refused.
  auto refused = p.a.exec("UPDATE acct SET balance = balance - 100 WHERE id = 1");
  INFO(refused.status().message());
  CHECK_FALSE(refused.ok());
  // C's even earlier write rejects B's, which brings A's back.
  p.c.deliver(2, 0);
  p.c.syncAll();
  for (std::size_t i = 0; i < p.c.size(); ++i) {
    CHECK(balance(p.c[i]) == 0);
    CHECK(balance(p.c[i]) >= 0);
  }
}

TEST_CASE("a deposit in a transaction that may still be rejected counts only once it is final",
          "[resolvers][bounded][pessimistic]") {
  Pessimism p;
  execOk(p.a, "UPDATE acct SET balance = balance + 100, note = 'a' WHERE id = 1");
  CHECK(rightsOf(p.a, p.a.id()) == 200);
  auto refused = p.a.exec("UPDATE acct SET balance = balance - 150 WHERE id = 1");
  INFO(refused.status().message());
  CHECK_FALSE(refused.ok());
  execOk(p.a, "UPDATE acct SET balance = balance - 100 WHERE id = 1");
  // B's earlier write of the note rejects the deposit, for now: A is left with what it had.
  p.c.deliver(1, 0);
  CHECK(balance(p.a) == 0);
  // C's even earlier write rejects B's, which brings the deposit back.
  p.c.syncAll();
  for (std::size_t i = 0; i < p.c.size(); ++i) CHECK(balance(p.c[i]) == 100);
}

TEST_CASE("a deposit counts once it is final", "[resolvers][bounded][pessimistic]") {
  Cluster c(test::clusterOptions(2, accounts("bounded", "reject")));
  execOk(c[0], "INSERT INTO acct VALUES (1, 0, 'n')");
  execOk(c[0], "UPDATE acct SET balance = balance + 100, note = 'x' WHERE id = 1");
  CHECK_FALSE(c[0].exec("UPDATE acct SET balance = balance - 100 WHERE id = 1").ok());
  c.syncPair(0, 1);
  c.syncPair(0, 1);  // acknowledgements both ways: every decision final
  REQUIRE(c[0].decision({c[0].id(), 2}).value().final);
  execOk(c[0], "UPDATE acct SET balance = balance - 100 WHERE id = 1");
}

}  // namespace
}  // namespace parley
