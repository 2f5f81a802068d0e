// The relay's consuming side: every origin's transactions from the stream, verified, held until
// causally ready, applied, and only then acknowledged to the stream.
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "parley/replication.hpp"
#include "parley/txn_codec.hpp"
#include "relay_impl.hpp"

namespace parley::sync {
namespace {

using Clock = std::chrono::steady_clock;

std::string header(natsMsg* m, const char* key) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(m, key, &value) != NATS_OK || !value) return {};
  return value;
}

// A pull request's status reply (no body, a Status header: 404 no messages, 408 request expired,
// 409 the consumer refused it, 100 a heartbeat); empty for a message of the stream.
std::string statusOf(natsMsg* m) {
  if (natsMsg_GetDataLength(m) > 0) return {};
  return header(m, "Status");
}

// Whether `t` can be applied to a site holding `v`: already held, or next of its origin with
// its causal context held.
bool ready(const Transaction& t, const VersionVector& v) {
  std::uint64_t have = v.get(t.dot.site);
  if (t.dot.seq <= have) return true;
  if (t.dot.seq != have + 1) return false;
  for (const auto& [site, seq] : t.context.entries())
    if (site != t.dot.site && v.get(site) < seq) return false;
  return true;
}

}  // namespace

void Consumer::once(const std::string& key, const std::string& line) {
  if (said_.insert(key).second) r_.say(line);
}

Status Consumer::subscribe(std::optional<std::uint64_t> startAt) {
  // The held messages' handles answer the consumer that delivered them, which a rewind
  // replaces: drop them (the stream delivers them again after the ack wait).
  for (auto& [dot, h] : held_) h.msg.reset();
  sub_.reset();
  request_ = {};
  std::string durable = relay::Names::durableOf(r_.me);
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  ::natsStatus s = NATS_NOT_FOUND;
  if (!startAt) s = js_GetConsumerInfo(&ci, r_.client->js(), r_.names.stream.c_str(), durable.c_str(), nullptr, &jerr);
  else js_DeleteConsumer(r_.client->js(), r_.names.stream.c_str(), durable.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(r_.options.ackWait).count();
    cc.MaxDeliver = -1;
    cc.MaxAckPending = 65536;
    cc.FilterSubject = r_.names.all.c_str();
    cc.DeliverPolicy = startAt ? js_DeliverByStartSequence : js_DeliverAll;
    cc.OptStartSeq = startAt.value_or(0);
    jerr = static_cast<jsErrCode>(0);
    s = js_AddConsumer(&ci, r_.client->js(), r_.names.stream.c_str(), &cc, nullptr, &jerr);
  }
  std::uint64_t delivered = ci && !startAt ? ci->Delivered.Stream : 0;
  if (ci) jsConsumerInfo_Destroy(ci);
  if (auto st = relay::fromNats(s, fmt::format("consumer {}", durable), jerr); !st) return st;
  if (delivered > 0) {
    // The consumer delivered past what the site file says it applied: the file is older than
    // the consumer (restored from a copy), or messages were held when the site stopped. Read
    // the stream again from the file's position (what is already held is ignored).
    auto stored = r_.site->with([&](Site& site) { return site.replication().position(r_.names.stream); });
    if (!stored) return stored.status();
    if (*stored && delivered > **stored) {
      r_.say(fmt::format("relay: this site's file has applied the stream up to sequence {}, its consumer delivered up "
                         "to {}; reading the stream again from sequence {}",
                         **stored, delivered, **stored + 1));
      return subscribe(**stored + 1);
    }
  }
  natsInbox* inbox = nullptr;
  if (auto st = relay::fromNats(natsInbox_Create(&inbox), "an inbox for the consumer"); !st) return st;
  inbox_ = inbox;
  natsInbox_Destroy(inbox);
  next_ = fmt::format("$JS.API.CONSUMER.MSG.NEXT.{}.{}", r_.names.stream, durable);
  natsSubscription* sub = nullptr;
  s = natsConnection_SubscribeSync(&sub, r_.client->connection(), (inbox_ + ".*").c_str());
  if (auto st = relay::fromNats(s, fmt::format("subscribing to {}", r_.names.stream)); !st) return st;
  sub_.reset(sub);
  return Status::ok();
}

