#include "relay_nats.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>

namespace parley::sync::relay {

Status fromNats(::natsStatus s, std::string_view what, jsErrCode jerr) {
  if (s == NATS_OK) return Status::ok();
  std::string text = natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last && *last && text != last) text = fmt::format("{}: {}", text, last);
  if (jerr != 0) text += fmt::format(" (JetStream error {})", static_cast<int>(jerr));
  return Status::ioError(fmt::format("{}: {}", what, text));
}

namespace {

// "7 days", "2 hours", "90 s".
std::string duration(std::chrono::seconds s) {
  auto n = s.count();
  if (n >= 86400 && n % 86400 == 0) return fmt::format("{} day{}", n / 86400, n == 86400 ? "" : "s");
  if (n >= 3600 && n % 3600 == 0) return fmt::format("{} hour{}", n / 3600, n == 3600 ? "" : "s");
  if (n >= 60 && n % 60 == 0) return fmt::format("{} min", n / 60);
  return fmt::format("{} s", n);
}

}  // namespace

Names::Names(const SiteId& cluster)
    : stream("PARLEY_" + cluster.hex()),
      bucket("PARLEY_ACKS_" + cluster.hex()),
      all(fmt::format("parley.{}.txn.*", cluster.hex())) {}

std::string Names::subjectOf(const SiteId& origin) const {
  return all.substr(0, all.size() - 1) + origin.hex();
}
std::string Names::durableOf(const SiteId& site) { return "site_" + site.hex(); }
std::string Names::msgId(const Dot& dot) { return fmt::format("{}:{}", dot.site.hex(), dot.seq); }

// The client calls its handlers on a thread of its own, possibly after the Client is gone:
// they log through this, which the Client mutes as it closes and the closed handler (always
// the last) frees.
struct Client::Events {
  std::mutex mutex;
  Log log;
  std::atomic<std::uint64_t> reconnects{0};
  void say(std::string line) {
    std::lock_guard lock(mutex);
    if (log) log(std::move(line));
  }
  static void disconnected(natsConnection*, void* self) {
    static_cast<Events*>(self)->say("relay: disconnected from NATS; reconnecting");
  }
  static void reconnected(natsConnection* nc, void* self) {
    ++static_cast<Events*>(self)->reconnects;
    char url[256] = {0};
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    static_cast<Events*>(self)->say(fmt::format("relay: reconnected to NATS at {}", url));
  }
  static void closed(natsConnection*, void* self) { delete static_cast<Events*>(self); }
};

Client::Client(const Names& names, Log log) : names_(names), log_(std::move(log)) {}

Client::~Client() {
  kv_.reset();
  js_.reset();
  if (nc_) {
    {
      std::lock_guard lock(events_->mutex);
      events_->log = nullptr;
    }
    natsConnection_Close(nc_.get());  // its closed handler frees events_
  } else {
    delete events_;
  }
}

Result<std::unique_ptr<Client>> Client::connect(const RelayOptions& options, const Names& names,
                                                std::string_view connectionName, Log log) {
  std::unique_ptr<Client> c(new Client(names, std::move(log)));
  if (auto st = c->open(options, connectionName); !st) return st;
  // A JetStream cluster that has just started answers only once it has elected its leaders.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (Status st = Status::ok();; std::this_thread::sleep_for(std::chrono::milliseconds(250))) {
    st = c->ensureStream(options.limits);
    if (st) st = c->ensureBucket();
    if (st) return c;
    if (std::chrono::steady_clock::now() > deadline) return st;
  }
}

