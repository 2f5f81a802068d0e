// The relay through NATS JetStream (parley/sync/relay.hpp) against real nats-server processes
// on loopback ports: convergence, causal holding, signatures, restarts of sites and of the
// server, acknowledgements, and a site that fell past the stream's retention.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/sync/in_process.hpp"
#include "parley/sync/relay.hpp"
#include "parley/txn_codec.hpp"
#include "relay_acks.hpp"
#include "relay_mac.hpp"
#include "relay_nats.hpp"
#include "support/nats_server.hpp"
#include "support/sites.hpp"

namespace parley {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::NatsServer;

const char* kSecret = "9f3c1e7a5b2d4f6081a3c5e7092b4d6f8a1c3e5709b2d4f6a8c0e2f4b6d8a0c2";

SystemClock& clock() {
  static SystemClock c;
  return c;
}
SiteOptions siteOptions() { return {&clock(), resolvers::standard(), std::chrono::minutes(1)}; }

struct TempDir {
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "parley-relay-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

// Waits until `done` holds, checking every 20 ms; false after `timeout`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Sites of one cluster in files under a directory, each with its own relay when running.
class Cluster {
 public:
  Cluster(const fs::path& dir, std::string url, int sites, sync::RelayLimits limits = {})
      : dir_(dir), url_(std::move(url)), limits_(limits) {
    RandomIdSource ids;
    auto first = Site::create(path(0), {"s0", &ids, {}}, siteOptions());
    REQUIRE_OK(first);
    REQUIRE_OK((*first)->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"));
    REQUIRE_OK((*first)->track("t"));
    sites_.push_back(std::move(*first));
    for (int i = 1; i < sites; ++i) {
      auto s = sites_[0]->clone(path(i), {"s" + std::to_string(i), &ids, {}}, siteOptions());
      REQUIRE_OK(s);
      sites_.push_back(std::move(*s));
    }
    relays_.resize(sites_.size());
  }

  std::string path(int i) const { return (dir_ / ("s" + std::to_string(i) + ".db")).string(); }
  Site& site(int i) { return *sites_[i]; }
  sync::Relay& relay(int i) { return *relays_[i]; }

  sync::RelayOptions options(std::string secret = kSecret) const {
    sync::RelayOptions o;
    o.servers = {url_};
    o.secret = std::move(secret);
    o.limits = limits_;
    o.poll = 10ms;
    o.ackInterval = 100ms;
    o.fetchWait = 200ms;
    o.fetchBatch = fetchBatch;
    return o;
  }
  Result<std::unique_ptr<sync::Relay>> startRelay(int i, std::string secret = kSecret) {
    std::string p = path(i);
    auto o = options(std::move(secret));
    o.siteFile = p;
    return sync::Relay::start([p] { return Site::open(p, siteOptions()); }, std::move(o));
  }
  void start(int i) {
    auto r = startRelay(i);
    REQUIRE_OK(r);
    relays_[i] = std::move(*r);
  }
  void stop(int i) { relays_[i].reset(); }
  void startAll() {
    for (std::size_t i = 0; i < sites_.size(); ++i) start(static_cast<int>(i));
  }
  // Closes site `i`'s file (its relay stopped first), and opens it again.
  void close(int i) { sites_[i].reset(); }
  void reopen(int i) {
    auto s = Site::open(path(i), siteOptions());
    REQUIRE_OK(s);
    sites_[i] = std::move(*s);
  }

  void write(int i, int id) {
    REQUIRE_OK(site(i).exec("INSERT INTO t VALUES (?1, ?2)", {Value::integer(id), Value::text("from s" + std::to_string(i))}));
  }
  // Every site holds what every site wrote, with equal digests.
  bool converged() {
    auto v0 = site(0).vector();
    auto d0 = site(0).replication().digests();
    if (!v0 || !d0) return false;
    for (std::size_t i = 1; i < sites_.size(); ++i) {
      auto v = sites_[i]->vector();
      auto d = sites_[i]->replication().digests();
      if (!v || !d || *v != *v0 || *d != *d0) return false;
    }
    return true;
  }
  int fetchBatch = 256;  // RelayOptions::fetchBatch of the relays started from now on

  std::string logOf(int i) {
    for (auto& line : relays_[i]->takeLog()) logs_[i] += line + "\n";
    return logs_[i];
  }

 private:
  fs::path dir_;
  std::string url_;
  sync::RelayLimits limits_;
  std::vector<std::unique_ptr<Site>> sites_;
  std::vector<std::unique_ptr<sync::Relay>> relays_;
  std::map<int, std::string> logs_;
};

std::int64_t rows(Site& s) {
  auto r = s.exec("SELECT count(*) FROM t");
  REQUIRE_OK(r);
  return r->rows[0][0].asInteger();
}

// Publishes `t`'s log body to the cluster's stream as a site would, signed with `secret`.
void publishRaw(const std::string& url, const Site& site, const Transaction& t, const std::string& body,
                const std::string& secret, const std::string& msgId) {
  sync::RelayOptions o;
  o.servers = {url};
  o.secret = secret;
  sync::relay::Names names(site.clusterId());
  auto client = sync::relay::Client::connect(o, names, "test", [](std::string) {});
  REQUIRE_OK(client);
  sync::relay::Signer signer(secret, site.clusterId());
  std::string subject = names.subjectOf(t.dot.site), fp = site.replication().schemaFingerprint();
  natsMsg* m = nullptr;
  REQUIRE(natsMsg_Create(&m, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())) == NATS_OK);
  sync::relay::Message msg(m);
  natsMsgHeader_Set(m, "Parley-Mac", signer.sign({subject, msgId, fp, body}).c_str());
  natsMsgHeader_Set(m, "Parley-Schema", fp.c_str());
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msgId.c_str();
  REQUIRE(js_PublishMsg(nullptr, (*client)->js(), m, &po, nullptr) == NATS_OK);
}

// The encoded log body of each of `site`'s transactions that `since` lacks.
std::vector<std::pair<Transaction, std::string>> bodies(const Site& site, const VersionVector& since) {
  std::vector<std::pair<Transaction, std::string>> out;
  REQUIRE_OK(
      site.replication().forEachChangeSince(since, [&](const Dot&, Hlc, std::string_view body) {
        out.emplace_back(*decodeTransaction(body), std::string(body));
        return Status::ok();
      }));
  return out;
}

TEST_CASE("an acknowledgement round-trips in binary, a changed byte or another key is refused, and the text form is read",
          "[sync][relay]") {
  SiteId cluster = *SiteId::fromHex("00112233445566778899aabbccddeeff");
  sync::relay::Signer signer(kSecret, cluster);
  sync::relay::Acknowledgement ack;
  SiteId a = *SiteId::fromHex("0a000000000000000000000000000001"), b = *SiteId::fromHex("0b000000000000000000000000000002");
  ack.vector.set(a, 3);
  ack.vector.set(b, 300000);
  ack.forgotten = {*SiteId::fromHex("0c000000000000000000000000000003")};
  std::string value = sync::relay::encodeAcknowledgement(signer, a.hex(), ack);
  CHECK(value.size() < 3 + 64 + 2 * 34);  // shorter than the text form's entries alone
  sync::relay::Acknowledgement out;
  REQUIRE(sync::relay::decodeAcknowledgement(signer, a.hex(), value, out) == sync::relay::AckCheck::kOk);
  CHECK(out.vector == ack.vector);
  CHECK(out.forgotten == ack.forgotten);
  CHECK(sync::relay::decodeAcknowledgement(signer, b.hex(), value, out) == sync::relay::AckCheck::kForged);
  std::string changed = value;
  changed.back() ^= 1;
  CHECK(sync::relay::decodeAcknowledgement(signer, a.hex(), changed, out) == sync::relay::AckCheck::kForged);
  sync::relay::Signer other("0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", cluster);
  std::string truncated = sync::relay::encodeAcknowledgement(other, a.hex(), ack);
  truncated.resize(truncated.size() - 1);
  CHECK(sync::relay::decodeAcknowledgement(other, a.hex(), truncated, out) != sync::relay::AckCheck::kOk);
  std::string token = commitToken(ack.vector), gone = ack.forgotten[0].hex();
  std::string text = signer.sign({a.hex(), token, gone}) + "\n" + token + "\n" + gone;
  REQUIRE(sync::relay::decodeAcknowledgement(signer, a.hex(), text, out) == sync::relay::AckCheck::kOk);
  CHECK(out.vector == ack.vector);
  CHECK(out.forgotten == ack.forgotten);
}

TEST_CASE("three sites converge through one NATS server, each transaction applied once", "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 3);
  c.startAll();
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 10; ++k) c.write(i, i * 100 + k);
  REQUIRE(eventually([&] { return c.converged(); }));
  CHECK(rows(c.site(2)) == 30);
  for (int i = 0; i < 3; ++i) {
    CHECK(c.relay(i).stats().published == 10);
    CHECK(c.relay(i).stats().applied == 20);
  }
}

// Repeats each pull request of `site`'s consumer (seen on the consumer's NEXT subject) with the
// same reply inbox, asking for `batch` messages more: replies to pulls the consumer did not make,
// as the replies to its own pulls that come after it stopped waiting for them (under load).
class PullEcho {
 public:
  PullEcho(const std::string& url, const Site& site, int batch)
      : echo_(fmt::format(R"({{"batch":{},"expires":2000000000}})", batch)) {
    natsConnection* nc = nullptr;
    REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
    nc_.reset(nc);
    sync::relay::Names names(site.clusterId());
    next_ = fmt::format("$JS.API.CONSUMER.MSG.NEXT.{}.{}", names.stream, sync::relay::Names::durableOf(site.id()));
    natsSubscription* sub = nullptr;
    REQUIRE(natsConnection_Subscribe(&sub, nc, next_.c_str(), &PullEcho::onPull, this) == NATS_OK);
    sub_.reset(sub);
    REQUIRE(natsConnection_Flush(nc) == NATS_OK);
  }
  ~PullEcho() { sub_.reset(); }
  int echoed() const { return echoed_; }

