#include "parley/sync/changeset.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <zlib.h>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <deque>
#include <fmt/format.h>
#include <fstream>

#include "parley/replication.hpp"
#include "parley/sync/link.hpp"
#include "parley/txn_codec.hpp"
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

// Text from a file, or a decoder's description of it, as one printable line: bytes outside
// printable ASCII become '?' (a hostile file could hold newlines or terminal escapes), and it
// is cut at 200 characters.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  if (text.size() > 200) out += "...";
  return out;
}

// `s` with any control character of its message replaced, so a user always sees one line
// (messages from the apply engine may quote names taken from the file).
Status oneLine(const Status& s) {
  std::string m = s.message();
  for (auto& c : m)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (m == s.message()) return s;
  return Status(s.code(), m);
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

// Writes to `path` through a temporary file renamed into place, so no half file is ever seen.
class FileWriter {
 public:
  explicit FileWriter(std::string path) : path_(std::move(path)), tmp_(path_ + ".part") {
    file_ = std::fopen(tmp_.c_str(), "wbx");
    if (!file_) throw Error(Status::ioError(fmt::format("cannot create {}: {}", tmp_, std::strerror(errno))).withContext("export"));
  }
  ~FileWriter() {
    if (file_) {
      std::fclose(file_);
      std::remove(tmp_.c_str());
    }
  }
  void write(std::string_view bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
      throw Error(Status::ioError(fmt::format("writing {}: {}", tmp_, std::strerror(errno))).withContext("export"));
    written_ += bytes.size();
  }
  void commit() {
    bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    ok = std::fclose(file_) == 0 && ok;
    file_ = nullptr;
    if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      std::remove(tmp_.c_str());
      throw Error(Status::ioError(fmt::format("finishing {}: {}", path_, std::strerror(errno))).withContext("export"));
    }
  }
  std::uint64_t written() const { return written_; }

 private:
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  std::uint64_t written_ = 0;
};

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

std::string encodeChunk(const Chunk& chunk) {
  capnp::MallocMessageBuilder message;
  writeChunk(message.initRoot<wire::Chunk>(), chunk);
  return flat(message);
}

