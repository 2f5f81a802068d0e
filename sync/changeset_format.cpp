#include "changeset_format.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "wire.hpp"

namespace parley::sync {
namespace {

constexpr char kMagic[8] = {'P', 'A', 'R', 'L', 'E', 'Y', 'C', 'S'};
constexpr std::uint32_t kMaxHeaderBytes = 1 << 20;
constexpr std::uint32_t kMaxChunkBytes = 64 << 20;

// CRC-32 (ISO-HDLC, as boost::crc_32_type and zlib compute it). zlib's: several times the
// speed of a byte-table loop, on every chunk an import reads.
std::uint32_t checksum(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

std::string flat(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

template <class T>
void put(std::string& out, T v) {
  char raw[sizeof(T)];
  std::memcpy(raw, &v, sizeof(T));  // little-endian hosts only, as Cap'n Proto itself
  out.append(raw, sizeof(T));
}

std::string encodeHeader(const FileInfo& info, const Acks& acks) {
  capnp::MallocMessageBuilder message;
  auto h = message.initRoot<wire::FileHeader>();
  h.setCluster(idBytes(info.cluster));
  h.setOrigin(idBytes(info.origin));
  h.setOriginName(info.originName);
  h.setFingerprint(info.fingerprint);
  writeVector(h.initSince(static_cast<unsigned>(info.since.entries().size())), info.since);
  writeVector(h.initUpTo(static_cast<unsigned>(info.upTo.entries().size())), info.upTo);
  h.setCreatedMs(info.createdMs);
  writeAcks(h.initAcks(static_cast<unsigned>(acks.size())), acks);
  writeHeads(h.initHeads(static_cast<unsigned>(info.heads.size())), info.heads);
  writeDigests(h.initDigests(static_cast<unsigned>(info.digests.size())), info.digests);
  writeIds(h.initForgotten(static_cast<unsigned>(info.forgotten.size())), info.forgotten);
  return flat(message);
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  if (text.size() > 200) out += "...";
  return out;
}

Status oneLine(const Status& s) {
  std::string m = s.message();
  for (auto& c : m)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (m == s.message()) return s;
  return Status(s.code(), m);
}

FileWriter::FileWriter(std::string path) : path_(std::move(path)), tmp_(path_ + ".part") {
  file_ = std::fopen(tmp_.c_str(), "wbx");
  if (!file_)
    throw Error(Status::ioError(fmt::format("cannot create {}: {}", tmp_, std::strerror(errno))).withContext("export"));
}

FileWriter::~FileWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(tmp_.c_str());
  }
}

void FileWriter::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    throw Error(Status::ioError(fmt::format("writing {}: {}", tmp_, std::strerror(errno))).withContext("export"));
  written_ += bytes.size();
}

void FileWriter::commit() {
  bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  ok = std::fclose(file_) == 0 && ok;
  file_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    throw Error(Status::ioError(fmt::format("finishing {}: {}", path_, std::strerror(errno))).withContext("export"));
  }
}

std::string encodeHead(const FileInfo& info, const Acks& acks) {
  std::string head(kMagic, 8);
  put(head, kFileFormatVersion);
  std::string header = encodeHeader(info, acks);
  put(head, static_cast<std::uint32_t>(header.size()));
  head += header;
  put(head, checksum(header));
  return head;
}

std::string encodeChunkFrame(const Chunk& chunk, boost::crc_32_type& crcs) {
  capnp::MallocMessageBuilder message;
  writeChunk(message.initRoot<wire::Chunk>(), chunk);
  std::string bytes = flat(message), frame;
  put(frame, static_cast<std::uint32_t>(bytes.size()));
  std::uint32_t crc = checksum(bytes);
  frame += bytes;
  put(frame, crc);
  // The trailer's checksum: a CRC-32 over the chunks' CRCs in file order, so that chunks
  // reordered, dropped or repeated are caught even when each chunk is intact.
  crcs.process_bytes(&crc, sizeof crc);
  return frame;
}

std::string encodeTrailer(std::uint64_t transactions, const boost::crc_32_type& crcs) {
  std::string trailer;
  put(trailer, std::uint32_t{0});
  put(trailer, transactions);
  put(trailer, static_cast<std::uint32_t>(crcs.checksum()));
  return trailer;
}

