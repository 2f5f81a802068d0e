// A TCP proxy on loopback for tests of what travels between two sites: it relays connections
// to a target port one at a time, records every byte in both directions, and can flip one bit
// of one byte on the way (a man in the middle). replayTo() plays recorded bytes to a server,
// as an attacker who recorded a session would.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace parley::test {

inline int connectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

inline bool writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

class RecordingProxy {
 public:
  // Flips the lowest bit of byte `offset` (counted from the first byte of the first connection)
  // of the direction `toServer` says.
  struct Flip {
    bool toServer = true;
    std::size_t offset = 0;
  };

  explicit RecordingProxy(int targetPort, std::optional<Flip> flip = std::nullopt)
      : target_(targetPort), flip_(flip) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 8) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) != 0 ||
        ::pipe(stop_) != 0)
      throw std::runtime_error("recording proxy: cannot listen");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~RecordingProxy() {
    char byte = 0;
    (void)!::write(stop_[1], &byte, 1);
    thread_.join();
    ::close(listener_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  RecordingProxy(const RecordingProxy&) = delete;
  RecordingProxy& operator=(const RecordingProxy&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string toServer() const {
    std::lock_guard lock(mutex_);
    return toServer_;
  }
  std::string toClient() const {
    std::lock_guard lock(mutex_);
    return toClient_;
  }
  bool flipped() const { return flipped_; }

 private:
  void run() {
    for (;;) {
      pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 || fds[1].revents) return;
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      int server = connectLoopback(target_);
      if (server >= 0 && !relay(client, server)) {
        ::close(client);
        ::close(server);
        return;
      }
      ::close(client);
      if (server >= 0) ::close(server);
    }
  }

  // Relays until both sides have ended; false when told to stop.
  bool relay(int client, int server) {
    bool clientOpen = true, serverOpen = true;
    char buffer[64 * 1024];
    while (clientOpen || serverOpen) {
      pollfd fds[3] = {{clientOpen ? client : -1, POLLIN, 0}, {serverOpen ? server : -1, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0 || fds[2].revents) return false;
      for (int side = 0; side < 2; ++side) {
        if (!fds[side].revents) continue;
        bool toServer = side == 0;
        int from = toServer ? client : server, to = toServer ? server : client;
        ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
        if (n <= 0) {
          (toServer ? clientOpen : serverOpen) = false;
          ::shutdown(to, SHUT_WR);
          continue;
        }
        tamper(toServer, buffer, static_cast<std::size_t>(n));
        if (!writeAll(to, buffer, static_cast<std::size_t>(n))) {
          clientOpen = serverOpen = false;
        }
      }
    }
    return true;
  }

  void tamper(bool toServer, char* data, std::size_t n) {
    std::lock_guard lock(mutex_);
    std::string& log = toServer ? toServer_ : toClient_;
    std::size_t start = log.size();
    log.append(data, n);
    if (flip_ && flip_->toServer == toServer && flip_->offset >= start && flip_->offset < start + n) {
      data[flip_->offset - start] ^= 1;
      flipped_ = true;
    }
  }

  int target_;
  std::optional<Flip> flip_;
  int listener_ = -1;
  int stop_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string toServer_, toClient_;
  std::atomic<bool> flipped_{false};
};

// Connects to `port`, sends `bytes`, and returns what came back before the server closed the
// connection or `wait` passed.
inline std::string replayTo(int port, const std::string& bytes, std::chrono::milliseconds wait) {
  int fd = connectLoopback(port);
  if (fd < 0) throw std::runtime_error("replay: cannot connect");
  writeAll(fd, bytes.data(), bytes.size());
  std::string received;
  char buffer[64 * 1024];
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return received;
}

}  // namespace parley::test
