// The relay's parts (relay.hpp): the state its threads share, the publisher (own transactions
// out, acknowledgements both ways) and the consumer (everyone's transactions in, applied when
// causally ready). Internal to sync/.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "parley/sync/relay.hpp"
#include "parley/transaction.hpp"
#include "relay_acks.hpp"
#include "relay_mac.hpp"
#include "relay_nats.hpp"

namespace parley::sync {

// The key of the bucket entry that holds sign({"secret-check"}): the first site sets it, and
// every later one must verify it (same secret) before it starts.
inline constexpr const char* kSecretCheckKey = "secret-check";
// Headers of each transaction message, besides Nats-Msg-Id.
inline constexpr const char* kMacHeader = "Parley-Mac";
inline constexpr const char* kSchemaHeader = "Parley-Schema";

// The site, through one connection that the relay's threads share, each call under a
// lock. One connection, not one per thread: a Site re-reads its whole state after another
// connection committed, so with two, every apply of the consumer made the publisher re-read
// the site at its next look for new commits (every `poll`), and every acknowledgement the
// publisher recorded made the consumer re-read it; and the two waited for each other's write
// lock. Holding the lock, a thread makes no NATS call.
class SharedSite {
 public:
  explicit SharedSite(std::unique_ptr<Site> site) : site_(std::move(site)) {}
  template <class F>
  auto with(F&& f) {
    std::lock_guard lock(mutex_);
    return f(*site_);
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<Site> site_;
};

struct Relay::Impl {
  Impl(RelayOptions o, const Site& opened);
  void say(std::string line);

  RelayOptions options;
  SiteId me, cluster;
  relay::Names names;
  relay::Signer signer;
  std::unique_ptr<relay::Client> client;
  std::atomic<bool> stopping{false};
  struct Counters {
    std::atomic<std::uint64_t> published{0}, applied{0}, duplicates{0}, held{0}, forged{0}, acknowledgements{0};
  } counters;
  std::mutex logMutex;
  std::vector<std::string> log;
  std::unique_ptr<SharedSite> site;
  std::thread publisherThread, recorderThread, consumerThread;
};

// Wakes when something writes to a site file's write-ahead log (a commit of any connection or
// process), through inotify: an idle site then does nothing, and a commit is published as it
// lands. Inactive where the file cannot be watched.
class CommitWatch {
 public:
  explicit CommitWatch(std::string siteFile);
  ~CommitWatch();
  CommitWatch(const CommitWatch&) = delete;
  CommitWatch& operator=(const CommitWatch&) = delete;
  bool active() const { return wd_ >= 0; }
  // Waits up to `timeout` for a write; true if one came (or the watch had to be made anew).
  bool wait(std::chrono::milliseconds timeout);

 private:
  void add();
  std::string wal_;
  int fd_ = -1, wd_ = -1;
};

// Publishes the site's own transactions and its acknowledgement (run, on one thread); records
// the others' (record, on another).
//
// Acknowledgements cost every site a read of every site's value, so a site puts its own only
// when its vector or its forgotten sites changed, and at most once per ackInterval, or per
// (sites heard of) / ackBudget seconds when that is longer: the whole cluster puts about
// ackBudget values a second, whatever its size, instead of one per site per second (at 200
// sites, 200 values of 200 entries a second reached each of 200 sites). The others' values are
// recorded (Site::acknowledge: a row of S entries each, and every row read again by the next
// settle) as often, only those that changed.
class Publisher {
 public:
  explicit Publisher(Relay::Impl& relay) : r_(relay) {}
  // Where publishing resumes: the highest own seq the stream or this site's bucket entry has.
  Status init();
  void run();
  void record();

 private:
  struct Own {
    Dot dot;
    std::string body;
  };
  Status publishNew();
  Status publish(const Dot& dot, std::string_view body, const std::string& fingerprint);
  Status putAcknowledgement(const VersionVector& v);
  std::chrono::steady_clock::duration ackInterval() const;
  void takeEntry(kvEntry* e);
  void recordAcknowledgements();
  void once(const std::string& key, const std::string& line);

  Relay::Impl& r_;
  // The publishing thread's.
  std::uint64_t published_ = 0;
  std::optional<relay::Acknowledgement> acked_;  // the last acknowledgement this site put
  std::chrono::steady_clock::time_point lastPut_{};
  bool ackDue_ = true;  // something committed since the last acknowledgement was considered
  bool more_ = false;   // the last look published a full round: more wait
  // The recording thread's (heard_: how many sites it recorded, read by both).
  std::atomic<std::size_t> heard_{0};
  std::map<SiteId, std::string> incoming_;     // bucket values not yet recorded, by site
  std::map<SiteId, std::string> recorded_;     // the last value recorded, by site
  std::map<SiteId, std::vector<SiteId>> forgottenBy_;  // the forgotten sites each site said it knows
  std::chrono::steady_clock::time_point lastRecord_{};
  std::set<std::string> said_;
};

// Fetches every origin's transactions, applies them when causally ready, acknowledges each
// message once its apply committed.
class Consumer {
 public:
  explicit Consumer(Relay::Impl& relay) : r_(relay) {}
  // Creates the durable consumer if missing and binds to it.
  Status subscribe(std::optional<std::uint64_t> startAt = std::nullopt);
  void run();

 private:
  struct Held {
    Transaction t;
    std::string body;
    relay::Message msg;
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point retryAt{};
    std::vector<std::uint64_t> seqs;  // the stream sequences of its messages taken
  };
  Status pull(std::vector<relay::Message>& out, bool& idle);
  bool ask();
  bool waiting(std::chrono::steady_clock::time_point now) const;
  void answer(natsMsg* m, const char* body);
  void take(relay::Message msg);
  Status applyReady();
  void applyOneByOne(const std::vector<Dot>& batch);
  void settle(const Dot& dot);
  void applied(const Dot& dot);
  void notePosition();
  void checkStuck();
  void releaseAll();
  void once(const std::string& key, const std::string& line);

  Relay::Impl& r_;
  // The consumer's pulls go through a plain subscription on an inbox of its own, not
  // natsSubscription_Fetch: libnats 3.4.1's fetch writes past the end of its message array when
  // a fetch starts with more than half a batch of messages left over from an earlier pull (they
  // arrive late under load), a heap corruption (fixed upstream in nats.c 3.10, PR 749).
  // Each pull request is answered on a subject of its own under the inbox (INBOX.N), so that a
  // status (expired, refused, heartbeat) is told apart from one about an earlier request.
  relay::Subscription sub_;
  std::string inbox_, next_;  // the inbox, and the consumer's $JS.API.CONSUMER.MSG.NEXT subject
  struct Request {  // the pull request asked last
    bool open = false;
    std::string reply;             // INBOX.N
    std::uint64_t number = 0;      // N
    std::uint64_t reconnects = 0;  // the connection's reconnects when it was sent
    std::size_t owed = 0;          // messages it may still deliver
    std::chrono::steady_clock::time_point ends, heard;  // taken as lost after; its last message or heartbeat
  } request_;
  std::string fingerprint_;  // this site's schema fingerprint, read once per pull
  std::map<Dot, Held> held_;
  // The site's position in the stream (Replication::notePosition), kept in its file: the
  // highest stream sequence taken, and those taken but not yet applied (held, or waiting for
  // the schema); the position is never past one of those.
  std::uint64_t highest_ = 0;
  std::map<std::uint64_t, Dot> unapplied_;
  std::optional<std::uint64_t> noted_;
  std::chrono::steady_clock::time_point lastStuckCheck_{};
  std::set<std::string> said_;
};

}  // namespace parley::sync
