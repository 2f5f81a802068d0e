#include "wire.hpp"

namespace parley::sync {

kj::ArrayPtr<const kj::byte> idBytes(const SiteId& id) { return kj::arrayPtr(id.bytes.data(), 16); }

SiteId readId(capnp::Data::Reader bytes, const char* what) {
  if (bytes.size() != 16)
    throw Error(Status::corruption(std::string(what) + ": a site id of " + std::to_string(bytes.size()) + " bytes"));
  return SiteId::fromBytes(bytes.begin(), 16);
}

void writeVector(capnp::List<wire::VectorEntry>::Builder out, const VersionVector& v) {
  unsigned i = 0;
  for (const auto& [site, seq] : v.entries()) {
    out[i].setSite(idBytes(site));
    out[i].setSeq(seq);
    ++i;
  }
}

VersionVector readVector(capnp::List<wire::VectorEntry>::Reader in) {
  VersionVector v;
  for (auto e : in) v.advance({readId(e.getSite(), "version vector"), e.getSeq()});
  return v;
}

void writeAcks(capnp::List<wire::Ack>::Builder out, const Acks& acks) {
  for (unsigned i = 0; i < acks.size(); ++i) {
    out[i].setSite(idBytes(acks[i].first));
    writeVector(out[i].initVector(static_cast<unsigned>(acks[i].second.entries().size())), acks[i].second);
  }
}

Acks readAcks(capnp::List<wire::Ack>::Reader in) {
  Acks out;
  for (auto a : in) out.push_back({readId(a.getSite(), "acknowledgement"), readVector(a.getVector())});
  return out;
}

void writeIds(capnp::List<capnp::Data>::Builder out, const std::vector<SiteId>& ids) {
  for (unsigned i = 0; i < ids.size(); ++i) out.set(i, idBytes(ids[i]));
}

std::vector<SiteId> readIds(capnp::List<capnp::Data>::Reader in, const char* what) {
  std::vector<SiteId> out;
  for (auto id : in) out.push_back(readId(id, what));
  return out;
}

void writeHello(wire::Hello::Builder out, const Hello& h) {
  out.setProtocolVersion(h.protocolVersion);
  out.setCluster(idBytes(h.cluster));
  out.setSite(idBytes(h.site));
  out.setName(h.name);
  out.setFingerprint(h.fingerprint);
  writeVector(out.initVector(static_cast<unsigned>(h.vector.entries().size())), h.vector);
  writeAcks(out.initAcks(static_cast<unsigned>(h.acks.size())), h.acks);
  writeHeads(out.initHeads(static_cast<unsigned>(h.heads.size())), h.heads);
  writeDigests(out.initDigests(static_cast<unsigned>(h.digests.size())), h.digests);
  writeIds(out.initForgotten(static_cast<unsigned>(h.forgotten.size())), h.forgotten);
}

void writeHeads(capnp::List<wire::ChainHead>::Builder out, const std::vector<ChainHead>& heads) {
  for (unsigned i = 0; i < heads.size(); ++i) {
    out[i].setSite(idBytes(heads[i].site));
    out[i].setSeq(heads[i].seq);
    if (!heads[i].hash.empty()) out[i].setHash(kj::arrayPtr(heads[i].hash.bytes.data(), heads[i].hash.bytes.size()));
  }
}

std::vector<ChainHead> readHeads(capnp::List<wire::ChainHead>::Reader in) {
  std::vector<ChainHead> out;
  for (auto h : in) {
    ChainHead head{readId(h.getSite(), "chain head"), h.getSeq(), {}};
    auto hash = h.getHash();
    if (hash.size() == head.hash.bytes.size()) std::copy(hash.begin(), hash.end(), head.hash.bytes.begin());
    else if (hash.size() != 0) throw Error(Status::corruption("chain head: a hash of " + std::to_string(hash.size()) + " bytes"));
    out.push_back(head);
  }
  return out;
}

void writeDigests(capnp::List<wire::TableDigest>::Builder out, const std::vector<TableDigest>& digests) {
  for (unsigned i = 0; i < digests.size(); ++i) {
    out[i].setTable(digests[i].table);
    out[i].setDigest(digests[i].digest);
  }
}

std::vector<TableDigest> readDigests(capnp::List<wire::TableDigest>::Reader in) {
  std::vector<TableDigest> out;
  for (auto d : in)
    out.push_back({std::string(d.getTable().begin(), d.getTable().size()), peerText({d.getDigest().begin(), d.getDigest().size()})});
  return out;
}

void writeRow(capnp::List<wire::Value>::Builder out, const Row& row) {
  for (unsigned i = 0; i < row.size(); ++i) {
    const Value& v = row[i];
    switch (v.type()) {
      case Value::Type::kNull: out[i].setNull(); break;
      case Value::Type::kInteger: out[i].setInteger(v.asInteger()); break;
      case Value::Type::kReal: out[i].setReal(v.asReal()); break;
      case Value::Type::kText: out[i].setText(v.asText()); break;
      case Value::Type::kBlob:
        out[i].setBlob(kj::arrayPtr(reinterpret_cast<const kj::byte*>(v.asBlob().data()), v.asBlob().size()));
        break;
    }
  }
}

Row readRow(capnp::List<wire::Value>::Reader in) {
  Row row;
  for (auto v : in) {
    switch (v.which()) {
      case wire::Value::NULL_: row.push_back(Value::null()); break;
      case wire::Value::INTEGER: row.push_back(Value::integer(v.getInteger())); break;
      case wire::Value::REAL: row.push_back(Value::real(v.getReal())); break;
      case wire::Value::TEXT: row.push_back(Value::text(std::string(v.getText().cStr(), v.getText().size()))); break;
      case wire::Value::BLOB:
        row.push_back(Value::blob(std::string(reinterpret_cast<const char*>(v.getBlob().begin()), v.getBlob().size())));
        break;
      default: throw Error(Status::corruption("a key value of an unknown kind"));
    }
  }
  return row;
}

void writeSummary(wire::RangeSummary::Builder out, const RangeSummary& summary) {
  out.setRows(summary.rows);
  out.setDigest(summary.digest);
  if (summary.middle) writeRow(out.initMiddle(static_cast<unsigned>(summary.middle->size())), *summary.middle);
  auto keys = out.initKeys(static_cast<unsigned>(summary.keys.size()));
  for (unsigned i = 0; i < summary.keys.size(); ++i) {
    writeRow(keys[i].initKey(static_cast<unsigned>(summary.keys[i].first.size())), summary.keys[i].first);
    keys[i].setDigest(summary.keys[i].second);
  }
}

RangeSummary readSummary(wire::RangeSummary::Reader in) {
  RangeSummary out;
  out.rows = in.getRows();
  out.digest = peerText({in.getDigest().begin(), in.getDigest().size()});
  if (in.getMiddle().size() > 0) out.middle = readRow(in.getMiddle());
  for (auto k : in.getKeys()) out.keys.push_back({readRow(k.getKey()), peerText({k.getDigest().begin(), k.getDigest().size()})});
  return out;
}

void writeEndState(wire::State::Builder out, const EndState& state) {
  writeVector(out.initVector(static_cast<unsigned>(state.vector.entries().size())), state.vector);
  writeDigests(out.initDigests(static_cast<unsigned>(state.digests.size())), state.digests);
}

std::optional<EndState> readEndState(wire::State::Reader in) {
  if (!in.hasVector()) return std::nullopt;
  return EndState{readVector(in.getVector()), readDigests(in.getDigests())};
}

std::string peerText(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

Hello readHello(wire::Hello::Reader in) {
  Hello h;
  h.protocolVersion = in.getProtocolVersion();
  h.cluster = readId(in.getCluster(), "hello");
  h.site = readId(in.getSite(), "hello");
  h.name = peerText({in.getName().begin(), in.getName().size()});
  h.fingerprint = peerText({in.getFingerprint().begin(), in.getFingerprint().size()});
  h.vector = readVector(in.getVector());
  h.acks = readAcks(in.getAcks());
  h.heads = readHeads(in.getHeads());
  h.digests = readDigests(in.getDigests());
  h.forgotten = readIds(in.getForgotten(), "hello");
  return h;
}

void writeChunk(wire::Chunk::Builder out, const Chunk& c) {
  auto pieces = out.initPieces(static_cast<unsigned>(c.pieces.size()));
  for (unsigned i = 0; i < c.pieces.size(); ++i) {
    const auto& body = c.pieces[i].body;
    pieces[i].setBody(kj::arrayPtr(reinterpret_cast<const kj::byte*>(body.data()), body.size()));
    pieces[i].setLast(c.pieces[i].last);
  }
}

Chunk readChunk(wire::Chunk::Reader in) {
  Chunk c;
  for (auto p : in.getPieces()) {
    auto body = p.getBody();
    c.pieces.push_back({std::string(reinterpret_cast<const char*>(body.begin()), body.size()), p.getLast()});
    c.bytes += body.size();
  }
  return c;
}

}  // namespace parley::sync
