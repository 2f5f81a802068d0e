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

kj::Promise<void> ApplyingSink::write(WriteContext context) {
  if (received_->finished) throwStatus(Status::invalidArgument("a chunk arrived after the end of the stream"));
  Chunk chunk = readChecked(context.getParams().getChunk());
  check(received_->applier.apply(chunk));
  for (const auto& piece : chunk.pieces) received_->transactions += piece.last;
  report();
  return kj::READY_NOW;
}

// Calls the progress callback; one that throws stops the stream, with its reason kept.
void ApplyingSink::report() {
  if (!progress_) return;
  try {
    progress_(received_->transactions);
  } catch (const std::exception& e) {
    received_->interrupted = e.what();
    throwStatus(Status::ioError(std::string("interrupted: ") + e.what()));
  }
}

kj::Promise<void> ApplyingSink::finish(FinishContext context) {
  if (received_->finished) throwStatus(Status::invalidArgument("the stream ended twice"));
  received_->finished = true;
  check(received_->applier.finish());
  answerFinish(context.getResults(), site_, received_->applier.totals());
  return kj::READY_NOW;
}

void answerFinish(wire::ChangeSink::FinishResults::Builder results, Site& site, const ApplyTotals& totals) {
  VersionVector vector = take(site.vector());
  writeVector(results.initVector(static_cast<unsigned>(vector.entries().size())), vector);
  results.setApplied(totals.applied);
  results.setConflicts(totals.conflicts);
}

kj::Promise<void> StreamSink::write(WriteContext context) {
  check(stream_->write(readChecked(context.getParams().getChunk())));
  return kj::READY_NOW;
}

kj::Promise<void> StreamSink::finish(FinishContext context) {
  check(stream_->finish());
  const ApplyTotals totals = stream_->totals();
  auto results = context.getResults();
  VersionVector vector = take(site_.vector());
  writeVector(results.initVector(static_cast<unsigned>(vector.entries().size())), vector);
  results.setApplied(totals.applied);
  results.setConflicts(totals.conflicts);
  return kj::READY_NOW;
}

}  // namespace parley::sync
