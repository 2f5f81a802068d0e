// What a server lets a connection do before it logs in.
//
// Before login a peer is a stranger: it may send only small messages (the Gate's challenge and
// login fit in a few hundred bytes), and each source address may hold only a few such
// connections at once. Without these limits a stranger makes the server allocate whatever a
// message header claims (Cap'n Proto's default is 64 MiB per message) on as many connections
// as it likes. After login the normal limits apply (kMaxChunkBytes per chunk).
//
// Admissions counts, per source address, the connections waiting for login; a Ticket is one
// such connection's place, given back when it logs in or ends (TcpOptions::loginsPerSource). PreLoginMessageStream reads
// RPC messages with the small limit until the connection's `granted` flag is set, deciding
// per message once its first word has arrived, so a message sent after the login reply
// always gets the normal limit. All of it lives on the server's event loop thread.
#pragma once

#include <capnp/serialize-async.h>
#include <kj/async-io.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace parley::sync {

// The largest RPC message a connection may send before login.
inline constexpr std::size_t kPreLoginMessageBytes = 8 << 10;
class Admissions {
 public:
  // At most `perSource` connections from one source address may wait for login at once.
  explicit Admissions(int perSource) : perSource_(perSource) {}
  int perSource() const { return perSource_; }

  class Ticket {
   public:
    Ticket(Admissions& owner, std::string source) : owner_(&owner), source_(std::move(source)) {}
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }
    // Gives the place back (at login or when the connection ends); idempotent.
    void release();

   private:
    Admissions* owner_;
    std::string source_;
  };

  // A place for one more connection from `source`, or null when it holds perSource() already.
  std::unique_ptr<Ticket> admit(const std::string& source);

 private:
  int perSource_;
  std::map<std::string, int> waiting_;
};

// Failed logins (a wrong secret: a guess) per source address. A source's first
// kFreeFailures failures cost nothing (a typo, a restart); each one after that doubles the wait
// before its next connection is served, from 250 ms up to 10 s. A successful login, or ten
// minutes without a failure, clears the count. So 200 guesses take over half an hour instead of
// two seconds, while a peer that gets the secret right is never slowed for its own sake.
class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kFreeFailures = 2;

  // How long a new connection from `source` waits before it is served.
  std::chrono::milliseconds penalty(const std::string& source, Clock::time_point now);
  // Counts a failure; returns the source's failures so far.
  int failed(const std::string& source, Clock::time_point now);
  void succeeded(const std::string& source) { records_.erase(source); }

 private:
  struct Record {
    int failures = 0;
    Clock::time_point last;
  };
  void forgetOld(Clock::time_point now);
  std::map<std::string, Record> records_;
};

// The address (without port) a connection comes from, e.g. "127.0.0.1" or "::1".
std::string sourceOf(kj::AsyncIoStream& stream);

class PreLoginMessageStream final : public capnp::MessageStream {
 public:
  // `tooLarge` is called (then the read fails) when a peer that has not logged in sends a
  // message over kPreLoginMessageBytes.
  PreLoginMessageStream(kj::AsyncIoStream& stream, std::shared_ptr<bool> granted, std::function<void()> tooLarge)
      : stream_(stream), inner_(stream), granted_(std::move(granted)), tooLarge_(std::move(tooLarge)) {}

  using capnp::MessageStream::tryReadMessage;
  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(kj::ArrayPtr<kj::AutoCloseFd> fdSpace,
                                                                    capnp::ReaderOptions options,
                                                                    kj::ArrayPtr<capnp::word> scratchSpace) override;
  kj::Promise<void> writeMessage(kj::ArrayPtr<const int> fds,
                                 kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) override {
    return inner_.writeMessage(fds, segments);
  }
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override {
    return inner_.writeMessages(messages);
  }
  kj::Maybe<int> getSendBufferSize() override { return inner_.getSendBufferSize(); }
  kj::Promise<void> end() override { return inner_.end(); }

 private:
  kj::AsyncIoStream& stream_;
  capnp::AsyncIoMessageStream inner_;
  std::shared_ptr<bool> granted_;
  std::function<void()> tooLarge_;
};

}  // namespace parley::sync
