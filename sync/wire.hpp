// Conversions between parley's values and the sync protocol's Cap'n Proto types.
// Readers are untrusted input: every site id is checked to be 16 bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "parley/status.hpp"
#include "parley/sync/link.hpp"
#include "sync.capnp.h"

namespace parley::sync {

void writeVector(capnp::List<wire::VectorEntry>::Builder out, const VersionVector& v);
VersionVector readVector(capnp::List<wire::VectorEntry>::Reader in);
void writeAcks(capnp::List<wire::Ack>::Builder out, const Acks& acks);
Acks readAcks(capnp::List<wire::Ack>::Reader in);
SiteId readId(capnp::Data::Reader bytes, const char* what);
// Text a peer or a file says of itself (a site name, a fingerprint), safe to print: control
// characters become '?' (no newlines or terminal escapes) and it is cut at 200 bytes.
std::string peerText(std::string_view text);
kj::ArrayPtr<const kj::byte> idBytes(const SiteId& id);

void writeIds(capnp::List<capnp::Data>::Builder out, const std::vector<SiteId>& ids);
std::vector<SiteId> readIds(capnp::List<capnp::Data>::Reader in, const char* what);

void writeHello(wire::Hello::Builder out, const Hello& h);
// Keys of tracked tables, and range summaries (parley verify against a server).
void writeRow(capnp::List<wire::Value>::Builder out, const Row& row);
Row readRow(capnp::List<wire::Value>::Reader in);
void writeSummary(wire::RangeSummary::Builder out, const RangeSummary& summary);
RangeSummary readSummary(wire::RangeSummary::Reader in);
// A server lists at most this many keys of a range in one reply.
inline constexpr std::size_t kMaxListedKeys = 4096;

// A site's state as a sync ends (sync.capnp State).
void writeEndState(wire::State::Builder out, const EndState& state);
std::optional<EndState> readEndState(wire::State::Reader in);  // nullopt: nothing said
void writeHeads(capnp::List<wire::ChainHead>::Builder out, const std::vector<ChainHead>& heads);
std::vector<ChainHead> readHeads(capnp::List<wire::ChainHead>::Reader in);
void writeDigests(capnp::List<wire::TableDigest>::Builder out, const std::vector<TableDigest>& digests);
std::vector<TableDigest> readDigests(capnp::List<wire::TableDigest>::Reader in);
Hello readHello(wire::Hello::Reader in);
void writeChunk(wire::Chunk::Builder out, const Chunk& c);
Chunk readChunk(wire::Chunk::Reader in);

}  // namespace parley::sync