Status Client::open(const RelayOptions& options, std::string_view connectionName) {
  if (options.servers.empty()) return Status::invalidArgument("the relay needs at least one NATS server");
  natsOptions* raw = nullptr;
  if (auto st = fromNats(natsOptions_Create(&raw), "NATS options"); !st) return st;
  opts_.reset(raw);
  std::vector<const char*> urls;
  for (const auto& s : options.servers) urls.push_back(s.c_str());
  std::string name(connectionName);
  ::natsStatus s = natsOptions_SetServers(raw, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK) s = natsOptions_SetName(raw, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(raw, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(raw, 250);
  if (s == NATS_OK) s = natsOptions_SetTimeout(raw, 2000);
  events_ = new Events;
  events_->log = log_;
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(raw, &Events::disconnected, events_);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(raw, &Events::reconnected, events_);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(raw, &Events::closed, events_);
  if (s == NATS_OK && !options.credsFile.empty())
    s = natsOptions_SetUserCredentialsFromFiles(raw, options.credsFile.c_str(), nullptr);
  if (s == NATS_OK && !options.caFile.empty()) {
    s = natsOptions_SetSecure(raw, true);
    if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates(raw, options.caFile.c_str());
  }
  if (s == NATS_OK && !options.certFile.empty())
    s = natsOptions_LoadCertificatesChain(raw, options.certFile.c_str(), options.keyFile.c_str());
  if (auto st = fromNats(s, "NATS options"); !st) return st;
  natsConnection* nc = nullptr;
  if (auto st = fromNats(natsConnection_Connect(&nc, raw), fmt::format("cannot reach NATS at {}",
                                                                        fmt::join(options.servers, ","))); !st)
    return st;
  nc_.reset(nc);
  jsCtx* js = nullptr;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  if (auto st = fromNats(natsConnection_JetStream(&js, nc, &jo), "JetStream"); !st) return st;
  js_.reset(js);
  return Status::ok();
}

int Client::replicas(const RelayLimits& limits) const {
  if (limits.replicas > 0) return limits.replicas;
  char** servers = nullptr;
  int count = 0;
  if (natsConnection_GetServers(nc_.get(), &servers, &count) != NATS_OK) return 1;
  std::set<std::string> distinct;
  for (int i = 0; i < count; ++i) {
    distinct.insert(servers[i]);
    std::free(servers[i]);
  }
  std::free(servers);
  return distinct.size() >= 3 ? 3 : 1;
}

Status Client::ensureStream(const RelayLimits& limits) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ::natsStatus s = js_GetStreamInfo(&si, js_.get(), names_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {names_.all.c_str()};
    cfg.Name = names_.stream.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Retention = js_LimitsPolicy;
    cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(limits.maxAge).count();
    cfg.MaxBytes = limits.maxBytes;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas(limits);
    cfg.AllowDirect = true;
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, js_.get(), &cfg, nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr)  // another site made it meanwhile
      s = js_GetStreamInfo(&si, js_.get(), names_.stream.c_str(), nullptr, &jerr);
    else if (s == NATS_OK)
      log_(fmt::format("relay: created stream {} ({} replicas)", names_.stream, cfg.Replicas));
  }
  if (auto st = fromNats(s, fmt::format("stream {}", names_.stream), jerr); !st) return st;
  StreamInfo info(si);
  streamReplicas_ = static_cast<int>(info->Config->Replicas);
  auto age = std::chrono::nanoseconds(info->Config->MaxAge);
  retention_ = fmt::format("{}, {}", age.count() > 0 ? duration(std::chrono::duration_cast<std::chrono::seconds>(age))
                                                     : std::string("no age limit"),
                           info->Config->MaxBytes > 0 ? fmt::format("{} MiB", info->Config->MaxBytes >> 20)
                                                      : std::string("no size limit"));
  return Status::ok();
}

Status Client::ensureBucket() {
  kvStore* kv = nullptr;
  ::natsStatus s = js_KeyValue(&kv, js_.get(), names_.bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = names_.bucket.c_str();
    cfg.History = 1;
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = streamReplicas_;
    s = js_CreateKeyValue(&kv, js_.get(), &cfg);
  }
  if (auto st = fromNats(s, fmt::format("bucket {}", names_.bucket)); !st) return st;
  kv_.reset(kv);
  return Status::ok();
}

std::uint64_t Client::reconnects() const { return events_ ? events_->reconnects.load() : 0; }

Result<std::pair<std::uint64_t, std::uint64_t>> Client::streamRange() const {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (auto st = fromNats(js_GetStreamInfo(&si, js_.get(), names_.stream.c_str(), nullptr, &jerr),
                         fmt::format("stream {}", names_.stream), jerr);
      !st)
    return st;
  StreamInfo info(si);
  return std::pair{info->State.FirstSeq, info->State.LastSeq};
}

Result<Message> Client::firstOf(const std::string& subject, std::uint64_t from) const {
  jsDirectGetMsgOptions o;
  jsDirectGetMsgOptions_Init(&o);
  o.Sequence = from;
  o.NextBySubject = subject.c_str();
  natsMsg* m = nullptr;
  ::natsStatus s = js_DirectGetMsg(&m, js_.get(), names_.stream.c_str(), nullptr, &o);
  if (s == NATS_NOT_FOUND) return Message{};
  if (auto st = fromNats(s, fmt::format("reading {} from the stream", subject)); !st) return st;
  return Message(m);
}

}  // namespace parley::sync::relay
