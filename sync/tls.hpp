// TLS 1.3 for sync connections, with OpenSSL doing all of the record protocol and the
// cryptography; this file only moves bytes between OpenSSL's memory buffers and a KJ stream.
//
// Who is who is not decided by certificates: the server presents a throwaway self-signed
// certificate made when it starts, the client does not check it, and both sides then prove
// they know the cluster secret inside the encrypted channel, each proof bound to this very
// channel through a TLS exporter value (RFC 8446 section 7.5; see auth.hpp). So:
// - a recording shows the handshake's public values and ciphertext only: no row value, no
//   site name, and nothing to test guesses of the secret against (the proofs are encrypted
//   under keys from an ephemeral Diffie-Hellman exchange);
// - a changed, dropped or replayed byte fails the record's authentication tag, and the
//   connection with it;
// - a man in the middle holds two channels with two exporter values, so a proof made for one
//   is worthless on the other.
// Only TLS 1.3 is spoken (no fallback), session tickets are off (nothing to resume or replay),
// and renegotiation does not exist in 1.3.
//
// TlsContext is immutable once made and may be shared by the connections of one event loop.
// TlsStream lives on one event loop thread.
#pragma once

#include <kj/async-io.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "parley/status.hpp"

namespace parley::sync {

using Exporter = std::array<std::uint8_t, 32>;
// The exporter label of the login's channel binding (auth.hpp).
inline constexpr std::string_view kLoginExporterLabel = "EXPORTER-parley-login";

class TlsContext {
 public:
  // A server's context, with a fresh self-signed certificate (EC P-256), or a client's.
  static Result<std::shared_ptr<TlsContext>> forServer();
  static Result<std::shared_ptr<TlsContext>> forClient();
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool isServer() const { return server_; }
  void* native() const { return ctx_; }  // the SSL_CTX

 private:
  TlsContext(void* ctx, bool server) : ctx_(ctx), server_(server) {}
  void* ctx_;
  bool server_;
};

// A stream whose bytes travel through TLS over `inner`. Reads and writes follow the usual KJ
// rules (one read and one write at a time); the TLS records they make are written to `inner`
// in order.
class TlsStream final : public kj::AsyncIoStream {
 public:
  TlsStream(std::shared_ptr<TlsContext> context, kj::Own<kj::AsyncIoStream> inner);
  ~TlsStream() noexcept(false);

  // Runs the handshake; fails (kj::Exception) when the peer does not speak TLS 1.3 or any
  // byte of it was changed.
  kj::Promise<void> handshake();
  // 32 bytes both ends of this connection (and nobody else) compute alike; valid after
  // handshake().
  Exporter exporter(std::string_view label) const;

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override;
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override { inner_->getsockname(addr, length); }
  void getpeername(struct sockaddr* addr, kj::uint* length) override { inner_->getpeername(addr, length); }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }

 private:
  // What an OpenSSL call asks for next.
  enum class Need { nothing, input, closed };
  Need check(int result, const char* what);
  // Sends whatever OpenSSL has written to its output buffer, after the sends before it.
  kj::Promise<void> flush();
  // Reads more of the peer's bytes into OpenSSL's input buffer; false at the end of the stream.
  kj::Promise<bool> fill();
  kj::Promise<void> writePieces(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces);
  kj::Promise<size_t> readSome(kj::byte* buffer, size_t minBytes, size_t maxBytes, size_t done);

  std::shared_ptr<TlsContext> context_;
  kj::Own<kj::AsyncIoStream> inner_;
  void* ssl_;       // SSL*, owning its two memory BIOs
  void* input_;     // BIO*: the peer's bytes, for OpenSSL to read
  void* output_;    // BIO*: OpenSSL's bytes, for the peer
  kj::ForkedPromise<void> sent_;
  bool eof_ = false;
  bool heard_ = false;  // whether the peer's first byte has been seen (and was TLS)
  kj::Array<kj::byte> readBuffer_ = kj::heapArray<kj::byte>(64 * 1024);  // several records per read
};

}  // namespace parley::sync
