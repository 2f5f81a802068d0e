// The relay's publishing side: this site's own transactions to the stream, its
// acknowledgement to the bucket, and the other sites' acknowledgements from it.
#include <fmt/format.h>

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "parley/replication.hpp"
#include "parley/sync/session.hpp"
#include "parley/txn_codec.hpp"
#include "relay_impl.hpp"

namespace parley::sync {
namespace {

using Clock = std::chrono::steady_clock;

// Own transactions read from the log per round, so that memory stays bounded after a long
// time offline; the rest follow in the next round.
constexpr std::size_t kPublishRound = 1024;

}  // namespace

void Publisher::once(const std::string& key, const std::string& line) {
  if (said_.insert(key).second) r_.say(line);
}

Status Publisher::init() {
  std::string subject = r_.names.subjectOf(r_.me);
  natsMsg* m = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ::natsStatus s = js_GetLastMsg(&m, r_.client->js(), r_.names.stream.c_str(), subject.c_str(), nullptr, &jerr);
  relay::Message last(m);
  if (s == NATS_OK) {
    std::string_view body(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    if (auto t = decodeTransaction(body)) published_ = t->dot.seq;
  } else if (s != NATS_NOT_FOUND && jerr != JSNoMessageFoundErr) {
    return relay::fromNats(s, "reading this site's last published transaction", jerr);
  }
  kvEntry* e = nullptr;
  std::string key = r_.me.hex();
  if (kvStore_Get(&e, r_.client->kv(), key.c_str()) == NATS_OK) {
    relay::Entry entry(e);
    relay::Acknowledgement ack;
    std::string_view value(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e)));
    if (relay::decodeAcknowledgement(r_.signer, key, value, ack) == relay::AckCheck::kOk)
      published_ = std::max(published_, ack.vector.get(r_.me));
  }
  return Status::ok();
}

Status Publisher::publish(const Dot& dot, std::string_view body, const std::string& fingerprint) {
  std::string subject = r_.names.subjectOf(dot.site), id = relay::Names::msgId(dot);
  std::string mac = r_.signer.sign({subject, id, fingerprint, body});
  natsMsg* raw = nullptr;
  if (auto st = relay::fromNats(natsMsg_Create(&raw, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())),
                                "message");
      !st)
    return st;
  relay::Message msg(raw);
  natsMsgHeader_Set(raw, kMacHeader, mac.c_str());
  natsMsgHeader_Set(raw, kSchemaHeader, fingerprint.c_str());
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ::natsStatus s = js_PublishMsg(&ack, r_.client->js(), raw, &po, &jerr);
  if (ack) jsPubAck_Destroy(ack);
  return relay::fromNats(s, fmt::format("publishing {}", dot.toString()), jerr);
}

Status Publisher::publishNew() {
  // What to publish is copied out under the site's lock; the NATS round trips happen outside it.
  std::vector<Own> own;
  std::string fingerprint;
  bool compacted = false, full = false;
  auto v = r_.site->with([&](Site& site) -> Result<VersionVector> {
    auto held = site.vector();
    if (!held || held->get(r_.me) <= published_) return held;
    fingerprint = site.replication().schemaFingerprint();
    VersionVector since = *held;
    since.set(r_.me, published_);
    Status st = site.replication().forEachChangeSince(
        since, [&](const Dot& dot, Hlc, std::string_view body) -> Status {
          if (dot.site != r_.me) return Status::ok();
          own.push_back({dot, std::string(body)});
          full = own.size() >= kPublishRound;
          return full ? Status::busy("the round is full") : Status::ok();  // stops the walk
        });
    if (st.code() == Status::Code::kNotFound) compacted = true;  // every member already holds them
    else if (!st && !full) return st;
    return held;
  });
  if (!v) return v.status();
  more_ = full;
  if (!acked_ || acked_->vector != *v) ackDue_ = true;
  for (const auto& o : own) {
    if (auto st = publish(o.dot, o.body, fingerprint); !st) return st;
    published_ = o.dot.seq;
    ++r_.counters.published;
  }
  std::uint64_t mine = v->get(r_.me);
  if (compacted) published_ = std::max(published_, mine);
  if (published_ >= mine && ackDue_ && Clock::now() - lastPut_ >= ackInterval()) {
    Status st = putAcknowledgement(*v);
    if (st) ackDue_ = false;
    return st;
  }
  return Status::ok();
}

