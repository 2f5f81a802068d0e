#include "parley/sync/file_link.hpp"

#include "changeset_format.hpp"

namespace parley::sync {

// The file's chunks, a FileReader's, telling the link how far it got.
class FileLink::Source final : public ChunkSource {
 public:
  explicit Source(FileLink& link) : link_(link), reader_(link.path_) {
    Acks acks;
    reader_.readHeader(acks);
    if (reader_.headerChecksum() != link_.headerChecksum_)
      throw Error(Status::corruption(link_.path_ + ": the file changed while it was read"));
    link_.bytesRead_ = reader_.offset();
  }

  Result<std::optional<Chunk>> next() override {
    try {
      auto chunk = reader_.nextChunk();
      link_.bytesRead_ = reader_.offset();
      if (!chunk) {
        link_.info_.transactions = reader_.transactions();
        link_.whole_ = true;
      }
      return chunk;
    } catch (const Error& e) {
      return oneLine(e.status());
    }
  }

 private:
  FileLink& link_;
  FileReader reader_;
};

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

Result<std::unique_ptr<ChunkSource>> FileLink::source(const VersionVector&) {
  if (!greeted_) return Status::invalidArgument("pull before hello");
  try {
    return std::unique_ptr<ChunkSource>(std::make_unique<Source>(*this));
  } catch (const Error& e) {
    return oneLine(e.status());
  }
}

Status FileLink::pull(const VersionVector& since, ChunkSink& sink) {
  auto chunks = source(since);
  if (!chunks) return chunks.status();
  return sink.drain(**chunks);
}

Result<std::unique_ptr<ChunkSink>> FileLink::push() {
  return Status::unsupported(path_ + ": a change-set file takes nothing; a session over it is one way");
}

Result<Goodbye> FileLink::acknowledge(const Goodbye&) {
  if (!whole_) return Status::invalidArgument(path_ + ": goodbye before the file was read to its end");
  return Goodbye{acks_, EndState{info_.upTo, info_.digests}};
}

}  // namespace parley::sync