bool Consumer::ask() {
  auto expiry = r_.options.pullExpiry, heartbeat = r_.options.pullHeartbeat;
  auto ns = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
  std::string body = heartbeat.count() > 0 ? fmt::format(R"({{"batch":{},"expires":{},"idle_heartbeat":{}}})",
                                                         r_.options.fetchBatch, ns(expiry), ns(heartbeat))
                                           : fmt::format(R"({{"batch":{},"expires":{}}})", r_.options.fetchBatch, ns(expiry));
  auto now = Clock::now();
  request_.reply = fmt::format("{}.{}", inbox_, ++request_.number);
  request_.reconnects = r_.client->reconnects();
  request_.owed = static_cast<std::size_t>(r_.options.fetchBatch);
  // The server ends it at `expiry` with a 408; past a second more, it is taken as lost.
  request_.ends = now + expiry + std::chrono::seconds(1);
  request_.heard = now;
  request_.open = natsConnection_PublishRequest(r_.client->connection(), next_.c_str(), request_.reply.c_str(),
                                                body.data(), static_cast<int>(body.size())) == NATS_OK;
  return request_.open;
}

// Acknowledges (+ACK), refuses for now (-NAK) or for good (+TERM) a message of the stream.
void Consumer::answer(natsMsg* m, const char* body) {
  const char* reply = natsMsg_GetReply(m);
  if (reply && *reply) natsConnection_PublishString(r_.client->connection(), reply, body);
}

// Whether the pull request asked last is waiting at the server still, as far as this site can
// tell: not over (a whole batch delivered, expired, refused), not past its expiry, its
// heartbeats not overdue, and the connection not made anew since it was sent.
bool Consumer::waiting(Clock::time_point now) const {
  if (!request_.open || now >= request_.ends || r_.client->reconnects() != request_.reconnects) return false;
  auto heartbeat = r_.options.pullHeartbeat;
  if (heartbeat.count() == 0 || now - request_.heard < 2 * heartbeat + std::chrono::seconds(1)) return true;
  // Nothing read for that long: lost, unless replies wait unread (a long apply kept this thread).
  int msgs = 0, bytes = 0;
  return natsSubscription_GetPending(sub_.get(), &msgs, &bytes) == NATS_OK && msgs > 0;
}

// Messages of the stream, as they arrive to the waiting pull request (asked anew whenever the
// last one is over or lost): returns once the first messages came, with those that have
// arrived by then (up to a batch), or after fetchWait with none (`idle`).
Status Consumer::pull(std::vector<relay::Message>& out, bool& idle) {
  auto batch = static_cast<std::size_t>(r_.options.fetchBatch);
  auto until = Clock::now() + r_.options.fetchWait;
  while (out.size() < batch) {
    auto now = Clock::now();
    if (!waiting(now) && !ask()) return relay::fromNats(NATS_CONNECTION_CLOSED, "pulling from the stream");
    if (out.empty() && now >= until) break;
    // Before the first message, wait until `until` (or until the request must be looked at
    // again); after it, take only what has arrived too (what comes later, the next pull reads).
    auto next = std::min(until, request_.ends);
    if (auto heartbeat = r_.options.pullHeartbeat; heartbeat.count() > 0)
      next = std::min(next, request_.heard + 2 * heartbeat + std::chrono::seconds(1));
    long long wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    wait = out.empty() ? std::max<long long>(wait, 1) : 2;
    natsMsg* m = nullptr;
    ::natsStatus s = natsSubscription_NextMsg(&m, sub_.get(), wait);
    if (s == NATS_TIMEOUT) {
      if (!out.empty()) break;
      continue;
    }
    if (s != NATS_OK) return relay::fromNats(s, "pulling from the stream");
    relay::Message msg(m);
    std::string status = statusOf(m);
    if (status.empty()) {  // a message of the stream
      out.push_back(std::move(msg));
      request_.heard = Clock::now();
      if (request_.owed > 0 && --request_.owed == 0) request_.open = false;  // its batch is delivered
      continue;
    }
    // A status is about the request whose reply subject it came on: an earlier one's is old news.
    if (request_.reply != natsMsg_GetSubject(m)) continue;
    if (status == "100") {  // a heartbeat: the request waits at the server
      request_.heard = Clock::now();
      continue;
    }
    request_.open = false;  // 404, 408: over; 409 and others: refused
    if (status == "404" || status == "408") continue;
    if (!out.empty()) break;  // the refusal is met again at the next pull
    return Status::ioError(fmt::format("pulling from the stream: the server answered {} {}", status,
                                       header(m, "Description")));
  }
  idle = out.empty();
  return Status::ok();
}

