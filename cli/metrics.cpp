#include "metrics.hpp"

#include <kj/async-io.h>
#include <kj/compat/http.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "cli.hpp"
#include "parley/replication.hpp"

namespace parley::cli {
namespace {

// One family at a time: its HELP and TYPE lines, then its samples.
class Page {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    name_ = name;
  }
  using Labels = std::vector<std::pair<std::string, std::string>>;
  void sample(const Labels& labels, double value) {
    out_ += name_;
    if (!labels.empty()) {
      out_ += '{';
      for (std::size_t i = 0; i < labels.size(); ++i)
        out_ += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escaped(labels[i].second));
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  std::string take() { return std::move(out_); }

 private:
  static std::string escaped(std::string_view v) {
    std::string out;
    for (char c : v) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    return out;
  }
  std::string out_;
  std::string name_;
};

const char* const kStates[] = {"streaming", "connected", "retrying", "never connected"};

double seconds(std::uint64_t ms) { return static_cast<double>(ms) / 1000.0; }

// One known peer: what the site says (lag) and, for a --peer of this serve, its link.
struct Peer {
  std::optional<PeerStatus> status;
  const PeerSnapshot* link = nullptr;
  Page::Labels labels;
};

std::vector<Peer> peersOf(Site& site, const std::vector<PeerSnapshot>& links) {
  std::vector<Peer> out;
  std::unordered_map<SiteId, std::size_t, SiteIdHash> at;
  for (auto& p : take(site.replication().peers())) {
    at[p.site] = out.size();
    out.push_back({std::move(p), nullptr, {}});
  }
  for (const auto& l : links) {
    auto it = l.record.site ? at.find(*l.record.site) : at.end();
    if (it != at.end()) out[it->second].link = &l;
    else out.push_back({std::nullopt, &l, {}});
  }
  for (auto& p : out) {
    std::string name = p.link && !p.link->record.name.empty() ? p.link->record.name
                       : p.status && !p.status->name.empty()  ? p.status->name
                       : p.status                             ? p.status->site.shortHex()
                                                              : p.link->record.address;
    std::string id = p.status ? p.status->site.hex() : p.link->record.site ? p.link->record.site->hex() : "";
    p.labels = {{"peer", name}, {"site", id}};
  }
  return out;
}

void peerGauges(Page& page, Site& site, const std::vector<Peer>& peers, std::uint64_t nowMs) {
  page.family("parley_peer_lag_transactions", "gauge", "Transactions this site holds that the peer has not acknowledged.");
  for (const auto& p : peers)
    if (p.status) page.sample(p.labels, static_cast<double>(p.status->pending));
  page.family("parley_peer_lag_seconds", "gauge",
              "Age of the oldest transaction the peer has not acknowledged (0 when it holds everything).");
  for (const auto& p : peers)
    if (p.status) page.sample(p.labels, p.status->lagSeconds);
  page.family("parley_peer_last_sync_age_seconds", "gauge", "Seconds since the last successful sync with the peer.");
  for (const auto& p : peers)
    if (p.status && p.status->lastSyncMs) page.sample(p.labels, seconds(nowMs - std::min(nowMs, *p.status->lastSyncMs)));
  page.family("parley_peer_up", "gauge", "1 if serve is streaming from or syncing with the peer (--peer only).");
  for (const auto& p : peers)
    if (p.link) page.sample(p.labels, p.link->record.state == "streaming" || p.link->record.state == "connected");
  page.family("parley_peer_state", "gauge", "1 for the connection state serve has with the peer (--peer only).");
  for (const auto& p : peers) {
    if (!p.link) continue;
    for (const char* state : kStates) {
      auto labels = p.labels;
      labels.emplace_back("state", state);
      page.sample(labels, p.link->record.state == state);
    }
  }
  std::unordered_map<SiteId, std::uint64_t, SiteIdHash> ahead;
  for (const auto& r : take(site.replication().clockSkews())) ahead[r.origin] = r.aheadNowMs;
  page.family("parley_peer_clock_ahead_seconds", "gauge",
              "How far the peer's newest transactions are stamped ahead of this site's clock, once beyond the bound.");
  for (const auto& p : peers)
    if (p.status) page.sample(p.labels, seconds(ahead.count(p.status->site) ? ahead[p.status->site] : 0));
  std::unordered_map<SiteId, bool, SiteIdHash> diverged;
  for (const auto& d : take(site.replication().divergences())) diverged[d.peer] = true;
  page.family("parley_peer_diverged", "gauge",
              "1 if the last comparison with the peer found the same transactions but different data.");
  for (const auto& p : peers)
    if (p.status) page.sample(p.labels, diverged.count(p.status->site) ? 1 : 0);
}

void peerCounters(Page& page, const std::vector<Peer>& peers) {
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t PeerCounters::*field;
  };
  const Counter counters[] = {
      {"parley_syncs_total", "Full syncs serve ran with the peer since it started.", &PeerCounters::syncs},
      {"parley_syncs_failed_total", "Full syncs with the peer that failed since serve started.", &PeerCounters::syncsFailed},
      {"parley_stream_connections_total", "Live subscriptions to the peer made since serve started.",
       &PeerCounters::streamConnections},
      {"parley_peer_transactions_applied_total", "Transactions from the peer that serve applied since it started.",
       &PeerCounters::received},
  };
  for (const auto& c : counters) {
    page.family(c.name, "counter", c.help);
    for (const auto& p : peers)
      if (p.link) page.sample(p.labels, static_cast<double>(p.link->counters.*c.field));
  }
}

void siteMetrics(Page& page, Site& site) {
  VersionVector held = take(site.vector());
  std::uint64_t own = held.get(site.id()), others = 0;
  for (const auto& [origin, seq] : held.entries())
    if (origin != site.id()) others += seq;
  page.family("parley_transactions_committed_total", "counter", "Transactions committed at this site.");
  page.sample({}, static_cast<double>(own));
  page.family("parley_transactions_applied_total", "counter", "Other sites' transactions applied at this site.");
  page.sample({}, static_cast<double>(others));
  auto counts = take(site.replication().conflictCounts());
  page.family("parley_conflicts", "gauge",
              "Conflicts in the conflict log, by resolver (a re-fold after a late arrival can change them).");
  for (const auto& c : counts) page.sample({{"resolver", c.resolver}}, static_cast<double>(c.conflicts));
  page.family("parley_rejections", "gauge", "Rejected writes in the conflict log, by resolver.");
  for (const auto& c : counts) page.sample({{"resolver", c.resolver}}, static_cast<double>(c.rejected));
  auto [count, bytes] = take(site.replication().logSize());
  page.family("parley_log_transactions", "gauge", "Transactions held in the change log.");
  page.sample({}, static_cast<double>(count));
  page.family("parley_log_bytes", "gauge", "Bytes of encoded transactions held in the change log.");
  page.sample({}, static_cast<double>(bytes));
  page.family("parley_digest_mismatches", "gauge",
              "Peers holding the same transactions as this site with different data (divergence standing).");
  page.sample({}, static_cast<double>(take(site.replication().divergences()).size()));
}

}  // namespace

