#include "tcp_live.hpp"

#include <fmt/format.h>

#include <deque>

#include "tcp_cursor.hpp"
#include "tcp_limits.hpp"
#include "tcp_status.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

class LiveStream {
 public:
  LiveStream(const Site& site, const SiteId& subscriber, VersionVector since, kj::Timer& timer, LiveOptions options,
             wire::ChangeSink::Client sink, StreamTotals& sent)
      : site_(site), subscriber_(subscriber), cursor_(site, std::move(since), options.chunkBytes, kLiveBatchBytes),
        timer_(timer), options_(options), sink_(std::move(sink)), sent_(sent), lastWrite_(timer.now()) {}

  kj::Promise<void> pump() {
    if (queue_.empty()) fill();
    if (!queue_.empty()) {
      Chunk chunk = std::move(queue_.front());
      queue_.pop_front();
      return write(chunk);
    }
    if (timer_.now() - lastWrite_ >= options_.heartbeat.count() * kj::MILLISECONDS) return write(Chunk{});
    return timer_.afterDelay(options_.poll.count() * kj::MILLISECONDS).then([this] { return pump(); });
  }

 private:
  // Reads the next batch into the queue, if the site holds anything the subscriber lacks.
  void fill() {
    VersionVector held = take(site_.vector());
    // The subscriber holds every transaction of its own this site holds.
    if (auto own = held.get(subscriber_); own > 0) cursor_.assumeHeld(Dot{subscriber_, own});
    if (held.leq(cursor_.since())) return;
    std::uint64_t before = cursor_.totals().transactions, bytes = cursor_.totals().bytes;
    check(cursor_.next(queue_).status());
    sent_.transactions += cursor_.totals().transactions - before;
    sent_.bytes += cursor_.totals().bytes - bytes;
  }

  kj::Promise<void> write(const Chunk& chunk) {
    auto request = sink_.writeRequest();
    writeChunk(request.initChunk(), chunk);
    lastWrite_ = timer_.now();
    auto stalled = timer_.afterDelay(options_.timeout.count() * kj::MILLISECONDS).then([timeout = options_.timeout] {
      throwStatus(Status::ioError(fmt::format("the subscriber read nothing for {} ms", timeout.count())));
    });
    return request.send().exclusiveJoin(kj::mv(stalled)).then([this] { return pump(); });
  }

  const Site& site_;
  SiteId subscriber_;
  ChangeCursor cursor_;
  kj::Timer& timer_;
  LiveOptions options_;
  wire::ChangeSink::Client sink_;
  StreamTotals& sent_;
  std::deque<Chunk> queue_;
  kj::TimePoint lastWrite_;
};

}  // namespace

kj::Promise<void> streamLive(const Site& site, const SiteId& subscriber, VersionVector since, kj::Timer& timer,
                             LiveOptions options, wire::ChangeSink::Client sink, StreamTotals& sent) {
  auto stream = kj::heap<LiveStream>(site, subscriber, std::move(since), timer, options, std::move(sink), sent);
  auto& s = *stream;
  return kj::evalNow([&s] { return s.pump(); }).attach(kj::mv(stream));
}

}  // namespace parley::sync
