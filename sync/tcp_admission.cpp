#include "tcp_admission.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <kj/debug.h>

#include <cstring>

namespace parley::sync {
namespace {

constexpr std::size_t kFirstWordBytes = 8;  // segment count and first segment size

// Hands out the message's first word (already read, to choose the limits) and then the rest
// of the stream, so Cap'n Proto's reader sees the message whole.
class FirstWordThen final : public kj::AsyncInputStream {
 public:
  FirstWordThen(const kj::byte* word, kj::AsyncInputStream& rest) : rest_(rest) { std::memcpy(word_, word, sizeof word_); }

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    if (given_ == sizeof word_) return rest_.tryRead(buffer, minBytes, maxBytes);
    size_t n = std::min(maxBytes, sizeof word_ - given_);
    std::memcpy(buffer, word_ + given_, n);
    given_ += n;
    if (n >= minBytes) return n;
    return rest_.tryRead(static_cast<kj::byte*>(buffer) + n, minBytes - n, maxBytes - n).then([n](size_t more) {
      return n + more;
    });
  }

 private:
  kj::byte word_[kFirstWordBytes];
  size_t given_ = 0;
  kj::AsyncInputStream& rest_;
};

constexpr auto kForgetAfter = std::chrono::minutes(10);
constexpr std::size_t kMaxSources = 10'000;  // remembered at once; older ones are dropped first

}  // namespace

std::chrono::milliseconds LoginThrottle::penalty(const std::string& source, Clock::time_point now) {
  auto found = records_.find(source);
  if (found == records_.end()) return std::chrono::milliseconds(0);
  if (now - found->second.last > kForgetAfter) {
    records_.erase(found);
    return std::chrono::milliseconds(0);
  }
  int beyond = found->second.failures - kFreeFailures;
  if (beyond <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(250) * (1 << std::min(beyond - 1, 6)) > std::chrono::milliseconds(10'000)
             ? std::chrono::milliseconds(10'000)
             : std::chrono::milliseconds(250) * (1 << std::min(beyond - 1, 6));
}

int LoginThrottle::failed(const std::string& source, Clock::time_point now) {
  if (records_.size() >= kMaxSources) forgetOld(now);
  auto& record = records_[source];
  if (now - record.last > kForgetAfter) record.failures = 0;
  record.last = now;
  return ++record.failures;
}

void LoginThrottle::forgetOld(Clock::time_point now) {
  for (auto it = records_.begin(); it != records_.end();)
    it = now - it->second.last > kForgetAfter ? records_.erase(it) : std::next(it);
  if (records_.size() >= kMaxSources) records_.clear();  // a flood of sources: start over
}

void Admissions::Ticket::release() {
  if (!owner_) return;
  auto at = owner_->waiting_.find(source_);
  if (at != owner_->waiting_.end() && --at->second <= 0) owner_->waiting_.erase(at);
  owner_ = nullptr;
}

std::unique_ptr<Admissions::Ticket> Admissions::admit(const std::string& source) {
  int& waiting = waiting_[source];
  if (waiting >= perSource_) return nullptr;
  ++waiting;
  return std::make_unique<Ticket>(*this, source);
}

std::string sourceOf(kj::AsyncIoStream& stream) {
  sockaddr_storage addr{};
  kj::uint length = sizeof addr;
  try {
    stream.getpeername(reinterpret_cast<sockaddr*>(&addr), &length);
  } catch (const kj::Exception&) {
    return "unknown";
  }
  char text[INET6_ADDRSTRLEN] = "unknown";
  if (addr.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
  else if (addr.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, text, sizeof text);
  return text;
}

kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> PreLoginMessageStream::tryReadMessage(
    kj::ArrayPtr<kj::AutoCloseFd>, capnp::ReaderOptions options, kj::ArrayPtr<capnp::word> scratchSpace) {
  auto word = kj::heapArray<kj::byte>(kFirstWordBytes);
  auto read = stream_.tryRead(word.begin(), word.size(), word.size());
  return read.then([this, word = kj::mv(word), options, scratchSpace](
                       size_t n) mutable -> kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> {
    if (n == 0) return kj::Maybe<capnp::MessageReaderAndFds>(nullptr);
    if (n < kFirstWordBytes) kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "premature EOF"));
    bool stranger = !*granted_;
    if (stranger) options.traversalLimitInWords = kPreLoginMessageBytes / sizeof(capnp::word);
    auto whole = kj::heap<FirstWordThen>(word.begin(), stream_);
    auto message = capnp::tryReadMessage(*whole, options, scratchSpace);
    return message.attach(kj::mv(whole))
        .then(
            [](kj::Maybe<kj::Own<capnp::MessageReader>> reader) -> kj::Maybe<capnp::MessageReaderAndFds> {
              KJ_IF_MAYBE (r, reader) return capnp::MessageReaderAndFds{kj::mv(*r), nullptr};
              kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "premature EOF"));
            },
            [this, stranger](kj::Exception&& e) -> kj::Maybe<capnp::MessageReaderAndFds> {
              if (stranger && e.getType() == kj::Exception::Type::FAILED && tooLarge_) tooLarge_();
              kj::throwFatalException(kj::mv(e));
            });
  });
}

}  // namespace parley::sync