Clock::duration Publisher::ackInterval() const {
  auto spread = std::chrono::duration<double>(static_cast<double>(heard_.load() + 1) / r_.options.ackBudget);
  return std::max<Clock::duration>(r_.options.ackInterval, std::chrono::duration_cast<Clock::duration>(spread));
}

Status Publisher::putAcknowledgement(const VersionVector& v) {
  auto forgotten = r_.site->with([](Site& site) { return site.replication().forgotten(); });
  if (!forgotten) return forgotten.status();
  relay::Acknowledgement ack{v, std::move(*forgotten)};
  if (acked_ && acked_->vector == ack.vector && acked_->forgotten == ack.forgotten) return Status::ok();
  std::string key = r_.me.hex(), value = relay::encodeAcknowledgement(r_.signer, key, ack);
  std::uint64_t rev = 0;
  if (auto st = relay::fromNats(kvStore_Put(&rev, r_.client->kv(), key.c_str(), value.data(), static_cast<int>(value.size())),
                                "publishing this site's acknowledgement");
      !st)
    return st;
  acked_ = std::move(ack);
  lastPut_ = Clock::now();
  return Status::ok();
}

void Publisher::takeEntry(kvEntry* e) {
  std::string key = kvEntry_Key(e);
  if (key == kSecretCheckKey || key == r_.me.hex() || kvEntry_Operation(e) != kvOp_Put) return;
  auto id = SiteId::fromHex(key);
  if (!id) return;
  std::string value(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e)));
  auto seen = recorded_.find(*id);
  if (seen != recorded_.end() && seen->second == value) incoming_.erase(*id);  // nothing new
  else incoming_[*id] = std::move(value);
}

void Publisher::recordAcknowledgements() {
  std::vector<std::pair<SiteId, relay::Acknowledgement>> heard;
  for (auto& [site, value] : incoming_) {
    std::string key = site.hex();
    relay::Acknowledgement ack;
    auto check = relay::decodeAcknowledgement(r_.signer, key, value, ack);
    recorded_[site] = std::move(value);
    if (check == relay::AckCheck::kForged) {
      ++r_.counters.forged;
      once("forged-ack:" + key, fmt::format("relay: refused the acknowledgement of {}: its signature does not verify "
                                             "(written without the cluster secret)",
                                             site.shortHex()));
    }
    if (check == relay::AckCheck::kOk) heard.emplace_back(site, std::move(ack));
  }
  incoming_.clear();
  heard_ = recorded_.size();
  lastRecord_ = Clock::now();
  std::size_t recorded = r_.site->with([&](Site& site) -> std::size_t {
    std::vector<std::pair<SiteId, VersionVector>> acks;
    for (auto& [from, ack] : heard) {
      auto& known = forgottenBy_[from];
      Status st = known == ack.forgotten ? site.replication().checkNotForgotten(from)
                                         : takeForgotten(site, from, ack.forgotten);
      if (!st) {
        once("forgotten:" + from.hex(), "relay: " + st.message());
        continue;
      }
      known = ack.forgotten;
      acks.emplace_back(from, std::move(ack.vector));
    }
    if (auto st = site.replication().acknowledge(acks); !st) {
      once("ack:" + st.message(), "relay: recording acknowledgements failed: " + st.message());
      return 0;
    }
    return acks.size();
  });
  r_.counters.acknowledgements += recorded;
}

