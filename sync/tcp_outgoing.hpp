// The sending end of the server's streams, as promise chains on its event loop.
//
// Each write waits for Cap'n Proto's stream flow control before the next, and the changes are
// read a bounded batch at a time (the session Responder's Outgoing), so a stream of any size
// holds a few chunks in memory. The site must outlive the returned promises.
#pragma once

#include <kj/async.h>

#include "parley/site.hpp"
#include "parley/sync/session.hpp"
#include "responder.hpp"
#include "sync.capnp.h"

namespace parley::sync {

// Sends `sink` all `changes` holds (a pull's stream), then ends the stream. Resolves to what
// it sent.
kj::Promise<StreamTotals> sendChanges(std::unique_ptr<Outgoing> changes, wire::ChangeSink::Client sink);

// Sends `sink` a consistent snapshot of `site` (a backup in a temporary file, removed after),
// in pieces of kSnapshotPieceBytes, then ends the stream. Resolves to the bytes sent.
kj::Promise<std::uint64_t> sendSnapshot(Site& site, wire::ByteSink::Client sink);

}  // namespace parley::sync
