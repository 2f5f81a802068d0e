// Causality at the receiving site: writes that saw each other never conflict, writes that did
// not always do (whatever the clocks say), re-delivery is a no-op, and a transaction whose
// causal context is missing is refused as a whole.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/txn_codec.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using testing::Cluster;
using test::ClusterOptions;
using test::describe;
using test::execOk;
using test::Int;
using test::Null;
using test::tableContents;
using test::Txt;

std::string describe(const ApplyResult& r) {
  std::string out = "applied " + std::to_string(r.applied) + ", duplicates " + std::to_string(r.duplicates) +
                    ", refolded " + std::to_string(r.refolded) + ", " + std::to_string(r.conflicts.size()) +
                    " conflicts\n";
  for (const auto& c : r.conflicts) out += "  " + test::describe(c) + "\n";
  return out;
}

std::size_t countKind(const ApplyResult& r, ConflictKind kind) {
  std::size_t n = 0;
  for (const auto& c : r.conflicts)
    if (c.kind == kind) ++n;
  return n;
}

const ConflictReport* findKind(const ApplyResult& r, ConflictKind kind) {
  for (const auto& c : r.conflicts)
    if (c.kind == kind) return &c;
  return nullptr;
}

void requireSameContents(Site& a, Site& b, const char* table = "t") {
  auto ca = tableContents(a, table);
  auto cb = tableContents(b, table);
  INFO(a.name() << ":\n" << describe(ca) << b.name() << ":\n" << describe(cb));
  REQUIRE(ca == cb);
}

ClusterOptions withResolvers(std::shared_ptr<const ResolverProvider> p) {
  ClusterOptions o;
  o.resolvers = std::move(p);
  return o;
}

// Two sites holding the same row (1, 'a0', 100), written by site 0 and synced.
Cluster twoSitesWithRow(std::shared_ptr<const ResolverProvider> p = resolvers::lwwEverywhere()) {
  Cluster c(test::clusterOptions(2, withResolvers(std::move(p))));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a0', 100)");
  c.deliver(0, 1);
  return c;
}

}  // namespace

TEST_CASE("sequential writes across sites never produce a conflict", "[core][causality]") {
  auto provider = GENERATE(as<std::string>{}, "lww", "fww");
  INFO("resolver " << provider);
  Cluster c = twoSitesWithRow(provider == "lww" ? resolvers::lwwEverywhere() : resolvers::fwwEverywhere());
  // B's physical clock lags far behind A's: the overwrite must still win because it saw A's write.
  c.clock(0).advance(5000);
  execOk(c[0], "UPDATE t SET a = 'A1', b = 101 WHERE id = 1");
  auto toB = c.deliver(0, 1);
  INFO(describe(toB));
  CHECK(toB.applied == 1);
  CHECK(toB.conflicts.empty());

  execOk(c[1], "UPDATE t SET a = 'B1' WHERE id = 1");
  auto toA = c.deliver(1, 0);
  INFO(describe(toA));
  CHECK(toA.applied == 1);
  CHECK(toA.conflicts.empty());

  execOk(c[0], "UPDATE t SET a = 'A2' WHERE id = 1");
  execOk(c[0], "DELETE FROM t WHERE id = 1");
  execOk(c[0], "INSERT INTO t VALUES (1, 'A3', 7)");
  auto again = c.deliver(0, 1);
  INFO(describe(again));
  CHECK(again.applied == 3);
  CHECK(again.conflicts.empty());

  std::vector<Row> expected{{Int(1), Txt("A3"), Int(7)}};
  CHECK(tableContents(c[0], "t") == expected);
  CHECK(tableContents(c[1], "t") == expected);
  CHECK(c[0].vector().value() == c[1].vector().value());
}

