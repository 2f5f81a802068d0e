#include "tls.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tcp_status.hpp"

namespace parley::sync {
namespace {

SSL* sslOf(void* p) { return static_cast<SSL*>(p); }
BIO* bioOf(void* p) { return static_cast<BIO*>(p); }

// The reason of OpenSSL's latest error ("wrong version number"), clearing its error queue.
std::string lastReason(const char* fallback) {
  std::string reason;
  while (unsigned long e = ERR_get_error())
    if (reason.empty() && ERR_reason_error_string(e)) reason = ERR_reason_error_string(e);
  return reason.empty() ? fallback : reason;
}

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Freer<SSL_CTX, SSL_CTX_free>>;

// A self-signed certificate for `key`, CN "parley", valid from an hour ago for ten years. Its
// only use is to let TLS 1.3 run: nobody checks it (see tls.hpp).
CertPtr selfSigned(EVP_PKEY* key) {
  CertPtr cert(X509_new());
  std::unique_ptr<BIGNUM, Freer<BIGNUM, BN_free>> serial(BN_new());
  if (!cert || !serial || !BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) return nullptr;
  bool ok = X509_set_version(cert.get(), 2) && BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) &&
            X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("parley"),
                                        -1, -1, 0) &&
       X509_set_issuer_name(cert.get(), name) && X509_sign(cert.get(), key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

Result<CtxPtr> newContext(bool server) {
  CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx || !SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION))
    return Status::internal("TLS: " + lastReason("cannot make a context"));
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // A peer that closes without close_notify has ended the stream: what it sent is judged by the
  // protocol above (a Cap'n Proto message is either whole or missing).
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (server) SSL_CTX_set_num_tickets(ctx.get(), 0);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::forServer() {
  auto ctx = newContext(true);
  if (!ctx) return ctx.status();
  KeyPtr key(EVP_EC_gen("P-256"));
  CertPtr cert = key ? selfSigned(key.get()) : nullptr;
  if (!cert || SSL_CTX_use_certificate(ctx->get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx->get(), key.get()) != 1)
    return Status::internal("TLS: " + lastReason("cannot make the server's certificate"));
  return std::shared_ptr<TlsContext>(new TlsContext(ctx->release(), true));
}

Result<std::shared_ptr<TlsContext>> TlsContext::forClient() {
  auto ctx = newContext(false);
  if (!ctx) return ctx.status();
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_NONE, nullptr);  // the secret authenticates (tls.hpp)
  return std::shared_ptr<TlsContext>(new TlsContext(ctx->release(), false));
}

TlsContext::~TlsContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

TlsStream::TlsStream(std::shared_ptr<TlsContext> context, kj::Own<kj::AsyncIoStream> inner)
    : context_(std::move(context)), inner_(kj::mv(inner)), sent_(kj::Promise<void>(kj::READY_NOW).fork()) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(context_->native()));
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (!ssl || !in || !out) {
    SSL_free(ssl);
    BIO_free(in);
    BIO_free(out);
    throwStatus(Status::internal("TLS: " + lastReason("out of memory")));
  }
  BIO_set_mem_eof_return(in, -1);  // empty: "retry", until the peer's end is seen
  SSL_set_bio(ssl, in, out);       // the SSL owns both from here
  if (context_->isServer()) SSL_set_accept_state(ssl);
  else SSL_set_connect_state(ssl);
  ssl_ = ssl;
  input_ = in;
  output_ = out;
}

TlsStream::~TlsStream() noexcept(false) { SSL_free(sslOf(ssl_)); }

TlsStream::Need TlsStream::check(int result, const char* what) {
  switch (SSL_get_error(sslOf(ssl_), result)) {
    case SSL_ERROR_NONE:
      return Need::nothing;
    case SSL_ERROR_WANT_READ:
      return Need::input;
    case SSL_ERROR_ZERO_RETURN:
      return Need::closed;
    default:
      throwStatus(Status::ioError(fmt::format("TLS {}: {}", what, lastReason("the connection broke"))));
  }
}

kj::Promise<void> TlsStream::handshake() {
  int result = SSL_do_handshake(sslOf(ssl_));
  Need need = Need::nothing;
  if (result != 1) {
    try {
      need = check(result, "handshake failed");
    } catch (const kj::Exception& e) {
      // Send OpenSSL's alert first, so the peer learns why too.
      return flush().then([e]() -> kj::Promise<void> { return kj::Exception(e); },
                          [e](kj::Exception&&) -> kj::Promise<void> { return kj::Exception(e); });
    }
  }
  if (need == Need::nothing) return flush();
  if (need == Need::closed) return toException(Status::ioError("TLS handshake failed: the peer closed the connection"));
  return flush().then([this] { return fill(); }).then([this](bool more) -> kj::Promise<void> {
    if (!more) return toException(Status::ioError("TLS handshake failed: the peer closed the connection"));
    return handshake();
  });
}