// Reads a change-set file front to back, checking every length, checksum and message.
class FileReader {
 public:
  explicit FileReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw Error(Status::notFound(fmt::format("{}: cannot open: {}", path, std::strerror(errno))));
  }

  FileInfo readHeader(Acks& acks) {
    std::string magic = read(8, "magic");
    if (std::memcmp(magic.data(), kMagic, 8) != 0) fail("not a parley change-set file (bad magic)");
    auto version = get<std::uint32_t>("format version");
    if (version != kFileFormatVersion)
      fail(fmt::format("change-set format {} is not supported (this parley reads {})", version, kFileFormatVersion));
    std::string bytes = framed(kMaxHeaderBytes, "header");
    return parseHeader(bytes, acks);
  }

  // The next chunk, or nullopt at the trailer (whose count and checksum it verifies).
  std::optional<Chunk> nextChunk() {
    auto length = get<std::uint32_t>("chunk length");
    if (length == 0) {
      readTrailer();
      return std::nullopt;
    }
    std::string bytes = payload(length, kMaxChunkBytes, "chunk");
    return parseChunk(bytes);
  }

  std::uint64_t transactions() const { return transactions_; }
  std::uint64_t offset() const { return offset_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(Status::corruption(fmt::format("{}: {} (at byte {})", path_, what, offset_)));
  }

  std::string read(std::size_t n, const char* what) {
    std::string out(n, '\0');
    in_.read(out.data(), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in_.gcount()) != n) fail(fmt::format("truncated in the {}", what));
    offset_ += n;
    return out;
  }

  template <class T>
  T get(const char* what) {
    std::string raw = read(sizeof(T), what);
    T v;
    std::memcpy(&v, raw.data(), sizeof(T));
    return v;
  }

  // The header's CRC is not part of the trailer's checksum, which covers the chunks only.
  std::string framed(std::uint32_t limit, const char* what) {
    return payload(get<std::uint32_t>(what), limit, what, false);
  }

  std::string payload(std::uint32_t length, std::uint32_t limit, const char* what, bool chunk = true) {
    if (length > limit || length % 8 != 0) fail(fmt::format("bad {} length {}", what, length));
    std::string bytes = read(length, what);
    auto crc = get<std::uint32_t>("checksum");
    if (crc != checksum(bytes)) fail(fmt::format("{} checksum mismatch", what));
    if (chunk) chunks_.process_bytes(&crc, sizeof crc);
    return bytes;
  }

  template <class Root, class F>
  auto withMessage(const std::string& bytes, const char* what, F&& f) {
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

  FileInfo parseHeader(const std::string& bytes, Acks& acks) {
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

  Chunk parseChunk(const std::string& bytes) {
    Chunk chunk = withMessage<wire::Chunk>(bytes, "chunk", [](wire::Chunk::Reader c) { return readChunk(c); });
    for (const auto& p : chunk.pieces) transactions_ += p.last;
    return chunk;
  }

  void readTrailer() {
    auto count = get<std::uint64_t>("trailer");
    auto check = get<std::uint32_t>("trailer checksum");
    if (count != transactions_) fail(fmt::format("trailer says {} transactions, the file holds {}", count, transactions_));
    if (check != chunks_.checksum()) fail("trailer checksum mismatch");
    if (in_.peek() != std::char_traits<char>::eof()) fail("bytes after the trailer");
  }

  std::string path_;
  std::ifstream in_;
  std::uint64_t offset_ = 0;
  std::uint64_t transactions_ = 0;
  boost::crc_32_type chunks_;  // over the chunks' CRCs in order, as the writer's
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// decodeTransaction(body, into), its error naming the file.
void decodeIn(const std::string& path, std::string_view body, Transaction& into) {
  if (Status st = decodeTransaction(body, into); !st)
    throw Error(Status::corruption(fmt::format("{}: {}", path, printable(st.message()))));
}

// A change-set file's transactions, read and decoded one by one and checked to apply at
// `site` (cluster, schema, fit, causal readiness) without applying anything: a problem is an
// Error saying which file and what.
class CheckedReader {
 public:
  CheckedReader(const std::string& path, const Site* site) : path_(path), site_(site), reader_(path) {
    info_ = reader_.readHeader(acks_);
    if (site) {
      if (info_.cluster != site->clusterId())
        throw Error(Status::invalidArgument(fmt::format("{}: change set of another cluster ({}, this site: {})", path,
                                                        info_.cluster.shortHex(), site->clusterId().shortHex())));
      if (info_.fingerprint != site->replication().schemaFingerprint())
        throw Error(Status::invalidArgument(fmt::format(
            "{}: made by {} with a different schema or resolver configuration", path, printable(info_.originName))));
      if (auto st = site->replication().checkHistories(info_.heads, info_.originName); !st)
        throw Error(Status::diverged(fmt::format("{}: {}", path, st.message())));
      held_ = valueOrThrow(site->vector());
    }
  }

  // Reads the next transaction into `t` and the bytes it was decoded from into `body`; false
  // at the end of the file, whose trailer it has then checked. `fresh` says whether the site
  // lacks it (always true without a site).
  bool next(Transaction& t, std::string& body, bool* fresh = nullptr) {
    body.clear();
    while (!done_) {
      if (at_ == chunk_.pieces.size()) {
        auto chunk = reader_.nextChunk();
        if (!chunk) {
          done_ = true;
          break;
        }
        chunk_ = std::move(*chunk);
        at_ = 0;
        continue;
      }
      auto& piece = chunk_.pieces[at_++];
      if (body.empty()) body.swap(piece.body);
      else body += piece.body;
      if (!piece.last) continue;
      decodeIn(path_, body, t);
      bool lacks = check(t);
      if (fresh) *fresh = lacks;
      return true;
    }
    if (!body.empty()) throw Error(Status::corruption(path_ + ": the file ends inside a transaction"));
    info_.transactions = reader_.transactions();
    return false;
  }

  const FileInfo& info() const { return info_; }
  Acks& acks() { return acks_; }
  std::uint64_t bytesRead() const { return reader_.offset(); }

 private:
  bool check(const Transaction& t) {
    if (!site_ || held_.contains(t.dot)) return !site_;
    if (auto fits = site_->replication().checkFits(t); !fits)
      throw Error(Status::invalidArgument(path_ + ": " + fits.message()));
    if (held_.get(t.dot.site) + 1 != t.dot.seq || !t.context.leq(held_))
      throw Error(Status::notReady(fmt::format(
          "{}: transaction {} needs transactions this site lacks (it holds {}); import the earlier change sets "
          "first",
          path_, t.dot.toString(), held_.toString())));
    held_.advance(t.dot);
    return true;
  }

  std::string path_;
  const Site* site_;
  FileReader reader_;
  FileInfo info_;
  Acks acks_;
  VersionVector held_;
  Chunk chunk_;
  std::size_t at_ = 0;
  bool done_ = false;
};

// Reads the whole file, decoding every transaction, and checks it can apply at `site`
// (cluster, schema, causal readiness) without applying anything.
FileInfo verify(const std::string& path, const Site* site, const TransferObserver& observer = {},
                TransferProgress seen = {}) {
  CheckedReader reader(path, site);
  Transaction t;
  std::string body;
  seen.phase = TransferProgress::Phase::kVerifying;
  seen.totalTransactions = transactionsLacking(reader.info().upTo, reader.info().since);
  while (reader.next(t, body)) {
    if (!observer) continue;
    ++seen.transactions, seen.rows += t.rows.size(), seen.bytes = reader.bytesRead();
    if (seen.transactions % 1024 == 0) observer(seen);
  }
  return reader.info();
}

// Hands a checked file's transactions to Site::applyEncodedBatches in batches of about
// kBatchRows rows (~23 MB decoded), decoded into the same Transactions and body strings batch
// after batch: the decoded file (~350 bytes of memory per row) never lives whole, and after
// the first batch decoding allocates little. Unless the first transaction the site lacks sorts
// before what the site holds: then the fold of each batch would undo and fold again what the
// site holds (and report its conflicts again), and the file is one batch.
class Batcher {
 public:
  static constexpr std::size_t kBatchRows = 65536;  // 4096: slower, 262144: no faster (bench/RESULTS.md)

  Batcher(CheckedReader& reader, Hlc siteLast) : reader_(reader), siteLast_(siteLast) {}

  Replication::EncodedBatch operator()() {
    std::size_t n = 0, rows = 0;
    bool fresh = false;
    while (rows < limit_) {
      if (n == pool_.size()) {
        pool_.emplace_back();
        bodies_.emplace_back();
      }
      if (!reader_.next(pool_[n], bodies_[n], &fresh)) break;
      if (fresh && !decided_) {
        decided_ = true;
        if (!(siteLast_ < pool_[n].hlc)) limit_ = SIZE_MAX;
      }
      rows += pool_[n].rows.size();
      ++n;
    }
    views_.assign(bodies_.begin(), bodies_.begin() + static_cast<std::ptrdiff_t>(n));
    return {std::span<const Transaction>(pool_.data(), n), views_};
  }

 private:
  CheckedReader& reader_;
  Hlc siteLast_;
  bool decided_ = false;
  std::size_t limit_ = kBatchRows;
  std::vector<Transaction> pool_;     // the batch is the first n
  std::deque<std::string> bodies_;    // a deque: the views into it stay valid as it grows
  std::vector<std::string_view> views_;
};

}  // namespace

Result<ExportSummary> exportChanges(Site& site, const std::string& path, const VersionVector& since,
                                    const TransferObserver& observer) {
  if (exists(path)) return Status::invalidArgument(fmt::format("{} already exists", path)).withContext("export");
  try {
    // The header is what the exporter says of itself in a session's hello (session.hpp).
    auto said = helloOf(site);
    if (!said) return said.status();
    const Acks& acks = said->acks;
    FileInfo info{said->cluster, said->site, said->name, said->fingerprint, since, std::move(said->vector), 0,
                  site.clock().nowMillis(), std::move(said->heads), std::move(said->digests),
                  std::move(said->forgotten)};
    FileWriter out(path);
    std::string head(kMagic, 8);
    put(head, kFileFormatVersion);
    std::string header = encodeHeader(info, acks);
    put(head, static_cast<std::uint32_t>(header.size()));
    head += header;
    put(head, checksum(header));
    out.write(head);
    // The trailer's checksum: a CRC-32 over the chunks' CRCs in file order, so that chunks
    // reordered, dropped or repeated are caught even when each chunk is intact.
    boost::crc_32_type chunkCrcs;
    StreamTotals totals;
    TransferProgress sent{TransferProgress::Phase::kSending};
    sent.totalTransactions = transactionsLacking(info.upTo, since);
    Status st = streamChanges(site, since, [&](Chunk&& chunk) {
      if (observer) {
        for (const auto& piece : chunk.pieces) sent.transactions += piece.last, sent.bytes += piece.body.size();
        observer(sent);
      }
      std::string bytes = encodeChunk(chunk), frame;
      put(frame, static_cast<std::uint32_t>(bytes.size()));
      std::uint32_t crc = checksum(bytes);
      frame += bytes;
      put(frame, crc);
      chunkCrcs.process_bytes(&crc, sizeof crc);
      out.write(frame);
      return Status::ok();
    }, &totals);
    if (!st) return st;
    std::string trailer;
    put(trailer, std::uint32_t{0});
    put(trailer, totals.transactions);
    put(trailer, static_cast<std::uint32_t>(chunkCrcs.checksum()));
    out.write(trailer);
    out.commit();
    info.transactions = totals.transactions;
    return ExportSummary{info, out.written()};
  } catch (const Error& e) {
    return e.status();
  } catch (const InternalError& e) {
    return e.status();
  }
}

Result<FileInfo> inspectChanges(const std::string& path) {
  try {
    return verify(path, nullptr);
  } catch (const Error& e) {
    return oneLine(e.status());
  } catch (const InternalError& e) {
    return e.status();
  }
}

Result<ImportSummary> importChanges(Site& site, const std::string& path, const TransferObserver& observer) {
  try {
    ImportSummary summary;
    // Up to kAtomicImportBytes the whole file applies in one SQLite transaction, all of it or
    // nothing, decoded and checked once, batch by batch as it is read: a problem found late
    // rolls back what earlier batches applied. A larger file is verified whole first, then
    // read again and applied chunk by chunk (each chunk all or nothing).
    std::error_code sizeError;  // a file that cannot be read: its reader says why
    auto size = std::filesystem::file_size(path, sizeError);
    bool atomic = sizeError || size <= kAtomicImportBytes;
    Acks acks;
    FileInfo head = FileReader(path).readHeader(acks);
    TransferProgress seen;
    seen.totalTransactions = transactionsLacking(head.upTo, head.since);  // the header's count is the trailer's
    seen.totalBytes = sizeError ? 0 : size;
    bool sameCluster = head.cluster == site.clusterId();  // else the reader below refuses the file
    if (sameCluster)  // a file from a forgotten site, or saying this one was: refused, with nothing merged yet
      if (auto st = checkForgotten(site, head.origin, head.forgotten); !st) return Status(st.code(), path + ": " + st.message());
    if (atomic) {
      CheckedReader reader(path, &site);
      Batcher batcher(reader, site.replication().lastHlc());
      auto r = site.replication().applyEncodedBatches([&] {
        try {
          auto batch = batcher();
          if (observer && !batch.transactions.empty()) {
            seen.transactions += batch.transactions.size();
            for (const auto& t : batch.transactions) seen.rows += t.rows.size();
            seen.bytes = reader.bytesRead();
            observer(seen);
          }
          // At the end, still inside the import's transaction: holding what the exporter held,
          // this site must hold the same rows, or the whole import is refused and changes nothing.
          if (batch.transactions.empty())
            if (auto st = site.replication().checkDigests(reader.info().upTo, reader.info().digests,
                                                          reader.info().originName);
                !st)
              throw Error(Status::diverged(fmt::format("{}: {}; nothing was imported", path, st.message())));
          return batch;
        } catch (const std::bad_alloc&) {
          throw Error(Status::ioError(path + ": out of memory while importing"));
        }
      });
      if (!r) return oneLine(r.status());
      summary.info = reader.info();
      summary.applied.add(*r);
      acks = std::move(reader.acks());
    } else {
      summary.info = verify(path, &site, observer, seen);
      FileReader reader(path);
      reader.readHeader(acks);
      ChunkApplier applier(site);
      while (auto chunk = reader.nextChunk()) {
        if (auto st = applier.apply(*chunk); !st) return oneLine(st);
        if (!observer) continue;
        for (const auto& piece : chunk->pieces) seen.transactions += piece.last;
        seen.rows = applier.totals().rows, seen.bytes = reader.offset();
        observer(seen);
      }
      if (auto st = applier.finish(); !st) return oneLine(st);
      summary.applied = applier.totals();
    }
    if (auto st = takeForgotten(site, head.origin, head.forgotten); !st) return oneLine(st);
    // The end of a session in one direction: the exporter's goodbye (its acknowledgements and
    // end state, link.hpp). Holding what the exporter held, this site must hold the same rows
    // (checked above already when the file applied in one transaction; a larger one applied
    // chunk by chunk is kept). A file that brought transactions is a sync with its origin:
    // status shows when it last happened. A replayed or empty file stays a no-op.
    const FileInfo& from = summary.info;
    Hello exporter;
    exporter.site = from.origin, exporter.name = from.originName;
    Goodbye goodbye{std::move(acks), EndState{from.upTo, from.digests}};
    bool synced = from.origin != site.id() && summary.applied.applied > 0;
    if (auto st = takeGoodbye(site, exporter, goodbye, synced); !st) return oneLine(st);
    return summary;
  } catch (const Error& e) {
    return oneLine(e.status());
  } catch (const InternalError& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return Status::ioError(path + ": out of memory while importing");
  } catch (const std::filesystem::filesystem_error& e) {
    return Status::ioError(path + ": " + e.code().message());
  }
}

}  // namespace parley::sync
