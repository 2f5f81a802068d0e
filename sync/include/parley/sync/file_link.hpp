// The link whose peer is a change-set file being read (changeset.hpp): the exporter, as it
// wrote itself down. Its hello is the file's header (the exporter's hello: cluster, site,
// fingerprint, the vector it held, chain heads, digests, forgotten sites), a pull yields the
// file's chunks, and its goodbye (the exporter's acknowledgements and end state, also in the
// header) is given only once a pull has read the file to its trailer and verified it. Nothing
// can be pushed to a file: a session over it is one way (SessionOptions::push = false).
//
//   FileLink link("ny.pcs");
//   SessionOptions options;
//   options.push = false;
//   auto r = runSession(site, link, options);  // what importChanges does, with its own sink
//
// Every pull (and source) reads the file afresh, so it may be pulled again (import verifies a large file
// whole, then pulls it again to apply it). A file found changed between its hello and a pull
// is refused. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "parley/sync/changeset.hpp"
#include "parley/sync/link.hpp"

namespace parley::sync {

class FileLink final : public Link {
 public:
  explicit FileLink(std::string path) : path_(std::move(path)) {}

  // Reads the header; `mine` is not written anywhere. kCorruption (a truncated, corrupt or
  // foreign file, naming it and the byte) or kNotFound.
  Result<Hello> hello(const Hello& mine) override;
  // Streams every chunk of the file into `sink` (sink.drain(), from source()), whatever `since`
  // (a receiver ignores what it holds), then checks the trailer and finishes the sink.
  // REQUIRES: hello() first.
  Status pull(const VersionVector& since, ChunkSink& sink) override;
  // The file's chunks, read as they are asked for; the end once the trailer is verified.
  Result<std::unique_ptr<ChunkSource>> source(const VersionVector& since) override;
  // kUnsupported: a file takes nothing.
  Result<std::unique_ptr<ChunkSink>> push() override;
  // The exporter's goodbye. kInvalidArgument until a pull read the whole file.
  Result<Goodbye> acknowledge(const Goodbye& mine) override;

  const std::string& path() const { return path_; }
  // The header as read by hello(); its transaction count once a pull has read the trailer.
  const FileInfo& info() const { return info_; }
  // Where the pull under way (or the last one) is in the file, in bytes.
  std::uint64_t bytesRead() const { return bytesRead_; }

 private:
  class Source;
  std::string path_;
  FileInfo info_;
  Acks acks_;
  std::uint32_t headerChecksum_ = 0;
  bool greeted_ = false;
  bool whole_ = false;  // a pull read the file to its verified trailer
  std::uint64_t bytesRead_ = 0;
};

}  // namespace parley::sync