Exporter TlsStream::exporter(std::string_view label) const {
  Exporter value{};
  std::string text(label);
  if (SSL_export_keying_material(sslOf(ssl_), value.data(), value.size(), text.c_str(), text.size(), nullptr, 0, 0) != 1)
    throwStatus(Status::internal("TLS: " + lastReason("no exporter before the handshake")));
  return value;
}

kj::Promise<size_t> TlsStream::tryRead(void* buffer, size_t minBytes, size_t maxBytes) {
  // evalNow: an OpenSSL error becomes a broken promise, never a throw out of tryRead().
  return kj::evalNow([&] { return readSome(static_cast<kj::byte*>(buffer), minBytes, maxBytes, 0); });
}

kj::Promise<size_t> TlsStream::readSome(kj::byte* buffer, size_t minBytes, size_t maxBytes, size_t done) {
  while (done < maxBytes) {
    size_t n = 0;
    int result = SSL_read_ex(sslOf(ssl_), buffer + done, maxBytes - done, &n);
    if (result == 1) {
      done += n;
      if (done >= minBytes) break;
      continue;
    }
    Need need = check(result, "read failed");
    if (need == Need::closed || eof_) break;
    // A post-handshake message (a key update) may want an answer on the way.
    return flush().then([this] { return fill(); }).then([this, buffer, minBytes, maxBytes, done](bool) {
      return readSome(buffer, minBytes, maxBytes, done);
    });
  }
  if (BIO_ctrl_pending(bioOf(output_)) > 0) return flush().then([done] { return done; });
  return done;
}

kj::Promise<void> TlsStream::write(const void* buffer, size_t size) {
  return kj::evalNow([&] {
    size_t written = 0;
    if (size > 0 && SSL_write_ex(sslOf(ssl_), buffer, size, &written) != 1) check(0, "write failed");
    return flush();
  });
}

kj::Promise<void> TlsStream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  return kj::evalNow([&] { return writePieces(pieces); });
}

kj::Promise<void> TlsStream::writePieces(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  // Small pieces (Cap'n Proto's segment table, say) share a record instead of one each.
  constexpr size_t kRecord = 16 * 1024;
  std::vector<kj::byte> staged;
  auto send = [this](const kj::byte* bytes, size_t size) {
    size_t written = 0;
    if (size > 0 && SSL_write_ex(sslOf(ssl_), bytes, size, &written) != 1) check(0, "write failed");
  };
  for (auto piece : pieces) {
    if (staged.size() + piece.size() <= kRecord) {
      staged.insert(staged.end(), piece.begin(), piece.end());
      continue;
    }
    send(staged.data(), staged.size());
    staged.clear();
    if (piece.size() >= kRecord) send(piece.begin(), piece.size());
    else staged.assign(piece.begin(), piece.end());
  }
  send(staged.data(), staged.size());
  return flush();
}

void TlsStream::shutdownWrite() {
  SSL_shutdown(sslOf(ssl_));  // queues close_notify
  sent_ = flush().then([this] { inner_->shutdownWrite(); }).eagerlyEvaluate(nullptr).fork();
}

kj::Promise<void> TlsStream::flush() {
  size_t pending = BIO_ctrl_pending(bioOf(output_));
  if (pending == 0) return sent_.addBranch();
  auto bytes = kj::heapArray<kj::byte>(pending);
  BIO_read(bioOf(output_), bytes.begin(), static_cast<int>(pending));
  auto next = sent_.addBranch().then([this, bytes = kj::mv(bytes)]() mutable {
    auto written = inner_->write(bytes.begin(), bytes.size());
    return written.attach(kj::mv(bytes));
  });
  sent_ = next.eagerlyEvaluate(nullptr).fork();
  return sent_.addBranch();
}

kj::Promise<bool> TlsStream::fill() {
  return inner_->tryRead(readBuffer_.begin(), 1, readBuffer_.size()).then([this](size_t n) {
    if (n == 0) {
      eof_ = true;
      BIO_set_mem_eof_return(bioOf(input_), 0);
      return false;
    }
    // A TLS peer's first record is a handshake message (22) or an alert (21); anything else is a
    // peer speaking plaintext, which deserves a better word than OpenSSL's.
    if (!heard_ && readBuffer_[0] != 22 && readBuffer_[0] != 21)
      throwStatus(Status::ioError("TLS handshake failed: the peer speaks plaintext (a peer run with --insecure; "
                                  "both sides must choose it)"));
    heard_ = true;
    BIO_write(bioOf(input_), readBuffer_.begin(), static_cast<int>(n));
    return true;
  });
}

}  // namespace parley::sync