void Consumer::take(relay::Message msg) {
  natsMsg* m = msg.get();
  std::uint64_t seq = 0;
  if (jsMsgMetaData* meta = nullptr; natsMsg_GetMetaData(&meta, m) == NATS_OK) {
    seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
  highest_ = std::max(highest_, seq);
  std::string subject = natsMsg_GetSubject(m), id = header(m, "Nats-Msg-Id");
  std::string mac = header(m, kMacHeader), fingerprint = header(m, kSchemaHeader);
  std::string body(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
  if (!r_.signer.verify(mac, {subject, id, fingerprint, body})) {
    ++r_.counters.forged;
    once("forged:" + subject, fmt::format("relay: refused a message on {}: its signature does not verify (written "
                                          "without the cluster secret); dropped from this site's consumer",
                                          subject));
    answer(m, "+TERM");
    return;
  }
  auto t = decodeTransaction(body);
  if (!t || relay::Names::msgId(t->dot) != id || r_.names.subjectOf(t->dot.site) != subject) {
    // Signed by a holder of the secret, yet not a transaction this parley reads: keep it in the
    // stream (unacknowledged) for a parley that does.
    once("bad:" + id, fmt::format("relay: message {} is signed but is not a transaction this parley can apply ({}); "
                                  "left in the stream",
                                  id, t ? "its subject or id does not match its dot" : t.status().message()));
    return;
  }
  const std::string& mine = fingerprint_;
  if (fingerprint != mine) {
    once("schema:" + t->dot.site.hex(),
         fmt::format("relay: {}'s transactions are held: it has a different schema or resolver configuration "
                     "(fingerprint {}, this site {}); make the same change at both",
                     t->dot.site.shortHex(), fingerprint, mine));
    if (seq > 0) unapplied_.emplace(seq, t->dot);
    return;  // unacknowledged: redelivered after the ack wait
  }
  Dot dot = t->dot;
  auto [it, fresh] = held_.try_emplace(dot);
  if (fresh) {
    it->second.t = std::move(*t);
    it->second.body = std::move(body);
    it->second.since = Clock::now();
  }
  it->second.msg = std::move(msg);  // a redelivery: the newer handle acknowledges it
  if (seq > 0) {
    unapplied_[seq] = dot;
    auto& seqs = it->second.seqs;
    if (std::find(seqs.begin(), seqs.end(), seq) == seqs.end()) seqs.push_back(seq);
  }
}

// `dot` is applied (its apply committed): its messages no longer hold the position back.
void Consumer::applied(const Dot& dot) {
  auto it = held_.find(dot);
  if (it == held_.end()) return;
  for (auto seq : it->second.seqs) unapplied_.erase(seq);
}

// Keeps in the site file the highest stream sequence up to which every message taken is
// applied (or is not for this site), if it moved: after an apply commits, before its
// messages are acknowledged. One that lags (a failed write) only brings messages again.
void Consumer::notePosition() {
  std::uint64_t at = unapplied_.empty() ? highest_ : std::min(highest_, unapplied_.begin()->first - 1);
  if (at == 0 || noted_ == at) return;
  auto st = r_.site->with([&](Site& site) { return site.replication().notePosition(r_.names.stream, at); });
  if (st) noted_ = at;
}

void Consumer::settle(const Dot& dot) {
  auto it = held_.find(dot);
  if (it == held_.end()) return;
  if (it->second.msg) answer(it->second.msg.get(), "+ACK");
  held_.erase(it);
}

Status Consumer::applyReady() {
  auto held = r_.site->with([](Site& site) { return site.vector(); });
  if (!held) return held.status();
  VersionVector v = *held;
  std::vector<Dot> batch;
  std::set<Dot> chosen;
  auto now = Clock::now();
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& [dot, h] : held_) {
      if (h.retryAt > now || chosen.count(dot) || !ready(h.t, v)) continue;
      batch.push_back(dot);
      chosen.insert(dot);
      v.advance(dot);
      progress = true;
    }
  }
  if (batch.empty()) return Status::ok();
  std::vector<Transaction> ts;
  std::vector<std::string_view> bodies;
  for (const auto& dot : batch) {
    ts.push_back(held_[dot].t);
    bodies.push_back(held_[dot].body);
  }
  auto r = r_.site->with([&](Site& site) { return site.replication().applyEncoded(ts, bodies); });
  if (!r) {
    applyOneByOne(batch);
    return Status::ok();
  }
  r_.counters.applied += r->applied;
  r_.counters.duplicates += r->duplicates;
  for (const auto& w : r->warnings) r_.say("relay: warning: " + w.message);
  for (const auto& dot : batch) applied(dot);
  notePosition();
  for (const auto& dot : batch) {
    if (r_.options.applied && dot.seq > held->get(dot.site)) r_.options.applied(dot);
    settle(dot);
  }
  return Status::ok();
}