TEST_CASE("concurrent writes to the same cell always conflict at the receiving site", "[core][causality]") {
  Cluster c = twoSitesWithRow();
  c.clock(0).advance(100);
  c.clock(1).advance(200);  // B writes later: B wins under lww
  execOk(c[0], "UPDATE t SET a = 'A' WHERE id = 1");
  execOk(c[1], "UPDATE t SET a = 'B' WHERE id = 1");
  Dot dotA{c[0].id(), 2};
  Dot dotB{c[1].id(), 1};
  REQUIRE(c[0].vector().value().get(c[0].id()) == 2);
  REQUIRE(c[1].vector().value().get(c[1].id()) == 1);

  auto atB = c.deliver(0, 1);
  INFO("at B: " << describe(atB));
  REQUIRE(atB.conflicts.size() == 1);
  const ConflictReport& b = atB.conflicts[0];
  CHECK(b.kind == ConflictKind::kCell);
  CHECK(b.table == "t");
  CHECK(b.pk == Row{Int(1)});
  CHECK(b.column == "a");
  CHECK(b.resolver == "lww");
  // Reported from the canonical view: B's later write meets A's, whichever arrived first.
  CHECK(b.localValue == Txt("A"));
  CHECK(b.localDots == Dots{dotA});
  CHECK(b.remoteValue == Txt("B"));
  CHECK(b.remoteDot == dotB);
  CHECK(b.remoteStamp > b.localStamp);
  CHECK(b.remoteWon == true);
  CHECK(b.outcome == ConflictOutcome::kAppliedRemote);
  CHECK(b.result == Txt("B"));

  auto atA = c.deliver(1, 0);
  INFO("at A: " << describe(atA));
  REQUIRE(atA.conflicts.size() == 1);
  const ConflictReport& a = atA.conflicts[0];
  CHECK(a.kind == ConflictKind::kCell);
  CHECK(a.column == "a");
  CHECK(a.localValue == Txt("A"));
  CHECK(a.localDots == Dots{dotA});
  CHECK(a.remoteValue == Txt("B"));
  CHECK(a.remoteDot == dotB);
  CHECK(a.remoteWon == true);
  CHECK(a.result == Txt("B"));

  std::vector<Row> expected{{Int(1), Txt("B"), Int(100)}};
  CHECK(tableContents(c[0], "t") == expected);
  CHECK(tableContents(c[1], "t") == expected);
}

TEST_CASE("concurrent writes conflict even when the physical clocks say one came long after",
          "[core][causality]") {
  // Timestamps do not decide concurrency: B writes an hour later but never saw A's write.
  Cluster c = twoSitesWithRow();
  execOk(c[0], "UPDATE t SET b = 1 WHERE id = 1");
  c.clock(1).advance(3'600'000);
  execOk(c[1], "UPDATE t SET b = 2 WHERE id = 1");
  auto atB = c.deliver(0, 1);
  INFO(describe(atB));
  CHECK(countKind(atB, ConflictKind::kCell) == 1);
  auto atA = c.deliver(1, 0);
  INFO(describe(atA));
  CHECK(countKind(atA, ConflictKind::kCell) == 1);
  requireSameContents(c[0], c[1]);
  CHECK(tableContents(c[0], "t") == std::vector<Row>{{Int(1), Txt("a0"), Int(2)}});
}

TEST_CASE("concurrent writes to different columns of a row do not conflict and both survive",
          "[core][causality]") {
  Cluster c = twoSitesWithRow();
  execOk(c[0], "UPDATE t SET a = 'A' WHERE id = 1");
  execOk(c[1], "UPDATE t SET b = 200 WHERE id = 1");
  auto [atB, atA] = c.syncPair(0, 1);
  INFO("at B: " << describe(atB) << "at A: " << describe(atA));
  CHECK(atB.conflicts.empty());
  CHECK(atA.conflicts.empty());
  std::vector<Row> expected{{Int(1), Txt("A"), Int(200)}};
  CHECK(tableContents(c[0], "t") == expected);
  CHECK(tableContents(c[1], "t") == expected);
}

