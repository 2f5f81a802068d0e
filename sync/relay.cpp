// The relay's assembly: connecting, checking the secret, starting and stopping the threads.
#include <fmt/format.h>

#include <thread>

#include "relay_impl.hpp"

namespace parley::sync {
namespace {

// The first site of the cluster on the relay leaves a value only the secret's holders can
// make; every later one checks it, so a site with another secret refuses to start instead of
// refusing every message.
Status checkSecret(const Relay::Impl& r) {
  std::string expected = r.signer.sign({kSecretCheckKey});
  std::uint64_t rev = 0;
  if (kvStore_CreateString(&rev, r.client->kv(), kSecretCheckKey, expected.c_str()) == NATS_OK) return Status::ok();
  kvEntry* e = nullptr;
  if (auto st = relay::fromNats(kvStore_Get(&e, r.client->kv(), kSecretCheckKey), "reading the relay's secret check");
      !st)
    return st;
  relay::Entry entry(e);
  if (!r.signer.verify(kvEntry_ValueString(e), {kSecretCheckKey}))
    return Status::invalidArgument(fmt::format(
        "the relay's bucket {} was set up with another cluster secret: use the cluster's secret (the one its other "
        "sites use)",
        r.names.bucket));
  return Status::ok();
}

}  // namespace

Relay::Impl::Impl(RelayOptions o, const Site& opened)
    : options(std::move(o)), me(opened.id()), cluster(opened.clusterId()), names(cluster), signer(options.secret, cluster) {}

void Relay::Impl::say(std::string line) {
  std::lock_guard lock(logMutex);
  log.push_back(std::move(line));
}

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Relay::~Relay() { stop(); }

Result<std::unique_ptr<Relay>> Relay::start(const Opener& open, RelayOptions options) {
  if (options.secret.empty()) return Status::invalidArgument("the relay needs the cluster secret");
  if (options.fetchBatch < 1 || options.poll.count() < 1 || options.fetchWait.count() < 1 || !(options.ackBudget > 0))
    return Status::invalidArgument("relay: fetch batch, poll, fetch wait and acknowledgement budget must be positive");
  if (options.pullExpiry < std::chrono::milliseconds(100) || options.pullHeartbeat.count() < 0 ||
      options.pullHeartbeat * 2 > options.pullExpiry)
    return Status::invalidArgument("relay: the pull expiry must be at least 100 ms and twice the heartbeat");
  auto site = open();
  if (!site) return site.status();
  auto impl = std::make_unique<Impl>(std::move(options), **site);
  Impl* r = impl.get();
  auto client = relay::Client::connect(r->options, r->names, fmt::format("parley {}", (*site)->name()),
                                       [r](std::string line) { r->say(std::move(line)); });
  if (!client) return client.status().withContext("relay");
  r->client = std::move(*client);
  r->site = std::make_unique<SharedSite>(std::move(*site));
  auto publisher = std::make_shared<Publisher>(*r);
  auto consumer = std::make_shared<Consumer>(*r);
  auto ready = [&] {
    Status st = checkSecret(*r);
    if (st) st = publisher->init();
    if (st) st = consumer->subscribe();
    return st;
  };
  // A stream or bucket just created on a JetStream cluster answers once it has a leader: I/O
  // errors (timeouts) are tried again for a while; anything else is final.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (Status st = ready(); !st; st = ready()) {
    if (st.code() != Status::Code::kIOError || std::chrono::steady_clock::now() > deadline)
      return st.withContext("relay");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  r->say(fmt::format("relay: connected to NATS, stream {} (keeps {}), consumer {}", r->names.stream,
                     r->client->retention(), relay::Names::durableOf(r->me)));
  r->publisherThread = std::thread([publisher] { publisher->run(); });
  r->recorderThread = std::thread([publisher] { publisher->record(); });
  r->consumerThread = std::thread([consumer] { consumer->run(); });
  return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

std::vector<std::string> Relay::takeLog() {
  std::lock_guard lock(impl_->logMutex);
  return std::exchange(impl_->log, {});
}

RelayStats Relay::stats() const {
  const auto& c = impl_->counters;
  return {c.published, c.applied, c.duplicates, c.held, c.forged, c.acknowledgements};
}

void Relay::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->publisherThread.joinable()) impl_->publisherThread.join();
  if (impl_->recorderThread.joinable()) impl_->recorderThread.join();
  if (impl_->consumerThread.joinable()) impl_->consumerThread.join();
  impl_->client.reset();  // while the log it writes to lives
  impl_->site.reset();
}

}  // namespace parley::sync
