// Causal contexts as encoded (only what grew since the origin's previous transaction) and as
// the fold needs them (whole): what a body carries, and that a receiver completes it right from
// its cache, its log after reopening, its checkpoints, and compacted history
// (core/storage/causal_context.hpp).
#include <fmt/format.h>

#include "causal_context.hpp"
#include "parley/replication.hpp"
#include "parley/txn_codec.hpp"
#include "support/fww_file_sites.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

using test::applyOk;
using testing::Cluster;
using test::execOk;
using test::Int;
using test::tableContents;
using test::Txt;

// `site`'s log bodies `peer` lacks, decoded as a peer receives them.
struct Encoded {
  std::vector<Transaction> txns;
  std::vector<std::string> bodies;
};

Encoded lacking(const Site& site, const VersionVector& peer) {
  Encoded out;
  REQUIRE_OK(
      site.replication().forEachChangeSince(peer, [&](const Dot&, Hlc, std::string_view body) {
        out.txns.push_back(decodeTransaction(body).value());
        out.bodies.emplace_back(body);
        return Status::ok();
      }));
  return out;
}

// Applies the first `n` of what `from` has and `to` lacks, from their encoded bodies.
ApplyResult deliverFirst(const Site& from, Site& to, std::size_t n) {
  Encoded in = lacking(from, to.vector().value());
  n = std::min(n, in.txns.size());
  std::vector<std::string_view> views(in.bodies.begin(), in.bodies.begin() + static_cast<std::ptrdiff_t>(n));
  auto r = to.replication().applyEncoded(std::span(in.txns).first(n), views);
  REQUIRE_OK(r);
  return std::move(r).value();
}

const Transaction& withDot(const std::vector<Transaction>& txns, const Dot& dot) {
  for (const auto& t : txns)
    if (t.dot == dot) return t;
  FAIL("no transaction " << dot.toString());
  throw;
}

VersionVector vectorOf(std::initializer_list<std::pair<const Site*, std::uint64_t>> entries) {
  VersionVector v;
  for (const auto& [site, seq] : entries) v.set(site->id(), seq);
  return v;
}

TEST_CASE("a body carries only the context entries that grew since its origin's previous transaction",
          "[core][causality][context]") {
  Cluster c(test::clusterOptions(3));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 0)");
  c.deliver(0, 1);
  execOk(c[1], "INSERT INTO t VALUES (2, 'b', 0)");
  execOk(c[1], "UPDATE t SET a = 'b' WHERE id = 1");
  c.clock(0).advance(5);
  execOk(c[0], "UPDATE t SET b = 1 WHERE id = 1");
  c.deliver(0, 1);
  c.clock(1).advance(10);
  execOk(c[1], "UPDATE t SET b = 2 WHERE id = 2");

  Encoded sent = lacking(c[1], {});
  Dot b1{c[1].id(), 1}, b2{c[1].id(), 2}, b3{c[1].id(), 3};
  CHECK(withDot(sent.txns, b1).context == vectorOf({{&c[0], 1}}));
  CHECK(withDot(sent.txns, b2).context.empty());  // nothing grew; its own entry is implied
  CHECK(withDot(sent.txns, b3).context == vectorOf({{&c[0], 2}}));

  auto whole = test::changesOk(c[1], {});
  CHECK(withDot(whole, b1).context == vectorOf({{&c[0], 1}}));
  CHECK(withDot(whole, b2).context == vectorOf({{&c[0], 1}, {&c[1], 1}}));
  CHECK(withDot(whole, b3).context == vectorOf({{&c[0], 2}, {&c[1], 2}}));

  SECTION("a receiver completes them: what B saw supersedes, what it did not is concurrent") {
    c.deliver(1, 2);  // B's, and A's through B, one batch
    auto again = test::changesOk(c[2], {});
    for (const auto& t : whole) CHECK(withDot(again, t.dot).context == t.context);
  }
  SECTION("a whole context (the format-2 encoding) applies the same") {
    std::vector<Transaction> full = test::changesOk(c[1], {});
    auto r = applyOk(c[2], full);
    CHECK(r.conflicts.empty());
    CHECK(tableContents(c[2], "t") == tableContents(c[1], "t"));
    auto again = test::changesOk(c[2], {});
    for (const auto& t : whole) CHECK(withDot(again, t.dot).context == t.context);
  }
}