void Consumer::applyOneByOne(const std::vector<Dot>& batch) {
  for (const auto& dot : batch) {
    auto& h = held_[dot];
    std::string_view body = h.body;
    auto r = r_.site->with([&](Site& site) {
      return site.replication().applyEncoded(std::span(&h.t, 1), std::span(&body, 1));
    });
    if (r) {
      r_.counters.applied += r->applied;
      r_.counters.duplicates += r->duplicates;
      if (r_.options.applied && r->applied) r_.options.applied(dot);
      applied(dot);
      notePosition();
      settle(dot);
      continue;
    }
    if (r.status().code() == Status::Code::kBusy) {  // another connection holds the write lock: soon again
      h.retryAt = Clock::now() + std::chrono::milliseconds(100);
      continue;
    }
    // Held, unacknowledged, and tried again later: a refusal is never silent, nor final here.
    h.retryAt = Clock::now() + std::chrono::seconds(10);
    once("refused:" + dot.toString(), fmt::format("relay: applying {} failed: {}; held, trying again every 10 s",
                                                  dot.toString(), r.status().message()));
  }
}

void Consumer::checkStuck() {
  auto now = Clock::now();
  if (held_.empty() || now - lastStuckCheck_ < std::chrono::seconds(10)) return;
  if (now - held_.begin()->second.since < std::chrono::seconds(2)) return;
  lastStuckCheck_ = now;
  auto v = r_.site->with([](Site& site) { return site.vector(); });
  if (!v) return;
  std::set<SiteId> missing;  // origins whose next transaction something held needs
  for (const auto& [dot, h] : held_) {
    if (ready(h.t, *v)) continue;
    if (h.t.dot.seq > v->get(dot.site) + 1) missing.insert(dot.site);
    for (const auto& [site, seq] : h.t.context.entries())
      if (v->get(site) < seq) missing.insert(site);
  }
  std::optional<std::uint64_t> rewindTo;
  for (const auto& origin : missing) {
    std::uint64_t need = v->get(origin) + 1;
    // The origin's first transaction held here, if any: the stream had it, so the origin is on
    // the relay.
    auto heldOfOrigin = held_.lower_bound(Dot{origin, 0});
    std::optional<std::uint64_t> heldFrom;
    if (heldOfOrigin != held_.end() && heldOfOrigin->first.site == origin) heldFrom = heldOfOrigin->first.seq;
    auto first = r_.client->firstOf(r_.names.subjectOf(origin));
    if (!first) return r_.say("relay: " + first.status().message());
    std::optional<std::uint64_t> firstSeq;
    if (*first) {
      natsMsg* m = first->get();
      auto t = decodeTransaction(std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))));
      if (t) firstSeq = t->dot.seq;
    }
    if (firstSeq && *firstSeq <= need) {
      // The stream holds what this site lacks, yet its consumer is past it.
      std::uint64_t seq = std::strtoull(header(first->get(), "Nats-Sequence").c_str(), nullptr, 10);
      if (seq > 0) rewindTo = std::min(rewindTo.value_or(seq), seq);
      continue;
    }
    if (auto until = firstSeq ? firstSeq : heldFrom) {
      once(fmt::format("expired:{}:{}", origin.hex(), need),
           fmt::format("relay: this site fell past the stream's retention ({}): it lacks {}'s transactions {}..{}, "
                       "which the stream no longer holds; clone this site anew from a current member (parley clone "
                       "tcp://HOST:PORT NEW.db --name NAME) and use the clone instead",
                       r_.client->retention(), origin.shortHex(), need, *until - 1));
      continue;
    }
    once(fmt::format("absent:{}:{}", origin.hex(), need),
         fmt::format("relay: {} transactions held here need {}'s transaction {}, and the stream holds none of {}'s (not "
                     "on the relay, or expired): they wait for another link (parley sync) to bring it",
                     held_.size(), origin.shortHex(), need, origin.shortHex()));
  }
  if (!rewindTo) return;
  // The stream holds what this site lacks, yet its consumer is past it: the site file is older
  // than its consumer (restored from a backup). Read the stream again from there.
  if (auto st = subscribe(rewindTo); !st) return r_.say("relay: rewinding the consumer failed: " + st.message());
  r_.say(fmt::format("relay: this site lacks transactions its consumer had passed (an older copy of the file?); "
                     "reading the stream again from sequence {}",
                     *rewindTo));
}

void Consumer::releaseAll() {
  for (auto& [dot, h] : held_)
    if (h.msg) answer(h.msg.get(), "-NAK");
  held_.clear();
  unapplied_.clear();
}

void Consumer::run() {
  auto failingSince = Clock::time_point{};
  Status last = Status::ok();
  while (!r_.stopping) {
    std::vector<relay::Message> pulled;
    bool idle = false;
    Status st = sub_ ? pull(pulled, idle) : Status::ioError("fetching from the stream: not subscribed");
    if (!pulled.empty())
      fingerprint_ =
          r_.site->with([](Site& site) { return site.replication().schemaFingerprint(); });
    for (auto& m : pulled) take(std::move(m));
    if (st) st = applyReady();
    r_.counters.held = held_.size();
    if (st) {
      if (!last) r_.say("relay: receiving again");
      last = st;
      failingSince = {};
      if (idle) checkStuck();
      continue;
    }
    if (st.message() != last.message()) r_.say("relay: " + st.message() + "; retrying");
    last = st;
    auto now = Clock::now();
    if (failingSince == Clock::time_point{}) failingSince = now;
    if (now - failingSince > std::chrono::seconds(2)) subscribe();  // bind again once NATS is back
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  releaseAll();
}

}  // namespace parley::sync
