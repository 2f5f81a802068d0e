// The receiving end of a stream of transactions over RPC, on either side of a sync.
//
// Each chunk is applied as it arrives, in one Site::apply() that commits, so a connection
// lost mid-stream keeps every transaction that arrived whole and the next sync resumes from
// there. The sink holds no more than one chunk plus a transaction cut across chunks; Cap'n
// Proto's stream flow control keeps the sender from running further ahead. Lives on the
// event loop thread of the site it applies to.
#pragma once

#include <memory>

#include "parley/site.hpp"
#include "parley/sync/link.hpp"
#include "sync.capnp.h"

namespace parley::sync {

// The answer to a stream's finish(): what the receiving site holds after it, and what it applied.
void answerFinish(wire::ChangeSink::FinishResults::Builder results, Site& site, const ApplyTotals& totals);

// The RPC end of a stream applied as it arrives (ApplyingStream, link.hpp): a server's push
// (from its Responder), a subscriber's live stream.
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
