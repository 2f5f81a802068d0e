#include "proxy_link.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace parley::faultproxy {

Link::Link(std::uint64_t id, int client, int server)
    : id_(id),
      client_(client),
      server_(server),
      up_(&client_, &server_, "up"),
      down_(&server_, &client_, "down") {}

Link::~Link() {
  kill(false);
}

void Link::kill(bool reset) {
  for (int* fd : {&client_, &server_}) {
    if (*fd < 0) continue;
    if (reset) {
      linger l{1, 0};
      ::setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(*fd);
    *fd = -1;
  }
  dead_ = true;
}

bool Link::done() const {
  return dead_ || (up_.shut && down_.shut);
}

bool Link::wantsRead(const Direction& d) const {
  return !d.eof && !d.closeWhenDrained && d.buffered < kMaxBuffered;
}

bool Link::canWrite(const Direction& d, Clock::time_point now, bool healed) const {
  if (connecting_ || d.queue.empty()) return false;
  if (!healed && now < d.stalledUntil) return false;
  return healed || now >= d.queue.front().release;
}

short Link::events(int fd, Clock::time_point now, bool healed) const {
  if (dead_ || hung_) return 0;
  short e = 0;
  if (fd == server_ && connecting_) return POLLOUT;
  for (const Direction* d : {&up_, &down_}) {
    if (*d->from == fd && wantsRead(*d)) e |= POLLIN;
    if (*d->to == fd && canWrite(*d, now, healed)) e |= POLLOUT;
  }
  return e;
}

Clock::time_point Link::nextDue(bool healed) const {
  auto next = Clock::time_point::max();
  if (healed || hung_) return next;
  for (const Direction* d : {&up_, &down_}) {
    if (d->queue.empty()) continue;
    next = std::min(next, std::max(d->stalledUntil, d->queue.front().release));
  }
  return next;
}

void Link::finishConnect(const Log& log) {
  int error = 0;
  socklen_t len = sizeof error;
  ::getsockopt(server_, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) {
    log(fmt::format("conn {}: the target refused: {}", id_, std::strerror(error)));
    kill(false);
    return;
  }
  connecting_ = false;
}

void Link::enqueue(Direction& d, std::string data, const Decision& decision) {
  if (data.empty()) return;
  auto release = std::max(d.lastRelease, Clock::now() + decision.delay);
  d.lastRelease = release;
  d.buffered += data.size();
  d.queue.push_back({std::move(data), 0, release});
}

void Link::readFrom(Direction& d, FaultPlan& plan, Totals& totals, const Log& log) {
  char buffer[64 * 1024];
  ssize_t n = ::read(*d.from, buffer, sizeof buffer);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n < 0) {  // the peer reset the connection: so does the proxy, both ways
    kill(true);
    return;
  }
  if (n == 0) {
    d.eof = true;
    return;
  }
  Decision decision = plan.onPiece(static_cast<std::size_t>(n));
  switch (decision.kind) {
    case Kind::kDrop:
      ++totals.drops;
      log(fmt::format("conn {}: drop ({}) before {} {} bytes", id_, decision.reset ? "rst" : "fin",
                      d.name, n));
      kill(decision.reset);
      return;
    case Kind::kTruncate:
      ++totals.truncates;
      log(fmt::format("conn {}: truncate {} piece to {} of {} bytes, then close", id_, d.name,
                      decision.keep, n));
      enqueue(d, std::string(buffer, decision.keep), decision);
      d.closeWhenDrained = true;
      return;
    case Kind::kStall:
      ++totals.stalls;
      log(fmt::format("conn {}: stall {} for {} ms", id_, d.name, plan.options().stallMs.count()));
      d.stalledUntil = Clock::now() + plan.options().stallMs;
      break;
    case Kind::kHang:
      ++totals.hangs;
      log(fmt::format("conn {}: hang ({} piece of {} bytes lost, sockets left open)", id_, d.name,
                      n));
      hung_ = true;
      return;
    case Kind::kForward:
      break;
  }
  enqueue(d, std::string(buffer, static_cast<std::size_t>(n)), decision);
}

void Link::writeTo(Direction& d, Totals& totals, bool healed) {
  while (canWrite(d, Clock::now(), healed)) {
    Piece& p = d.queue.front();
    ssize_t n = ::send(*d.to, p.data.data() + p.offset, p.data.size() - p.offset, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n < 0) {
      kill(true);
      return;
    }
    p.offset += static_cast<std::size_t>(n);
    d.buffered -= static_cast<std::size_t>(n);
    totals.bytes += static_cast<std::uint64_t>(n);
    if (p.offset == p.data.size()) d.queue.pop_front();
  }
}

void Link::handle(short clientEvents, short serverEvents, FaultPlan& plan, Totals& totals,
                  const Log& log) {
  if (dead_ || hung_) return;
  if (connecting_) {
    if (serverEvents & (POLLOUT | POLLERR | POLLHUP)) finishConnect(log);
    if (connecting_ || dead_) return;
    serverEvents = 0;  // POLLOUT was for the connect
  }
  for (Direction* d : {&up_, &down_}) {
    short fromEvents = d == &up_ ? clientEvents : serverEvents;
    short toEvents = d == &up_ ? serverEvents : clientEvents;
    if ((fromEvents & (POLLIN | POLLHUP | POLLERR)) && wantsRead(*d))
      readFrom(*d, plan, totals, log);
    if (dead_) return;
    if (toEvents & (POLLOUT | POLLERR | POLLHUP)) writeTo(*d, totals, plan.healed());
    if (dead_) return;
    if (d->queue.empty() && d->closeWhenDrained) {
      kill(false);
      return;
    }
    if (d->queue.empty() && d->eof && !d->shut) {
      ::shutdown(*d->to, SHUT_WR);
      d->shut = true;
    }
  }
}

}  // namespace parley::faultproxy