TEST_CASE("a body of transaction format 2 (whole context) decodes to the same transaction",
          "[core][causality][context]") {
  Cluster c(test::clusterOptions(2));
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 0)");
  c.deliver(0, 1);
  execOk(c[1], "UPDATE t SET a = 'b' WHERE id = 1");
  Transaction t = test::transactionWithDot(c[1], {c[1].id(), 1});
  std::string body = encodeTransaction(t);
  REQUIRE(body[0] == static_cast<char>(kTransactionFormat));
  // Formats 2 and 3 have no hash chain: the 32 bytes after the seq and the HLC.
  std::size_t at = 1;
  while (static_cast<unsigned char>(body[at]) & 0x80) ++at;
  body.erase(at + 1 + 8, 32);
  for (char format : {2, 3}) {
    body[0] = format;
    Transaction old = decodeTransaction(body).value();
    CHECK(old.context == t.context);
    CHECK(old.dot == t.dot);
    CHECK(old.rows.size() == t.rows.size());
    CHECK(old.hash.empty());
    CHECK(old.prev.empty());
  }
}

// The tests below run on three file-backed fww sites (test::FwwFileSites), where a write
// supersedes only what its transaction's whole context covers: a receiver that used the encoded
// entries alone would see B's later write as concurrent with A's and keep A's value.

// Stored contexts in site i's log (rows whose context is stored whole).
std::int64_t storedContexts(test::FwwFileSites& c, std::size_t i) {
  return test::queryInt(c[i], "SELECT count(*) FROM parley_log WHERE ctx IS NOT NULL");
}

// A:1 at every site; then at B, B:1 (its context {A:1} grew) and B:2, which carries nothing
// but covers A:1 and overwrites its cell.
void writeAThenB(test::FwwFileSites& c) {
  execOk(c[0], "INSERT INTO t VALUES (1, 'a', 0)");
  deliverFirst(c[0], c[1], 1);
  deliverFirst(c[0], c[2], 1);
  c.clock(1).advance(10);
  execOk(c[1], "INSERT INTO t VALUES (2, 'x', 0)");
  execOk(c[1], "UPDATE t SET a = 'b' WHERE id = 1");
  REQUIRE(lacking(c[1], c[2].vector().value()).txns.back().context.empty());
}

TEST_CASE("a receiver completes encoded contexts from its log after reopening and from compacted history",
          "[core][causality][context][persist]") {
  test::FwwFileSites c;
  writeAThenB(c);

  SECTION("its predecessor applied before a reopen") {
    deliverFirst(c[1], c[2], 1);
    c.reopen(2);
    auto r = deliverFirst(c[1], c[2], 1);
    CHECK(r.conflicts.empty());
  }
  SECTION("its predecessor's context stored NULL, found by walking back to a checkpoint") {
    for (int i = 0; i < 300; ++i) execOk(c[1], "UPDATE t SET b = b + 1 WHERE id = 2");  // B:3..B:302
    execOk(c[1], "UPDATE t SET a = 'c' WHERE id = 1");                                 // B:303
    deliverFirst(c[1], c[2], 1);                       // B:1
    c.reopen(2);
    deliverFirst(c[1], c[2], 300);                     // B:2..B:301
    CHECK(storedContexts(c, 2) == 2);                   // B:1 (it grew) and the checkpoint B:256
    c.reopen(2);
    auto r = deliverFirst(c[1], c[2], 2);              // B:302 from B:256's, then B:303
    CHECK(r.conflicts.empty());
    CHECK(tableContents(c[2], "t") == tableContents(c[1], "t"));
  }
  SECTION("its predecessor compacted away") {
    deliverFirst(c[1], c[2], 1);
    VersionVector held = c[2].vector().value();  // A:1 and B:1: once every site holds them, C may drop them
    REQUIRE_OK(c[2].replication().acknowledge(c[0].id(), held));
    REQUIRE_OK(c[2].replication().acknowledge(c[1].id(), held));
    auto dropped = c[2].replication().compact();
    REQUIRE_OK(dropped);
    REQUIRE(*dropped == 2);
    c.reopen(2);
    auto r = deliverFirst(c[1], c[2], 1);
    CHECK(r.conflicts.empty());
  }
  CHECK(test::queryInt(c[2], "SELECT count(*) FROM t WHERE id = 1 AND a IN ('b', 'c')") == 1);
  CHECK(test::queryInt(c[2], "SELECT count(*) FROM parley_conflicts") == 0);
}

