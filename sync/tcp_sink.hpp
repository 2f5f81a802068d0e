// The receiving end of a stream of transactions over RPC, on either side of a sync.
//
// Each chunk is applied as it arrives, in one Site::apply() that commits, so a connection
// lost mid-stream keeps every transaction that arrived whole and the next sync resumes from
// there. The sink holds no more than one chunk plus a transaction cut across chunks; Cap'n
// Proto's stream flow control keeps the sender from running further ahead. Lives on the
// event loop thread of the site it applies to.
#pragma once

#include <memory>
#include <string>

#include "parley/site.hpp"
#include "parley/sync/link.hpp"
#include "sync.capnp.h"

namespace parley::sync {

// What a sink did, shared with whoever made it (the sink may outlive either).
struct Received {
  explicit Received(Site& site) : applier(site) {}
  ChunkApplier applier;
  std::uint64_t transactions = 0;  // complete transactions received
  bool finished = false;
  std::string interrupted;  // why the progress callback stopped the stream, if it did
};

// The answer to a stream's finish(): what the receiving site holds after it, and what it applied.
void answerFinish(wire::ChangeSink::FinishResults::Builder results, Site& site, const ApplyTotals& totals);

class ApplyingSink final : public wire::ChangeSink::Server {
 public:
  ApplyingSink(Site& site, std::shared_ptr<Received> received, Progress progress = {})
      : site_(site), received_(std::move(received)), progress_(std::move(progress)) {}

 protected:
  kj::Promise<void> write(WriteContext context) override;
  kj::Promise<void> finish(FinishContext context) override;

 private:
  void report();

  Site& site_;
  std::shared_ptr<Received> received_;
  Progress progress_;
};

// The RPC end of a stream a session's Responder applies (a server's push).
class StreamSink final : public wire::ChangeSink::Server {
 public:
  StreamSink(Site& site, std::shared_ptr<ApplyingStream> stream) : site_(site), stream_(std::move(stream)) {}

 protected:
  kj::Promise<void> write(WriteContext context) override;
  kj::Promise<void> finish(FinishContext context) override;

 private:
  Site& site_;
  std::shared_ptr<ApplyingStream> stream_;
};

}  // namespace parley::sync
