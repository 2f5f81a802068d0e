// The relay's use of the NATS C client (libnats): owning handles, errors as Status, the names of
// a cluster's stream, subjects, consumers and bucket, and the connection with its stream and
// bucket made ready. Internal to sync/ (relay.hpp is the public side).
#pragma once

#include <nats/nats.h>

#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>

#include "parley/crdt/site_id.hpp"
#include "parley/status.hpp"
#include "parley/sync/relay.hpp"

namespace parley::sync::relay {

template <auto Destroy>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    if (p) Destroy(p);
  }
};
using Options = std::unique_ptr<natsOptions, Deleter<natsOptions_Destroy>>;
using Connection = std::unique_ptr<natsConnection, Deleter<natsConnection_Destroy>>;
using JetStream = std::unique_ptr<jsCtx, Deleter<jsCtx_Destroy>>;
using Subscription = std::unique_ptr<natsSubscription, Deleter<natsSubscription_Destroy>>;
using Message = std::unique_ptr<natsMsg, Deleter<natsMsg_Destroy>>;
using KeyValue = std::unique_ptr<kvStore, Deleter<kvStore_Destroy>>;
using Watcher = std::unique_ptr<kvWatcher, Deleter<kvWatcher_Destroy>>;
using Entry = std::unique_ptr<kvEntry, Deleter<kvEntry_Destroy>>;
using StreamInfo = std::unique_ptr<jsStreamInfo, Deleter<jsStreamInfo_Destroy>>;
using ConsumerInfo = std::unique_ptr<jsConsumerInfo, Deleter<jsConsumerInfo_Destroy>>;

// kIOError "WHAT: <the client's text> (JetStream error N)"; ok for NATS_OK.
Status fromNats(natsStatus s, std::string_view what, jsErrCode jerr = static_cast<jsErrCode>(0));

// What a cluster's relay objects are called.
struct Names {
  explicit Names(const SiteId& cluster);
  std::string stream;  // PARLEY_<cluster hex>
  std::string bucket;  // PARLEY_ACKS_<cluster hex>
  std::string all;     // parley.<cluster hex>.txn.*
  std::string subjectOf(const SiteId& origin) const;   // parley.<cluster hex>.txn.<origin hex>
  static std::string durableOf(const SiteId& site);    // site_<site hex>
  static std::string msgId(const Dot& dot);            // <origin hex>:<seq>
};

// One connection to NATS with JetStream, the cluster's stream and its bucket.
class Client {
 public:
  using Log = std::function<void(std::string)>;
  // Connects (reconnecting for ever afterwards, logging each disconnect and reconnect),
  // creates the stream and the bucket when missing.
  static Result<std::unique_ptr<Client>> connect(const RelayOptions& options, const Names& names,
                                                 std::string_view connectionName, Log log);
  ~Client();
  jsCtx* js() const { return js_.get(); }
  kvStore* kv() const { return kv_.get(); }
  natsConnection* connection() const { return nc_.get(); }
  const Names& names() const { return names_; }
  // The stream's first and last sequence now.
  Result<std::pair<std::uint64_t, std::uint64_t>> streamRange() const;
  // The first message of `subject` in the stream at or after stream sequence `from`; nullptr
  // if there is none.
  Result<Message> firstOf(const std::string& subject, std::uint64_t from = 1) const;
  // How many times the connection was lost and made again so far (requests waiting at the
  // server may have been lost with it).
  std::uint64_t reconnects() const;
  // A line saying what the stream keeps ("7 days, 1024 MiB").
  const std::string& retention() const { return retention_; }

  struct Events;  // what the connection's event handlers log to; freed by the last of them

 private:
  Client(const Names& names, Log log);
  Status open(const RelayOptions& options, std::string_view connectionName);
  Status ensureStream(const RelayLimits& limits);
  Status ensureBucket();
  int replicas(const RelayLimits& limits) const;

  Names names_;
  Log log_;
  Events* events_ = nullptr;
  Options opts_;
  Connection nc_;
  JetStream js_;
  KeyValue kv_;
  std::string retention_;
  int streamReplicas_ = 1;
};

}  // namespace parley::sync::relay