 private:
  static void onPull(natsConnection* nc, natsSubscription*, natsMsg* m, void* self) {
    auto* e = static_cast<PullEcho*>(self);
    std::string body(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    if (body != e->echo_ && natsMsg_GetReply(m) &&
        natsConnection_PublishRequestString(nc, e->next_.c_str(), natsMsg_GetReply(m), e->echo_.c_str()) == NATS_OK)
      ++e->echoed_;
    natsMsg_Destroy(m);
  }

  std::string echo_, next_;
  std::atomic<int> echoed_{0};
  sync::relay::Connection nc_;
  sync::relay::Subscription sub_;
};

TEST_CASE("a consumer reads replies to pulls it did not make, and applies each transaction once",
          "[sync][relay][nats]") {
  // Replies that outnumber what a pull asked for: libnats 3.4.1's natsSubscription_Fetch wrote
  // them past the end of its message array (a heap corruption, seen at 100 sites and 400
  // writes/s in one process); the relay no longer uses it.
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 2);
  c.fetchBatch = 4;
  c.startAll();
  PullEcho echo(server.url(), c.site(1), 3);
  for (int round = 0; round < 8; ++round) {
    for (int k = 0; k < 5; ++k) c.write(0, round * 10 + k);
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(eventually([&] { return c.converged(); }));
  CHECK(echo.echoed() > 0);
  CHECK(rows(c.site(1)) == 40);
  CHECK(c.relay(1).stats().applied == 40);
  CHECK(c.relay(1).stats().duplicates == 0);
}

TEST_CASE("a transaction that arrives before its causal context is held, then applied after it",
          "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 3);
  c.start(2);  // only site 2 is on the relay; the others' transactions are published by hand
  c.write(0, 1);
  REQUIRE_OK(sync::syncInProcess(c.site(0), c.site(1)));
  REQUIRE_OK(c.site(1).exec("UPDATE t SET v = 'seen at s1' WHERE id = 1"));
  auto a = bodies(c.site(0), {});
  VersionVector fromA;
  fromA.set(c.site(0).id(), 1);
  auto b = bodies(c.site(1), fromA);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  publishRaw(server.url(), c.site(1), b[0].first, b[0].second, kSecret, sync::relay::Names::msgId(b[0].first.dot));
  REQUIRE(eventually([&] { return c.relay(2).stats().held == 1; }));
  CHECK(rows(c.site(2)) == 0);
  publishRaw(server.url(), c.site(0), a[0].first, a[0].second, kSecret, sync::relay::Names::msgId(a[0].first.dot));
  REQUIRE(eventually([&] { return c.relay(2).stats().applied == 2; }));
  auto v = c.site(2).exec("SELECT v FROM t WHERE id = 1");
  REQUIRE_OK(v);
  CHECK(v->rows[0][0].asText() == "seen at s1");
  CHECK(c.relay(2).stats().held == 0);
}

TEST_CASE("a message not signed with the cluster secret is never applied", "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 2);
  c.start(1);
  c.write(0, 1);
  auto a = bodies(c.site(0), {});
  std::string other = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
  publishRaw(server.url(), c.site(0), a[0].first, a[0].second, other, "forged-1");
  REQUIRE(eventually([&] { return c.relay(1).stats().forged == 1; }));
  CHECK(rows(c.site(1)) == 0);
  CHECK(c.logOf(1).find("signature does not verify") != std::string::npos);
  publishRaw(server.url(), c.site(0), a[0].first, a[0].second, kSecret, sync::relay::Names::msgId(a[0].first.dot));
  REQUIRE(eventually([&] { return rows(c.site(1)) == 1; }));
}

TEST_CASE("a site with another secret refuses to start on the relay", "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 2);
  c.start(0);
  auto r = c.startRelay(1, "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.status().message(), Catch::Contains("another cluster secret"));
}

TEST_CASE("nothing is lost or applied twice across a site's restart and the server's", "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 2);
  c.startAll();
  for (int k = 0; k < 5; ++k) c.write(1, k);
  REQUIRE(eventually([&] { return c.converged(); }));
  c.stop(0);
  for (int k = 5; k < 10; ++k) c.write(1, k);
  for (int k = 100; k < 103; ++k) c.write(0, k);
  c.start(0);
  REQUIRE(eventually([&] { return c.converged(); }));
  CHECK(c.relay(0).stats().applied == 5);  // only what was written while it was away
  CHECK(c.relay(0).stats().published == 3);
  server.stop();
  for (int k = 10; k < 15; ++k) c.write(1, k);
  c.write(0, 103);
  std::this_thread::sleep_for(500ms);
  server.start();
  REQUIRE(eventually([&] { return c.converged(); }, 20s));
  CHECK(rows(c.site(0)) == 19);
  CHECK(c.relay(0).stats().applied == 10);
  CHECK(c.logOf(0).find("reconnected") != std::string::npos);
  // A crash: the server ends nobody's waiting pull request (a graceful stop answers each), so
  // each consumer asks anew at the reconnect, not once its heartbeats are overdue (11 s) or it
  // expires (30 s).
  server.crash();
  server.start();
  for (int k = 15; k < 20; ++k) c.write(1, k);
  REQUIRE(eventually([&] { return c.converged(); }, 8s));
  CHECK(rows(c.site(0)) == 24);
  CHECK(c.relay(0).stats().applied == 15);
}

TEST_CASE("acknowledgements through the relay make transactions final", "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 3);
  c.startAll();
  c.write(0, 1);
  auto held = c.site(0).vector();
  REQUIRE_OK(held);
  Dot dot{c.site(0).id(), held->get(c.site(0).id())};
  bool final2 = eventually([&] {
    REQUIRE_OK(c.site(2).vector());  // decision() alone reads what the connection last saw
    auto d = c.site(2).decision(dot);
    return d && d->final;
  });
  REQUIRE(final2);
  REQUIRE(eventually([&] {
    REQUIRE_OK(c.site(0).vector());
    auto d = c.site(0).decision(dot);
    return d && d->final;
  }));
}

TEST_CASE("forget travels through the relay, and compaction goes on without the forgotten site",
          "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 3);
  c.startAll();
  c.write(0, 1);
  c.write(2, 2);
  REQUIRE(eventually([&] { return c.converged(); }));
  c.stop(2);  // gone for good
  c.write(1, 3);
  REQUIRE_OK(c.site(0).replication().forget(c.site(2).id()));
  REQUIRE(eventually([&] {
    auto gone = c.site(1).replication().forgotten();
    return gone && gone->size() == 1 && gone->front() == c.site(2).id();
  }));
  REQUIRE(eventually([&] {
    auto dropped = c.site(1).replication().compact();
    return dropped && *dropped > 0;
  }));
}

TEST_CASE("a site that fell past the stream's retention is told so, with the remedy", "[sync][relay][nats]") {
  TempDir dir;
  NatsServer server(dir.path / "nats");
  sync::RelayLimits shortLived;
  shortLived.maxAge = std::chrono::seconds(1);
  Cluster c(dir.path, server.url(), 2, shortLived);
  c.startAll();
  c.stop(1);
  c.write(0, 1);
  std::this_thread::sleep_for(2500ms);  // the stream drops it
  c.write(0, 2);
  c.start(1);
  bool told = eventually([&] { return c.logOf(1).find("fell past the stream's retention") != std::string::npos; }, 20s);
  INFO(c.logOf(1));
  INFO("held " << c.relay(1).stats().held << ", applied " << c.relay(1).stats().applied);
  REQUIRE(told);
  CHECK(c.logOf(1).find("clone this site anew") != std::string::npos);
  CHECK(rows(c.site(1)) == 0);  // held, not applied out of order
  CHECK(c.relay(1).stats().held == 1);
}

TEST_CASE("a site restored from an older copy reads the stream again from the position its file kept",
          "[sync][relay][nats]") {
  // The restored file lacks transactions its durable consumer has passed, and their origin
  // writes nothing more: no held transaction shows what is missing.
  TempDir dir;
  NatsServer server(dir.path / "nats");
  Cluster c(dir.path, server.url(), 2);
  c.startAll();
  for (int k = 0; k < 5; ++k) c.write(0, k);
  REQUIRE(eventually([&] { return c.converged(); }));
  std::string old = (dir.path / "s1-old.db").string();
  // The relay writes its position after the apply; wait for the one past the last apply.
  sync::relay::Names names(c.site(1).clusterId());
  REQUIRE(eventually([&] {
    auto p = c.site(1).replication().position(names.stream);
    return p && *p && **p >= 5;
  }));
  REQUIRE_OK(c.site(1).backup(old));
  for (int k = 5; k < 10; ++k) c.write(0, k);
  REQUIRE(eventually([&] { return c.converged(); }));
  c.stop(1);
  c.close(1);
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(c.path(1) + suffix);
  fs::copy_file(old, c.path(1));
  c.reopen(1);
  CHECK(rows(c.site(1)) == 5);
  c.start(1);
  bool caughtUp = eventually([&] { return c.converged(); }, 5s);
  INFO(c.logOf(1));
  REQUIRE(caughtUp);
  CHECK(rows(c.site(1)) == 10);
  CHECK(c.logOf(1).find("reading the stream again from sequence") != std::string::npos);
}

}  // namespace
}  // namespace parley
