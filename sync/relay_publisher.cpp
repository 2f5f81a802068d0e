// The relay's publishing side: this site's own transactions to the stream, its
// acknowledgement to the bucket, and the other sites' acknowledgements from it.
#include <fmt/format.h>

#include <sstream>
#include <thread>

#include "parley/sync/session.hpp"
#include "parley/txn_codec.hpp"
#include "relay_impl.hpp"

namespace parley::sync {
namespace {

// A bucket value: "MAC\nTOKEN\nFORGOTTEN" (FORGOTTEN: site ids, comma-separated).
struct AckValue {
  std::string mac, token, forgotten;
};

std::optional<AckValue> parseAckValue(std::string_view text) {
  auto first = text.find('\n');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = text.find('\n', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  return AckValue{std::string(text.substr(0, first)), std::string(text.substr(first + 1, second - first - 1)),
                  std::string(text.substr(second + 1))};
}

std::vector<SiteId> parseIds(const std::string& text) {
  std::vector<SiteId> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (auto id = SiteId::fromHex(item)) ids.push_back(*id);
  return ids;
}

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
  if (kvStore_Get(&e, r_.client->kv(), r_.me.hex().c_str()) == NATS_OK) {
    relay::Entry entry(e);
    if (auto v = parseAckValue(kvEntry_ValueString(e)))
      if (auto vec = parseCommitToken(v->token)) published_ = std::max(published_, vec->get(r_.me));
  }
  return Status::ok();
}

Status Publisher::publish(const Dot& dot, std::string_view body) {
  std::string subject = r_.names.subjectOf(dot.site), id = relay::Names::msgId(dot);
  std::string fingerprint = site_->schemaFingerprint();
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
  auto v = site_->vector();
  if (!v) return v.status();
  std::uint64_t mine = v->get(r_.me);
  if (mine > published_) {
    VersionVector since = *v;
    since.set(r_.me, published_);
    Status st = site_->forEachChangeSince(since, [&](const Dot& dot, Hlc, std::string_view body) -> Status {
      if (dot.site != r_.me) return Status::ok();
      if (auto failed = publish(dot, body); !failed) return failed;
      published_ = dot.seq;
      ++r_.counters.published;
      return Status::ok();
    });
    if (st.code() == Status::Code::kNotFound) {  // compacted: every member already holds them
      published_ = mine;
    } else if (!st) {
      return st;
    }
  }
  auto now = std::chrono::steady_clock::now();
  if (published_ >= mine && (!acked_ || *acked_ != *v) && now - lastPut_ >= r_.options.ackInterval)
    return putAcknowledgement(*v);
  return Status::ok();
}

Status Publisher::putAcknowledgement(const VersionVector& v) {
  auto forgotten = site_->forgotten();
  if (!forgotten) return forgotten.status();
  std::vector<std::string> ids;
  for (const auto& id : *forgotten) ids.push_back(id.hex());
  std::string key = r_.me.hex(), token = commitToken(v), gone = fmt::format("{}", fmt::join(ids, ","));
  std::string value = fmt::format("{}\n{}\n{}", r_.signer.sign({key, token, gone}), token, gone);
  std::uint64_t rev = 0;
  if (auto st = relay::fromNats(kvStore_PutString(&rev, r_.client->kv(), key.c_str(), value.c_str()),
                                "publishing this site's acknowledgement");
      !st)
    return st;
  acked_ = v;
  lastPut_ = std::chrono::steady_clock::now();
  return Status::ok();
}

void Publisher::takeEntry(kvEntry* e) {
  std::string key = kvEntry_Key(e);
  if (key == kSecretCheckKey || key == r_.me.hex() || kvEntry_Operation(e) != kvOp_Put) return;
  if (auto id = SiteId::fromHex(key)) incoming_[*id] = kvEntry_ValueString(e);
}

void Publisher::recordAcknowledgements() {
  // Catch up with what the consumer's connection applied, so that settling sees it.
  if (auto v = site_->vector(); !v) return r_.say("relay: " + v.status().message());
  std::vector<std::pair<SiteId, VersionVector>> acks;
  for (auto& [site, text] : incoming_) {
    std::string key = site.hex();
    auto v = parseAckValue(text);
    if (!v || !r_.signer.verify(v->mac, {key, v->token, v->forgotten})) {
      ++r_.counters.forged;
      once("forged-ack:" + key, fmt::format("relay: refused the acknowledgement of {}: its signature does not verify "
                                             "(written without the cluster secret)",
                                             site.shortHex()));
      continue;
    }
    auto vec = parseCommitToken(v->token);
    if (!vec) continue;
    auto& known = forgottenBy_[site];
    Status st = known == v->forgotten ? site_->checkNotForgotten(site)
                                      : takeForgotten(*site_, site, parseIds(v->forgotten));
    if (!st) {
      once("forgotten:" + key, "relay: " + st.message());
      continue;
    }
    known = v->forgotten;
    acks.emplace_back(site, std::move(*vec));
  }
  incoming_.clear();
  lastRecord_ = std::chrono::steady_clock::now();
  if (auto st = site_->acknowledge(acks); !st)
    return once("ack:" + st.message(), "relay: recording acknowledgements failed: " + st.message());
  r_.counters.acknowledgements += acks.size();
}

void Publisher::run() {
  kvWatcher* raw = nullptr;
  if (auto st = relay::fromNats(kvStore_WatchAll(&raw, r_.client->kv(), nullptr), "watching acknowledgements"); !st)
    r_.say("relay: " + st.message());
  relay::Watcher watcher(raw);
  Status last = Status::ok();
  while (!r_.stopping) {
    Status st = publishNew();
    if (!st && st.message() != last.message()) r_.say("relay: " + st.message() + "; retrying");
    else if (st && !last) r_.say("relay: publishing again");
    last = st;
    kvEntry* e = nullptr;
    if (!watcher) {
      std::this_thread::sleep_for(r_.options.poll);
    } else if (kvWatcher_Next(&e, watcher.get(), r_.options.poll.count()) == NATS_OK && e) {
      relay::Entry entry(e);
      takeEntry(e);
      for (int i = 0; i < 1024 && kvWatcher_Next(&e, watcher.get(), 1) == NATS_OK; ++i) {
        relay::Entry more(e);
        if (e) takeEntry(e);
      }
    }
    if (!incoming_.empty() && std::chrono::steady_clock::now() - lastRecord_ >= r_.options.ackInterval)
      recordAcknowledgements();
  }
  if (watcher) kvWatcher_Stop(watcher.get());
}

}  // namespace parley::sync