FileReader::FileReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) throw Error(Status::notFound(fmt::format("{}: cannot open: {}", path, std::strerror(errno))));
}

FileInfo FileReader::readHeader(Acks& acks) {
  std::string magic = read(8, "magic");
  if (std::memcmp(magic.data(), kMagic, 8) != 0) fail("not a parley change-set file (bad magic)");
  auto version = get<std::uint32_t>("format version");
  if (version != kFileFormatVersion)
    fail(fmt::format("change-set format {} is not supported (this parley reads {})", version, kFileFormatVersion));
  // The header's CRC is not part of the trailer's checksum, which covers the chunks only.
  std::string bytes = payload(get<std::uint32_t>("header"), kMaxHeaderBytes, "header", false);
  headerCrc_ = checksum(bytes);
  return parseHeader(bytes, acks);
}

std::optional<Chunk> FileReader::nextChunk() {
  auto length = get<std::uint32_t>("chunk length");
  if (length == 0) {
    readTrailer();
    return std::nullopt;
  }
  std::string bytes = payload(length, kMaxChunkBytes, "chunk");
  return parseChunk(bytes);
}

void FileReader::fail(const std::string& what) const {
  throw Error(Status::corruption(fmt::format("{}: {} (at byte {})", path_, what, offset_)));
}

std::string FileReader::read(std::size_t n, const char* what) {
  std::string out(n, '\0');
  in_.read(out.data(), static_cast<std::streamsize>(n));
  if (static_cast<std::size_t>(in_.gcount()) != n) fail(fmt::format("truncated in the {}", what));
  offset_ += n;
  return out;
}

template <class T>
T FileReader::get(const char* what) {
  std::string raw = read(sizeof(T), what);
  T v;
  std::memcpy(&v, raw.data(), sizeof(T));
  return v;
}

std::string FileReader::payload(std::uint32_t length, std::uint32_t limit, const char* what, bool chunk) {
  if (length > limit || length % 8 != 0) fail(fmt::format("bad {} length {}", what, length));
  std::string bytes = read(length, what);
  auto crc = get<std::uint32_t>("checksum");
  if (crc != checksum(bytes)) fail(fmt::format("{} checksum mismatch", what));
  if (chunk) chunks_.process_bytes(&crc, sizeof crc);
  return bytes;
}

template <class Root, class F>
auto FileReader::withMessage(const std::string& bytes, const char* what, F&& f) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / 8);
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  try {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() + 1024;
    options.nestingLimit = 16;
    capnp::FlatArrayMessageReader message(words, options);
    return f(message.getRoot<Root>());
  } catch (const kj::Exception& e) {
    fail(fmt::format("malformed {}: {}", what, printable(e.getDescription().cStr())));
  }
}

FileInfo FileReader::parseHeader(const std::string& bytes, Acks& acks) {
  return withMessage<wire::FileHeader>(bytes, "header", [&](wire::FileHeader::Reader h) {
    FileInfo info;
    info.cluster = readId(h.getCluster(), "header");
    info.origin = readId(h.getOrigin(), "header");
    info.originName = peerText({h.getOriginName().begin(), h.getOriginName().size()});
    info.fingerprint = peerText({h.getFingerprint().begin(), h.getFingerprint().size()});
    info.since = readVector(h.getSince());
    info.upTo = readVector(h.getUpTo());
    info.createdMs = h.getCreatedMs();
    acks = readAcks(h.getAcks());
    info.heads = readHeads(h.getHeads());
    info.digests = readDigests(h.getDigests());
    info.forgotten = readIds(h.getForgotten(), "header");
    return info;
  });
}

Chunk FileReader::parseChunk(const std::string& bytes) {
  Chunk chunk = withMessage<wire::Chunk>(bytes, "chunk", [](wire::Chunk::Reader c) { return readChunk(c); });
  for (const auto& p : chunk.pieces) transactions_ += p.last;
  return chunk;
}

void FileReader::readTrailer() {
  auto count = get<std::uint64_t>("trailer");
  auto check = get<std::uint32_t>("trailer checksum");
  if (count != transactions_) fail(fmt::format("trailer says {} transactions, the file holds {}", count, transactions_));
  if (check != chunks_.checksum()) fail("trailer checksum mismatch");
  if (in_.peek() != std::char_traits<char>::eof()) fail("bytes after the trailer");
}

}  // namespace parley::sync