TEST_CASE("concurrent inserts of the same key are an insert/insert conflict", "[core][causality]") {
  Cluster c(test::clusterOptions(2));
  c.clock(1).advance(50);  // B inserts later
  execOk(c[0], "INSERT INTO t VALUES (7, 'x', 1)");
  execOk(c[1], "INSERT INTO t VALUES (7, 'y', 2)");
  auto atB = c.deliver(0, 1);
  INFO("at B: " << describe(atB));
  const ConflictReport* b = findKind(atB, ConflictKind::kInsertInsert);
  REQUIRE(b != nullptr);
  CHECK(b->table == "t");
  CHECK(b->pk == Row{Int(7)});
  auto atA = c.deliver(1, 0);
  INFO("at A: " << describe(atA));
  CHECK(findKind(atA, ConflictKind::kInsertInsert) != nullptr);
  // lww merges column by column; B's stamp is later in every column.
  std::vector<Row> expected{{Int(7), Txt("y"), Int(2)}};
  CHECK(tableContents(c[0], "t") == expected);
  CHECK(tableContents(c[1], "t") == expected);
}

TEST_CASE("a remote update meeting a local delete is update/delete, the reverse is delete/update",
          "[core][causality]") {
  Cluster c = twoSitesWithRow();
  bool updateLater = GENERATE(true, false);
  INFO((updateLater ? "the update is later" : "the delete is later"));
  c.clock(0).advance(updateLater ? 200 : 100);
  c.clock(1).advance(updateLater ? 100 : 200);
  execOk(c[0], "UPDATE t SET a = 'A' WHERE id = 1");
  execOk(c[1], "DELETE FROM t WHERE id = 1");

  // Both sites report the canonical view: the later operation meeting the earlier one.
  ConflictKind expectedKind = updateLater ? ConflictKind::kUpdateDelete : ConflictKind::kDeleteUpdate;
  auto atB = c.deliver(0, 1);
  INFO("at B (deleted here, update arrives): " << describe(atB));
  const ConflictReport* ud = findKind(atB, expectedKind);
  REQUIRE(ud != nullptr);
  CHECK(ud->table == "t");
  CHECK(ud->pk == Row{Int(1)});

  auto atA = c.deliver(1, 0);
  INFO("at A (updated here, delete arrives): " << describe(atA));
  const ConflictReport* du = findKind(atA, expectedKind);
  REQUIRE(du != nullptr);
  CHECK(du->pk == Row{Int(1)});
  CHECK(du->remoteDot == ud->remoteDot);
  CHECK(du->outcome == ud->outcome);
  // The local dots name the one earlier write the later one did not see, at both sites; not
  // the row's insert, which both had seen (A, holding the updated row, used to list it too).
  Dot update{c[0].id(), 2}, del{c[1].id(), 1};
  CHECK(ud->remoteDot == (updateLater ? update : del));
  CHECK(ud->localDots == Dots{updateLater ? del : update});
  CHECK(du->localDots == ud->localDots);

  // lww row policy: the later of the two wins at both sites; a winning update resurrects the
  // row with its other columns as they were.
  std::vector<Row> expected;
  if (updateLater) expected = {{Int(1), Txt("A"), Int(100)}};
  CHECK(tableContents(c[0], "t") == expected);
  CHECK(tableContents(c[1], "t") == expected);
}

