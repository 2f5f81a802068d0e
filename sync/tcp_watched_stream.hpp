// A stream that remembers when it last received bytes, so a server can drop a peer that went
// silent without closing its connection (a crashed host, a partition that swallows packets):
// without that, each such peer keeps a socket and a session for good, and enough of them use up
// the process's file descriptors.
//
// WatchedStream forwards everything to the stream it owns; whenIdle() resolves once nothing
// was received for `limit`. Single-threaded, like the event loop it lives on.
#pragma once

#include <kj/async-io.h>
#include <kj/timer.h>

namespace parley::sync {

class WatchedStream final : public kj::AsyncIoStream {
 public:
  WatchedStream(kj::Own<kj::AsyncIoStream> inner, kj::Timer& timer)
      : inner_(kj::mv(inner)), timer_(timer), lastRead_(timer.now()) {}

  kj::TimePoint lastRead() const { return lastRead_; }

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    return inner_->tryRead(buffer, minBytes, maxBytes).then([this](size_t n) {
      lastRead_ = timer_.now();
      return n;
    });
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }

 private:
  kj::Own<kj::AsyncIoStream> inner_;
  kj::Timer& timer_;
  kj::TimePoint lastRead_;
};

// Resolves once `stream` has received nothing for `limit`.
inline kj::Promise<void> whenIdle(kj::Timer& timer, const WatchedStream& stream,
                                  kj::Duration limit) {
  kj::TimePoint deadline = stream.lastRead() + limit;
  if (timer.now() >= deadline) return kj::READY_NOW;
  return timer.atTime(deadline).then(
      [&timer, &stream, limit] { return whenIdle(timer, stream, limit); });
}

}  // namespace parley::sync
