#include "tcp_live.hpp"

#include <fmt/format.h>

#include <deque>
#include <memory>

#include "tcp_status.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

class LiveStream {
 public:
  LiveStream(std::unique_ptr<Outgoing> changes, kj::Timer& timer, LiveOptions options, wire::ChangeSink::Client sink)
      : changes_(std::move(changes)), timer_(timer), options_(options), sink_(std::move(sink)), lastWrite_(timer.now()) {}

  kj::Promise<void> pump() {
    if (queue_.empty()) check(changes_->next(queue_).status());
    if (!queue_.empty()) {
      Chunk chunk = std::move(queue_.front());
      queue_.pop_front();
      return write(chunk);
    }
    if (timer_.now() - lastWrite_ >= options_.heartbeat.count() * kj::MILLISECONDS) return write(Chunk{});
    return timer_.afterDelay(options_.poll.count() * kj::MILLISECONDS).then([this] { return pump(); });
  }

 private:
  kj::Promise<void> write(const Chunk& chunk) {
    auto request = sink_.writeRequest();
    writeChunk(request.initChunk(), chunk);
    lastWrite_ = timer_.now();
    auto stalled = timer_.afterDelay(options_.timeout.count() * kj::MILLISECONDS).then([timeout = options_.timeout] {
      throwStatus(Status::ioError(fmt::format("the subscriber read nothing for {} ms", timeout.count())));
    });
    return request.send().exclusiveJoin(kj::mv(stalled)).then([this] { return pump(); });
  }

  std::unique_ptr<Outgoing> changes_;
  kj::Timer& timer_;
  LiveOptions options_;
  wire::ChangeSink::Client sink_;
  std::deque<Chunk> queue_;
  kj::TimePoint lastWrite_;
};

}  // namespace

kj::Promise<void> streamLive(std::unique_ptr<Outgoing> changes, kj::Timer& timer, LiveOptions options,
                             wire::ChangeSink::Client sink) {
  auto stream = kj::heap<LiveStream>(std::move(changes), timer, options, std::move(sink));
  auto& s = *stream;
  return kj::evalNow([&s] { return s.pump(); }).attach(kj::mv(stream));
}

}  // namespace parley::sync