TEST_CASE("apply is idempotent: re-delivered transactions are counted as duplicates and change nothing",
          "[core][causality][idempotence]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1), (2, 'b', 2)");
  execOk(c[0], "UPDATE t SET a = 'A' WHERE id = 1");
  execOk(c[0], "DELETE FROM t WHERE id = 2");
  auto all = test::allTransactions(c[0]);
  REQUIRE(all.size() == 3);

  auto first = test::applyOk(c[1], all);
  CHECK(first.applied == 3);
  CHECK(first.duplicates == 0);
  auto contents = tableContents(c[1], "t");
  auto vector = c[1].vector().value();
  REQUIRE(contents == tableContents(c[0], "t"));

  auto second = test::applyOk(c[1], all);
  INFO(describe(second));
  CHECK(second.applied == 0);
  CHECK(second.duplicates == 3);
  CHECK(second.conflicts.empty());
  CHECK(tableContents(c[1], "t") == contents);
  CHECK(c[1].vector().value() == vector);
  CHECK(test::allTransactions(c[1]).size() == 3);

  // A batch of old and new transactions applies only the new ones.
  execOk(c[0], "INSERT INTO t VALUES (3, 'c', 3)");
  auto mixed = test::allTransactions(c[0]);
  REQUIRE(mixed.size() == 4);
  auto third = test::applyOk(c[1], mixed);
  CHECK(third.applied == 1);
  CHECK(third.duplicates == 3);
  CHECK(tableContents(c[1], "t") == tableContents(c[0], "t"));

  // Delivering a site its own transactions back is harmless too.
  auto echo = test::applyOk(c[0], mixed);
  CHECK(echo.applied == 0);
  CHECK(echo.duplicates == 4);

  // The same transaction twice in one batch is applied once.
  Cluster d(test::clusterOptions(2));
  execOk(d[0], "INSERT INTO t VALUES (1, 'a', 1)");
  auto once = test::allTransactions(d[0]);
  std::vector<Transaction> twice{once[0], once[0]};
  auto r = test::applyOk(d[1], twice);
  CHECK(r.applied == 1);
  CHECK(r.duplicates == 1);
  CHECK(tableContents(d[1], "t") == tableContents(d[0], "t"));
}

TEST_CASE("a transaction whose causal dependencies are missing is refused and nothing is applied",
          "[core][causality][readiness]") {
  Cluster c(test::clusterOptions(3));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  execOk(c[0], "INSERT INTO t VALUES (2, 'b', 2)");
  auto all = test::allTransactions(c[0]);
  REQUIRE(all.size() == 2);
  auto contentsBefore = tableContents(c[1], "t");
  VersionVector vectorBefore = c[1].vector().value();

  SECTION("the second transaction of a site without its first") {
    std::vector<Transaction> onlySecond{all[1]};
    auto r = c[1].replication().apply(onlySecond);
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kNotReady);
    CHECK(r.status().message().find(c[0].id().shortHex()) != std::string::npos);
  }
  SECTION("a ready transaction in the same batch is not applied either") {
    execOk(c[0], "INSERT INTO t VALUES (3, 'c', 3)");
    auto three = test::allTransactions(c[0]);
    REQUIRE(three.size() == 3);
    std::vector<Transaction> gap{three[0], three[2]};
    auto r = c[1].replication().apply(gap);
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kNotReady);
  }
  SECTION("a transaction that depends on a third site's transaction") {
    execOk(c[2], "INSERT INTO t VALUES (9, 'z', 9)");
    c.deliver(2, 0);
    c.deliver(0, 1);  // site 1 now holds everything site 0 had, including site 2's write
    contentsBefore = tableContents(c[1], "t");
    vectorBefore = c[1].vector().value();

    std::size_t fresh = test::addSite(c);
    execOk(c[0], "UPDATE t SET a = 'Z' WHERE id = 9");
    auto fromZero = test::changesOk(c[0], c[fresh].vector().value());
    std::vector<Transaction> onlyOwn;
    for (const auto& t : fromZero)
      if (t.dot.site == c[0].id()) onlyOwn.push_back(t);
    REQUIRE(onlyOwn.size() == 3);
    auto r = c[fresh].replication().apply(onlyOwn);
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kNotReady);
    CHECK(r.status().message().find(c[2].id().shortHex()) != std::string::npos);
    CHECK(c[fresh].vector().value().empty());
    CHECK(tableContents(c[fresh], "t").empty());
  }
  CHECK(c[1].vector().value() == vectorBefore);
  CHECK(tableContents(c[1], "t") == contentsBefore);

  // Once the missing transactions arrive everything applies.
  c.deliver(0, 1);
  CHECK(tableContents(c[1], "t") == tableContents(c[0], "t"));
}

