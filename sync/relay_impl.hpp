// The relay's parts (relay.hpp): the state both threads share, the publisher (own transactions
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
#include "relay_mac.hpp"
#include "relay_nats.hpp"

namespace parley::sync {

// The key of the bucket entry that holds sign({"secret-check"}): the first site sets it, and
// every later one must verify it (same secret) before it starts.
inline constexpr const char* kSecretCheckKey = "secret-check";
// Headers of each transaction message, besides Nats-Msg-Id.
inline constexpr const char* kMacHeader = "Parley-Mac";
inline constexpr const char* kSchemaHeader = "Parley-Schema";

struct Relay::Impl {
  Impl(RelayOptions o, const Site& site);
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
  std::thread publisherThread, consumerThread;
};

// Publishes the site's own transactions and its acknowledgement; records the others'.
class Publisher {
 public:
  Publisher(Relay::Impl& relay, std::unique_ptr<Site> site) : r_(relay), site_(std::move(site)) {}
  // Where publishing resumes: the highest own seq the stream or this site's bucket entry has.
  Status init();
  void run();

 private:
  Status publishNew();
  Status publish(const Dot& dot, std::string_view body);
  Status putAcknowledgement(const VersionVector& v);
  void takeEntry(kvEntry* e);
  void recordAcknowledgements();
  void once(const std::string& key, const std::string& line);

  Relay::Impl& r_;
  std::unique_ptr<Site> site_;
  std::uint64_t published_ = 0;
  std::optional<VersionVector> acked_;  // the last acknowledgement this site put
  std::chrono::steady_clock::time_point lastPut_{};
  std::map<SiteId, std::string> incoming_;     // bucket values not yet recorded, by site
  std::map<SiteId, std::string> forgottenBy_;  // the forgotten sites each site said it knows
  std::chrono::steady_clock::time_point lastRecord_{};
  std::set<std::string> said_;
};

// Fetches every origin's transactions, applies them when causally ready, acknowledges each
// message once its apply committed.
class Consumer {
 public:
  Consumer(Relay::Impl& relay, std::unique_ptr<Site> site) : r_(relay), site_(std::move(site)) {}
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
  };
  void take(relay::Message msg);
  Status applyReady();
  void applyOneByOne(const std::vector<Dot>& batch);
  void settle(const Dot& dot);
  void checkStuck();
  void releaseAll();
  void once(const std::string& key, const std::string& line);

  Relay::Impl& r_;
  std::unique_ptr<Site> site_;
  relay::Subscription sub_;
  std::map<Dot, Held> held_;
  std::chrono::steady_clock::time_point lastStuckCheck_{};
  std::set<std::string> said_;
};

}  // namespace parley::sync
