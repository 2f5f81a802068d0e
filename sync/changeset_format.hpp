// The bytes of a change-set file (parley/sync/changeset.hpp): writing them and reading them
// back, every length, checksum and message checked. Internal to sync/: the file link
// (file_link.cpp) reads through FileReader, export writes through FileWriter.
//
// Layout: magic "PARLEYCS", the format version, the header (length, Cap'n Proto FileHeader,
// CRC-32), chunks (length, Cap'n Proto Chunk, CRC-32; a zero length ends them), the trailer
// (transaction count, CRC-32 over the chunks' CRCs in order).
#pragma once

#include <boost/crc.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "parley/sync/changeset.hpp"
#include "parley/sync/session.hpp"

namespace parley::sync {

// Text from a file, or a decoder's description of it, as one printable line: bytes outside
// printable ASCII become '?' (a hostile file could hold newlines or terminal escapes), and it
// is cut at 200 characters.
std::string printable(std::string_view text);
// `s` with any control character of its message replaced, so a user always sees one line
// (messages from the apply engine may quote names taken from the file).
Status oneLine(const Status& s);

// Writes to `path` through a temporary file renamed into place, so no half file is ever seen.
// Errors are thrown (Error, with the context "export").
class FileWriter {
 public:
  explicit FileWriter(std::string path);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  void write(std::string_view bytes);
  void commit();
  std::uint64_t written() const { return written_; }

 private:
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  std::uint64_t written_ = 0;
};

// The magic, format version and header of a file.
std::string encodeHead(const FileInfo& info, const Acks& acks);
// One chunk, framed (length, message, CRC-32); `crcs` takes its CRC for the trailer.
std::string encodeChunkFrame(const Chunk& chunk, boost::crc_32_type& crcs);
// The end of the chunks and the trailer.
std::string encodeTrailer(std::uint64_t transactions, const boost::crc_32_type& crcs);

// Reads a change-set file front to back, checking every length, checksum and message. A
// problem is an Error (kCorruption, kNotFound) naming the file and the byte.
class FileReader {
 public:
  explicit FileReader(const std::string& path);

  FileInfo readHeader(Acks& acks);
  // The next chunk, or nullopt at the trailer (whose count and checksum it verifies).
  std::optional<Chunk> nextChunk();

  std::uint64_t transactions() const { return transactions_; }
  std::uint64_t offset() const { return offset_; }
  // The header's CRC-32, read by readHeader().
  std::uint32_t headerChecksum() const { return headerCrc_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  std::string read(std::size_t n, const char* what);
  template <class T>
  T get(const char* what);
  std::string payload(std::uint32_t length, std::uint32_t limit, const char* what, bool chunk = true);
  template <class Root, class F>
  auto withMessage(const std::string& bytes, const char* what, F&& f);
  FileInfo parseHeader(const std::string& bytes, Acks& acks);
  Chunk parseChunk(const std::string& bytes);
  void readTrailer();

  std::string path_;
  std::ifstream in_;
  std::uint64_t offset_ = 0;
  std::uint64_t transactions_ = 0;
  std::uint32_t headerCrc_ = 0;
  boost::crc_32_type chunks_;  // over the chunks' CRCs in order, as the writer's
};

}  // namespace parley::sync