std::string metricsText(Site& site, const std::vector<PeerSnapshot>& links, std::uint64_t nowMs) {
  Page page;
  auto peers = peersOf(site, links);
  peerGauges(page, site, peers, nowMs);
  peerCounters(page, peers);
  siteMetrics(page, site);
  return page.take();
}

// The HTTP side: GET /metrics, 404 for any other path, 405 for any other method.
class MetricsService final : public kj::HttpService {
 public:
  MetricsService(const kj::HttpHeaderTable& table, Site& site, MetricsServer::Links& links)
      : table_(table), site_(site), links_(links) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url, const kj::HttpHeaders&, kj::AsyncInputStream&,
                            Response& response) override {
    std::string_view path(url.cStr());
    if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    if (path != "/metrics") return response.sendError(404, "Not Found", table_);
    if (method != kj::HttpMethod::GET && method != kj::HttpMethod::HEAD)
      return response.sendError(405, "Method Not Allowed", table_);
    std::string text;
    try {
      text = metricsText(site_, links_(), env().clock.nowMillis());
    } catch (const std::exception& e) {
      return response.sendError(500, "Internal Server Error", table_);
    }
    kj::HttpHeaders headers(table_);
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    auto body = response.send(200, "OK", headers, text.size());
    if (method == kj::HttpMethod::HEAD) return kj::READY_NOW;
    auto bytes = kj::heapString(text.data(), text.size());
    auto write = body->write(bytes.begin(), bytes.size());
    return write.attach(kj::mv(body), kj::mv(bytes));
  }

 private:
  const kj::HttpHeaderTable& table_;
  Site& site_;
  MetricsServer::Links& links_;
};

struct MetricsServer::Impl {
  std::string path, address;
  Links links;
  std::thread thread;
  std::atomic<int> port{0};
  std::mutex mutex;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stopper;  // guarded by mutex

  void run(std::promise<std::string>& ready) {
    try {
      auto site = openSite(path);
      auto io = kj::setupAsyncIo();
      auto where = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
      auto listener = where->listen();
      port = static_cast<int>(listener->getPort());
      kj::HttpHeaderTable table;
      MetricsService service(table, *site, links);
      kj::HttpServer server(io.provider->getTimer(), table, service);
      auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
      {
        std::lock_guard lock(mutex);
        stopper = kj::mv(stop.fulfiller);
      }
      ready.set_value("");  // from here on, `ready` is not touched again
      stop.promise.exclusiveJoin(server.listenHttp(*listener)).wait(io.waitScope);
    } catch (const kj::Exception& e) {
      std::lock_guard lock(mutex);
      if (!stopper) ready.set_value(e.getDescription().cStr());
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex);
      if (!stopper) ready.set_value(e.what());
    }
    std::lock_guard lock(mutex);
    stopper = nullptr;
  }
};

std::unique_ptr<MetricsServer> MetricsServer::start(const std::string& path, const std::string& address, Links links) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->address = address;
  impl->links = std::move(links);
  std::promise<std::string> ready;
  auto started = ready.get_future();
  impl->thread = std::thread([&impl = *impl, &ready] { impl.run(ready); });
  std::string failure = started.get();
  if (!failure.empty()) {
    impl->thread.join();
    if (auto call = failure.rfind("): "); call != std::string::npos) failure = failure.substr(call + 3);
    throw CliError(fmt::format("cannot serve metrics on {}: {}", address, failure));
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() { stop(); }
int MetricsServer::port() const { return impl_->port; }

void MetricsServer::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopper) impl_->stopper->fulfill();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace parley::cli