TEST_CASE("a transaction whose HLC is not after its origin's previous one is refused, in a batch or alone",
          "[core][causality][readiness]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  execOk(c[0], "INSERT INTO t VALUES (2, 'b', 2)");
  auto all = test::allTransactions(c[0]);
  REQUIRE(all.size() == 2);
  Transaction backwards = all[1];
  backwards.hlc = all[0].hlc;  // no parley site's clock does this: its HLC only grows
  auto check = [&](const Result<ApplyResult>& r) {
    INFO(r.status().toString());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find("HLC is not after") != std::string::npos);
  };

  SECTION("in one batch with its predecessor") {
    std::vector<Transaction> batch{all[0], backwards};
    check(c[1].replication().apply(batch));
    CHECK(c[1].vector().value().empty());
    CHECK(tableContents(c[1], "t").empty());
  }
  SECTION("after its predecessor was applied") {
    std::vector<Transaction> first{all[0]};
    REQUIRE(c[1].replication().apply(first).ok());
    std::vector<Transaction> second{backwards};
    check(c[1].replication().apply(second));
    CHECK(c[1].vector().value().get(c[0].id()) == 1);
    CHECK(tableContents(c[1], "t") == std::vector<Row>{{Int(1), Txt("a"), Int(1)}});
  }
}

TEST_CASE("a write made after seeing both sides of a conflict supersedes them with no new conflict",
          "[core][causality]") {
  std::string resolver = GENERATE(as<std::string>{}, "lww", "fww");
  INFO("resolver " << resolver);
  Cluster c(test::clusterOptions(3, withResolvers(resolver == "lww" ? resolvers::lwwEverywhere() : resolvers::fwwEverywhere())));
  execOk(c[0], "INSERT INTO t VALUES (1, 'base', 0)");
  c.deliver(0, 1);
  c.deliver(0, 2);
  c.clock(0).advance(10);
  c.clock(1).advance(20);
  execOk(c[0], "UPDATE t SET a = 'A' WHERE id = 1");
  execOk(c[1], "UPDATE t SET a = 'B' WHERE id = 1");
  // Site 2 sees both concurrent versions, then overwrites the cell: it supersedes both, so
  // even fww (which keeps the earlier of concurrent writes) must take it.
  c.deliver(0, 2);
  c.deliver(1, 2);
  execOk(c[2], "UPDATE t SET a = 'C' WHERE id = 1");
  auto atA = c.deliver(2, 0);
  auto atB = c.deliver(2, 1);
  INFO("at A: " << describe(atA) << "at B: " << describe(atB));
  // Each of A and B meets the other's write (one conflict), never C's.
  for (const auto* r : {&atA, &atB}) {
    for (const auto& conflict : r->conflicts) CHECK(conflict.remoteDot.site != c[2].id());
    CHECK(countKind(*r, ConflictKind::kCell) == 1);
  }
  std::vector<Row> expected{{Int(1), Txt("C"), Int(0)}};
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("site " << i);
    CHECK(tableContents(c[i], "t") == expected);
  }
}

TEST_CASE("a remote timestamp beyond the skew bound is applied and reported as a warning",
          "[core][causality][skew]") {
  ClusterOptions o;
  o.maxClockSkew = std::chrono::milliseconds(1000);
  Cluster c(test::clusterOptions(2, o));
  c.clock(0).advance(3'600'000);  // site 0's clock runs an hour fast
  execOk(c[0], "INSERT INTO t VALUES (1, 'fast', 1)");
  Transaction fast = test::allTransactions(c[0]).at(0);
  auto r = c.deliver(0, 1);
  INFO(describe(r));
  CHECK(r.applied == 1);
  CHECK_FALSE(r.warnings.empty());
  for (const auto& w : r.warnings) {
    CHECK(w.kind == ApplyWarning::Kind::kClockSkew);
    CHECK(w.message.find('\n') == std::string::npos);
  }
  // Causality still holds: the receiver's next write sorts after the fast one.
  execOk(c[1], "UPDATE t SET a = 'slow' WHERE id = 1");
  Transaction slow = test::transactionWithDot(c[1], Dot{c[1].id(), 1});
  CHECK(slow.hlc > fast.hlc);
  auto back = c.deliver(1, 0);
  CHECK(back.conflicts.empty());
  CHECK(tableContents(c[0], "t") == std::vector<Row>{{Int(1), Txt("slow"), Int(1)}});

  // Within the bound: no warning.
  Cluster d(test::clusterOptions(2, o));
  d.clock(0).advance(500);
  execOk(d[0], "INSERT INTO t VALUES (1, 'x', 1)");
  CHECK(d.deliver(0, 1).warnings.empty());
}

