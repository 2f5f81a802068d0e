#include "parley/sync/file_link.hpp"

#include "changeset_format.hpp"

namespace parley::sync {

Result<Hello> FileLink::hello(const Hello&) {
  try {
    FileReader reader(path_);
    info_ = reader.readHeader(acks_);
    headerChecksum_ = reader.headerChecksum();
    greeted_ = true;
  } catch (const Error& e) {
    return oneLine(e.status());
  }
  return Hello{kProtocolVersion, info_.cluster, info_.origin,  info_.originName, info_.fingerprint,
               info_.upTo,       acks_,         info_.heads,   info_.digests,    info_.forgotten};
}

Status FileLink::pull(const VersionVector&, ChunkSink& sink) {
  if (!greeted_) return Status::invalidArgument("pull before hello");
  try {
    FileReader reader(path_);
    Acks acks;
    reader.readHeader(acks);
    if (reader.headerChecksum() != headerChecksum_)
      return Status::corruption(path_ + ": the file changed while it was read");
    bytesRead_ = reader.offset();
    while (auto chunk = reader.nextChunk()) {
      bytesRead_ = reader.offset();
      if (auto st = sink.write(std::move(*chunk)); !st) return st;
    }
    bytesRead_ = reader.offset();
    info_.transactions = reader.transactions();
    whole_ = true;
  } catch (const Error& e) {
    return oneLine(e.status());
  }
  return sink.finish();
}

Result<std::unique_ptr<ChunkSink>> FileLink::push() {
  return Status::unsupported(path_ + ": a change-set file takes nothing; a session over it is one way");
}

Result<Goodbye> FileLink::acknowledge(const Goodbye&) {
  if (!whole_) return Status::invalidArgument(path_ + ": goodbye before the file was read to its end");
  return Goodbye{acks_, EndState{info_.upTo, info_.digests}};
}

}  // namespace parley::sync
