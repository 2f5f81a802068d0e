// One proxied TCP connection of parley-faultproxy: a client socket, a socket to the target, and
// a queue of pieces per direction that the FaultPlan delays, stalls, truncates or drops.
//
// Non-blocking and driven by poll(): events() says what to wait for on each socket, handle()
// acts on what poll() reported. A direction reads at most kMaxBuffered bytes ahead of what it
// could forward, so a stalled peer pushes back instead of growing memory. Half-closes are
// forwarded (shutdown(SHUT_WR) once a direction is drained). A hung link models a peer that
// went silent without closing: it keeps both sockets open and does nothing, even once healed.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "fault_plan.hpp"

namespace parley::faultproxy {

// What the proxy counts, over all connections.
struct Totals {
  std::uint64_t connections = 0, refused = 0, drops = 0, truncates = 0, stalls = 0, hangs = 0,
                cuts = 0, bytes = 0;
};

using Log = std::function<void(const std::string&)>;

class Link {
 public:
  static constexpr std::size_t kMaxBuffered = 1 << 20;

  // Takes ownership of both sockets; `server` may still be connecting.
  Link(std::uint64_t id, int client, int server);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  int clientFd() const { return client_; }
  int serverFd() const { return server_; }
  short events(int fd, Clock::time_point now, bool healed) const;
  void handle(short clientEvents, short serverEvents, FaultPlan& plan, Totals& totals,
              const Log& log);
  // Closes both sockets now; with `reset`, as an RST.
  void kill(bool reset);
  bool done() const;
  // The next time something becomes due without socket activity (a delay or a stall ends).
  Clock::time_point nextDue(bool healed) const;

 private:
  struct Piece {
    std::string data;
    std::size_t offset = 0;
    Clock::time_point release;
  };
  struct Direction {
    Direction(int* f, int* t, const char* n) : from(f), to(t), name(n) {}
    int* from;
    int* to;
    const char* name;
    std::deque<Piece> queue;
    std::size_t buffered = 0;
    bool eof = false, shut = false, closeWhenDrained = false;
    Clock::time_point stalledUntil, lastRelease;
  };

  bool canWrite(const Direction& d, Clock::time_point now, bool healed) const;
  bool wantsRead(const Direction& d) const;
  void finishConnect(const Log& log);
  void readFrom(Direction& d, FaultPlan& plan, Totals& totals, const Log& log);
  void writeTo(Direction& d, Totals& totals, bool healed);
  void enqueue(Direction& d, std::string data, const Decision& decision);

  std::uint64_t id_;
  int client_, server_;
  bool connecting_ = true, dead_ = false;
  bool hung_ = false;    // frozen: neither socket is read, written or closed until kill()
  Direction up_, down_;  // client -> server, server -> client
};

}  // namespace parley::faultproxy