TEST_CASE("changesSince sends exactly what the peer lacks, from every origin, in canonical order",
          "[core][causality][changes]") {
  Cluster c(test::clusterOptions(3));
  c.clock(1).advance(5);
  c.clock(2).advance(10);
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 1)");
  execOk(c[1], "INSERT INTO t VALUES (2, 'b', 2)");
  execOk(c[2], "INSERT INTO t VALUES (3, 'c', 3)");
  c.clock(0).advance(20);
  execOk(c[0], "INSERT INTO t VALUES (4, 'd', 4)");
  c.deliver(1, 0);
  c.deliver(2, 0);
  REQUIRE(c[0].vector().value().total() == 4);

  VersionVector peer;
  peer.set(c[0].id(), 1);
  peer.set(c[2].id(), 1);
  auto sent = test::changesOk(c[0], peer);
  INFO(test::describe(sent));
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].dot == Dot{c[1].id(), 1});
  CHECK(sent[1].dot == Dot{c[0].id(), 2});

  auto all = test::allTransactions(c[0]);
  INFO(test::describe(all));
  REQUIRE(all.size() == 4);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].stamp() < all[i].stamp());
  CHECK(test::changesOk(c[0], c[0].vector().value()).empty());

  // A peer ahead of us on some origin gets nothing of that origin.
  VersionVector ahead = c[0].vector().value();
  ahead.set(c[1].id(), 99);
  CHECK(test::changesOk(c[0], ahead).empty());
}

TEST_CASE("concurrent writes that collide on a UNIQUE column neither abort the sync nor diverge",
          "[core][causality][constraints]") {
  ClusterOptions o;
  o.schema = "CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE)";
  o.tracked = {"u"};
  Cluster c(test::clusterOptions(2, o));
  execOk(c[0], "INSERT INTO u VALUES (1, 'a'), (2, 'b')");
  c.deliver(0, 1);
  c.clock(1).advance(10);
  SECTION("two updates to the same value") {
    execOk(c[0], "UPDATE u SET email = 'z' WHERE id = 1");
    execOk(c[1], "UPDATE u SET email = 'z' WHERE id = 2");
  }
  SECTION("two inserts with the same value") {
    execOk(c[0], "INSERT INTO u VALUES (3, 'q')");
    execOk(c[1], "INSERT INTO u VALUES (4, 'q')");
  }
  auto [atB, atA] = c.syncPair(0, 1);
  INFO("at B: " << describe(atB) << "at A: " << describe(atA));
  CHECK(atA.conflicts.size() + atB.conflicts.size() > 0);
  requireSameContents(c[0], c[1], "u");
  CHECK(c[0].vector().value() == c[1].vector().value());
}

