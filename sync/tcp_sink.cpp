#include "tcp_sink.hpp"

#include "tcp_status.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

Chunk readChecked(wire::Chunk::Reader reader) {
  try {
    return readChunk(reader);
  } catch (const Error& e) {
    throwStatus(e.status());
  }
}

}  // namespace

void answerFinish(wire::ChangeSink::FinishResults::Builder results, Site& site, const ApplyTotals& totals) {
  VersionVector vector = take(site.vector());
  writeVector(results.initVector(static_cast<unsigned>(vector.entries().size())), vector);
  results.setApplied(totals.applied);
  results.setConflicts(totals.conflicts);
}

kj::Promise<void> StreamSink::write(WriteContext context) {
  Chunk chunk = readChecked(context.getParams().getChunk());
  check(stream_->write(std::move(chunk)));
  return kj::READY_NOW;
}

kj::Promise<void> StreamSink::finish(FinishContext context) {
  check(stream_->finish());
  answerFinish(context.getResults(), site_, stream_->totals());
  return kj::READY_NOW;
}

}  // namespace parley::sync
