// The sending end of a live subscription (Session.subscribe), on the server's event loop.
//
// Like a walsender: it first sends what the subscriber lacks, then watches the site for new
// commits every `poll` (Site::vector() re-reads only when PRAGMA data_version moved, so an
// idle check costs microseconds) and sends each new batch at once, whoever committed it (a
// writer in another process, a peer's push, another subscription). Writes go one at a time
// under Cap'n Proto's stream flow control, so a slow subscriber holds the stream back, not the
// server's memory, and each stream is an independent chain of promises: a stalled subscriber
// delays no other. When idle for a heartbeat period it sends an empty chunk; a write that
// fails (the connection is gone) or stays held back for the timeout ends the stream.
//
// What to send comes from the session Responder's subscription (Outgoing), which never sends
// the subscriber's own transactions back to it. The site must outlive the returned promise;
// dropping the promise stops the stream.
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include <chrono>

#include "parley/site.hpp"
#include "parley/sync/session.hpp"
#include "responder.hpp"
#include "sync.capnp.h"

namespace parley::sync {

struct LiveOptions {
  std::chrono::milliseconds poll{1};
  std::chrono::milliseconds heartbeat{1000};
  // A write that flow control holds back this long (the subscriber stopped reading: dead, or
  // stuck) ends the stream.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

// Streams to `sink` what `changes` holds and then every new transaction, until a write fails.
kj::Promise<void> streamLive(std::unique_ptr<Outgoing> changes, kj::Timer& timer, LiveOptions options,
                             wire::ChangeSink::Client sink);

}  // namespace parley::sync