TEST_CASE("a late arrival re-folds transactions whose contexts the log stores NULL, after a reopen",
          "[core][causality][context][persist]") {
  // fww is order-sensitive: C's log is undone and folded again from A's late write on, and
  // each re-folded transaction of B needs its whole context back from the log.
  test::FwwFileSites c;
  writeAThenB(c);
  execOk(c[1], "UPDATE t SET a = 'c' WHERE id = 1");  // B:3 {}
  c.clock(0).advance(5);
  execOk(c[0], "UPDATE t SET b = 7 WHERE id = 1");    // A:2: it has not seen B, and sorts first
  deliverFirst(c[1], c[2], 3);
  c.reopen(2);
  auto r = deliverFirst(c[0], c[2], 1);
  CHECK(r.refolded == 3);
  CHECK(r.conflicts.empty());
  test::transfer(c[0], c[1]);
  test::transfer(c[1], c[0]);
  CHECK(tableContents(c[2], "t") == tableContents(c[0], "t"));
  CHECK(tableContents(c[1], "t") == tableContents(c[0], "t"));
  std::vector<Row> expected{{Int(1), Txt("c"), Int(7)}, {Int(2), Txt("x"), Int(0)}};
  CHECK(tableContents(c[2], "t") == expected);
}

TEST_CASE("a chain whose every transaction grows its context completes right past the shared vector",
          "[core][causality][context]") {
  // P (site 0) hears from each of 70 writers in turn and updates the writer's row after each:
  // every one of P's transactions carries one entry more than the last, so a receiver that
  // applies the chain in one call completes contexts through more than causal::kMaxAbove grown
  // entries (core/causal_context.hpp) and onto a new shared vector, twice, and hands out views
  // of it once it names more than causal::kCopiedContext sites. Each update must supersede its
  // writer's insert: a context missing that entry would make them concurrent (a conflict).
  constexpr std::size_t kWriters = 70, kP = 0, kR = 1;
  Cluster c(test::clusterOptions(kWriters + 2));
  for (std::size_t w = 2; w < kWriters + 2; ++w) {
    execOk(c[w], fmt::format("INSERT INTO t VALUES ({}, 'w', 0)", w));
    c.deliver(w, kP);
    c.deliver(w, kR);
    c.clock(kP).advance(1);
    execOk(c[kP], fmt::format("UPDATE t SET a = 'p' WHERE id = {}", w));
  }
  Encoded chain = lacking(c[kP], c[kR].vector().value());
  REQUIRE(chain.txns.size() == kWriters);
  CHECK(chain.txns.back().context.entries().size() == 1);  // the body carries what grew only
  auto r = deliverFirst(c[kP], c[kR], kWriters);
  CHECK(r.applied == kWriters);
  CHECK(r.conflicts.empty());
  static_assert(kWriters > causal::kMaxAbove * 2 && kWriters > causal::kCopiedContext);
  CHECK(tableContents(c[kR], "t") == tableContents(c[kP], "t"));
  CHECK(test::queryInt(c[kR], "SELECT count(*) FROM t WHERE a = 'p'") == static_cast<std::int64_t>(kWriters));
  // The log keeps each grown context whole: a re-read gives every transaction its full context.
  auto whole = test::changesOk(c[kP], {});
  auto received = test::changesOk(c[kR], {});
  for (const auto& t : whole)
    if (t.dot.site == c[kP].id()) CHECK(withDot(received, t.dot).context == t.context);
}

}  // namespace
}  // namespace parley