TEST_CASE("per-cell causality survives closing and reopening file-backed sites", "[core][causality][persist]") {
  test::TempDir dir;
  ManualClock clockA, clockB;
  test::FixedIdSource idsA(test::testSiteId(1)), idsB(test::testSiteId(2));
  auto lww = resolvers::lwwEverywhere();
  auto create = [&](const std::string& file, const char* name, test::FixedIdSource& ids, ManualClock& clock) {
    auto r = Site::create(dir.file(file), CreateOptions{name, &ids, test::testClusterId()}, SiteOptions{&clock, lww});
    REQUIRE_OK(r);
    execOk(**r, "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b)");
    REQUIRE_OK((*r)->track("t"));
    return std::move(r).value();
  };
  auto open = [&](const std::string& file, ManualClock& clock) {
    auto r = Site::open(dir.file(file), SiteOptions{&clock, lww});
    REQUIRE_OK(r);
    return std::move(r).value();
  };
  auto a = create("a.db", "A", idsA, clockA);
  auto b = create("b.db", "B", idsB, clockB);
  execOk(*a, "INSERT INTO t VALUES (1, 'base', 0)");
  test::transfer(*a, *b);
  b.reset();
  b = open("b.db", clockB);

  clockA.advance(10);
  clockB.advance(20);
  execOk(*a, "UPDATE t SET a = 'A' WHERE id = 1");
  execOk(*b, "UPDATE t SET a = 'B' WHERE id = 1");
  a.reset();
  a = open("a.db", clockA);
  auto atA = test::transfer(*b, *a);
  INFO("at A: " << describe(atA));
  CHECK(countKind(atA, ConflictKind::kCell) == 1);
  a.reset();
  a = open("a.db", clockA);
  auto atB = test::transfer(*a, *b);
  INFO("at B: " << describe(atB));
  CHECK(countKind(atB, ConflictKind::kCell) == 1);

  b.reset();
  b = open("b.db", clockB);
  execOk(*b, "UPDATE t SET a = 'after' WHERE id = 1");
  auto sequential = test::transfer(*b, *a);
  INFO("sequential: " << describe(sequential));
  CHECK(sequential.conflicts.empty());
  std::vector<Row> expected{{Int(1), Txt("after"), Int(0)}};
  CHECK(tableContents(*a, "t") == expected);
  CHECK(tableContents(*b, "t") == expected);
}

}  // namespace parley

namespace parley {
namespace {

// Each held transaction's log body, as a peer would be sent it.
std::vector<std::string> logBodies(const Site& site) {
  std::vector<std::string> out;
  REQUIRE_OK(site.replication().forEachChangeSince(VersionVector{},
                                                   [&](const Dot&, Hlc, std::string_view body) {
                                                     out.emplace_back(body);
                                                     return Status::ok();
                                                   }));
  return out;
}

TEST_CASE("applyEncoded keeps the received bytes as log bodies and folds like apply", "[core][causality]") {
  Cluster c(test::clusterOptions(3));
  execOk(c[0], "INSERT INTO t VALUES (1, 'x', 1), (2, 'y', 2)");
  execOk(c[0], "UPDATE t SET a = 'z' WHERE id = 2");
  execOk(c[0], "DELETE FROM t WHERE id = 1");
  std::vector<std::string> sent = logBodies(c[0]);
  std::vector<Transaction> decoded;
  for (const auto& b : sent) decoded.push_back(decodeTransaction(b).value());
  std::vector<std::string_view> views(sent.begin(), sent.end());

  SECTION("bodies that do not match the transactions one to one are refused, and nothing is applied") {
    auto r = c[1].replication().applyEncoded(decoded, std::span(views).first(views.size() - 1));
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(c[1].vector().value().empty());
  }
  SECTION("the log holds the received bytes; the rows equal those of apply()") {
    // Handed over newest first: the engine sorts them, and each must keep its own bytes.
    std::reverse(decoded.begin(), decoded.end());
    std::reverse(views.begin(), views.end());
    auto encoded = c[1].replication().applyEncoded(decoded, views);
    REQUIRE_OK(encoded);
    CHECK(encoded->applied == decoded.size());
    REQUIRE_OK(c[2].replication().apply(decoded));
    CHECK(logBodies(c[1]) == sent);
    CHECK(tableContents(c[1], "t") == tableContents(c[2], "t"));
    CHECK(tableContents(c[1], "t") == tableContents(c[0], "t"));
  }
}

}  // namespace
}  // namespace parley