// Looks for new own commits when the site's write-ahead log was written (every `poll` where it
// cannot be watched), and every few seconds in any case; puts the acknowledgement when due.
void Publisher::run() {
  CommitWatch watch(r_.options.siteFile);
  constexpr auto kLookAnyway = std::chrono::seconds(5);
  auto anyway = Clock::now();
  // Writes to the log are looked at once they came, at most once per `poll` (each apply of
  // this relay's consumer is one too). A write comes before the commit it belongs to is visible
  // (its index, in shared memory, is updated last, and that is not watched): after looking for
  // one, look once more a poll later.
  bool written = false;
  Clock::time_point lastLook{};
  std::optional<Clock::time_point> again;
  Status last = Status::ok();
  for (bool look = true; !r_.stopping;) {
    auto now = Clock::now();
    if (now - anyway >= kLookAnyway) {  // a write the watch missed, a forget (not in the vector)
      look = ackDue_ = true;
      anyway = now;
    }
    if (again && now >= *again) look = true, again.reset();
    if (written && now - lastLook >= r_.options.poll) {
      look = true;
      written = false;
      again = now + r_.options.poll;
    }
    if (look) {
      Status st = publishNew();
      if (!st && st.message() != last.message()) r_.say("relay: " + st.message() + "; retrying");
      else if (st && !last) r_.say("relay: publishing again");
      last = st;
      lastLook = now;
      now = Clock::now();
    }
    Clock::time_point due = watch.active() ? anyway + kLookAnyway : now + r_.options.poll;
    if (!last) due = std::min(due, now + std::chrono::milliseconds(250));  // try again soon
    else if (more_) due = now;  // the rest of a full round
    else if (ackDue_) due = std::min(due, std::max(lastPut_ + ackInterval(), now + r_.options.poll));
    if (again) due = std::min(due, *again);
    if (written) due = std::min(due, lastLook + r_.options.poll);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - now);
    wait = std::clamp(wait, std::chrono::milliseconds(0), r_.options.fetchWait);
    bool wrote = false;
    if (watch.active()) wrote = watch.wait(wait);
    else std::this_thread::sleep_for(wait);
    if (wrote) written = ackDue_ = true;
    look = !wrote && Clock::now() >= due;
  }
}

// Records the other sites' acknowledgements as the bucket's watcher brings them, at most once
// per ackInterval.
void Publisher::record() {
  kvWatcher* raw = nullptr;
  if (auto st = relay::fromNats(kvStore_WatchAll(&raw, r_.client->kv(), nullptr), "watching acknowledgements"); !st)
    r_.say("relay: " + st.message());
  relay::Watcher watcher(raw);
  while (!r_.stopping) {
    auto wait = r_.options.fetchWait;
    if (!incoming_.empty())
      wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(lastRecord_ + ackInterval() - Clock::now()),
                        std::chrono::milliseconds(1), wait);
    kvEntry* e = nullptr;
    if (!watcher) {
      std::this_thread::sleep_for(wait);
    } else if (kvWatcher_Next(&e, watcher.get(), wait.count()) == NATS_OK && e) {
      relay::Entry entry(e);
      takeEntry(e);
      for (int i = 0; i < 1024 && kvWatcher_Next(&e, watcher.get(), 1) == NATS_OK; ++i) {
        relay::Entry more(e);
        if (e) takeEntry(e);
      }
    }
    if (!incoming_.empty() && Clock::now() - lastRecord_ >= ackInterval()) recordAcknowledgements();
  }
  if (watcher) kvWatcher_Stop(watcher.get());
}

CommitWatch::CommitWatch(std::string siteFile) {
  if (siteFile.empty()) return;
  wal_ = siteFile + "-wal";
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  add();
}

CommitWatch::~CommitWatch() {
  if (fd_ >= 0) ::close(fd_);
}

void CommitWatch::add() {
  if (fd_ >= 0) wd_ = inotify_add_watch(fd_, wal_.c_str(), IN_MODIFY);
}

bool CommitWatch::wait(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  alignas(inotify_event) char buffer[4096];
  bool gone = false;
  for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;)
    for (char* at = buffer; at < buffer + n; at += sizeof(inotify_event) + reinterpret_cast<inotify_event*>(at)->len)
      if (reinterpret_cast<inotify_event*>(at)->mask & IN_IGNORED) gone = true;
  if (gone) add();  // the log was removed (and made anew): watch the new one
  return true;
}

}  // namespace parley::sync
