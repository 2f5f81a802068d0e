// Change-set files: export writes what a session's responder would stream into a file (the
// header is the exporter's hello, then its chunks, its goodbye's end state in the header too);
// import is a session over the file (FileLink), one way, with a sink of its own.
#include "parley/sync/changeset.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fmt/format.h>
#include <new>

#include "changeset_format.hpp"
#include "import_sinks.hpp"
#include "parley/replication.hpp"
#include "parley/sync/file_link.hpp"

namespace parley::sync {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The end of a stream written to a file: chunks framed as they come, then the trailer.
class FileSink final : public ChunkSink {
 public:
  FileSink(FileWriter& out, TransferObserver observer, std::uint64_t total) : out_(out), observer_(std::move(observer)) {
    sent_.phase = TransferProgress::Phase::kSending;
    sent_.totalTransactions = total;
  }
  Status write(Chunk&& chunk) override {
    for (const auto& piece : chunk.pieces) sent_.transactions += piece.last, sent_.bytes += piece.body.size();
    if (observer_) observer_(sent_);
    out_.write(encodeChunkFrame(chunk, crcs_));
    return Status::ok();
  }
  Status finish() override {
    out_.write(encodeTrailer(sent_.transactions, crcs_));
    out_.commit();
    return Status::ok();
  }
  std::uint64_t transactions() const { return sent_.transactions; }

 private:
  FileWriter& out_;
  TransferObserver observer_;
  TransferProgress sent_;
  boost::crc_32_type crcs_;
};

// `st` as a user reads it: one line, naming the file (unless it does already).
Status inFile(const std::string& path, const Status& st) {
  if (st || st.message().starts_with(path)) return oneLine(st);
  return oneLine(Status(st.code(), path + ": " + st.message()));
}

// The sink an import applies through. Up to kAtomicImportBytes the whole file applies in one
// SQLite transaction, all of it or nothing, each chunk decoded as it is read: a problem found
// late rolls back what earlier chunks applied, and at the end, still inside the transaction,
// holding what the exporter held this site must hold the same rows. A larger file is checked
// whole first (decoded, fitting the site, causally ready), then read again and applied chunk
// by chunk (each chunk all or nothing).
class ImportSink {
 public:
  ImportSink(FileLink& link, TransferObserver observer, std::uint64_t atomicUpTo)
      : link_(link), observer_(std::move(observer)) {
    std::error_code sizeError;  // a file that cannot be read: its reader says why
    auto size = std::filesystem::file_size(link.path(), sizeError);
    atomic_ = sizeError || size <= atomicUpTo;
    seen_.totalBytes = sizeError ? 0 : size;
  }

  Result<std::unique_ptr<ChunkSink>> operator()(Site& site, const Hello& peer) {
    // The header's count is the trailer's.
    seen_.totalTransactions = transactionsLacking(peer.vector, link_.info().since);
    try {
      if (atomic_) {
        auto atEnd = [&site, peer] {
          Status st = site.replication().checkDigests(peer.vector, peer.digests, peer.name);
          return st ? st : Status::diverged(st.message() + "; nothing was imported");
        };
        return std::unique_ptr<ChunkSink>(
            std::make_unique<AtomicApplyingStream>(site, atEnd, told(TransferProgress::Phase::kReceiving)));
      }
      auto apply = [this, &site]() -> Result<ApplyTotals> {
        ApplyingStream applying(site, {}, [this](const TransferProgress& p) { tell(p.phase, p.transactions, p.rows); }, 0);
        if (auto st = link_.pull({}, applying); !st) return st;
        return applying.totals();
      };
      return std::unique_ptr<ChunkSink>(
          std::make_unique<CheckingStream>(&site, apply, told(TransferProgress::Phase::kVerifying)));
    } catch (const Error& e) {
      return e.status();
    }
  }

 private:
  SinkProgress told(TransferProgress::Phase phase) {
    if (!observer_) return {};
    return [this, phase](std::uint64_t transactions, std::uint64_t rows) { tell(phase, transactions, rows); };
  }
  void tell(TransferProgress::Phase phase, std::uint64_t transactions, std::uint64_t rows) {
    if (!observer_) return;
    seen_.phase = phase, seen_.transactions = transactions, seen_.rows = rows, seen_.bytes = link_.bytesRead();
    observer_(seen_);
  }

  FileLink& link_;
  TransferObserver observer_;
  bool atomic_ = true;
  TransferProgress seen_;
};

}  // namespace

Result<ExportSummary> exportChanges(Site& site, const std::string& path, const VersionVector& since,
                                    const TransferObserver& observer) {
  if (exists(path)) return Status::invalidArgument(fmt::format("{} already exists", path)).withContext("export");
  try {
    // The header is what the exporter says of itself in a session's hello (session.hpp), and
    // the chunks are the stream a responder sends a peer holding `since`.
    auto said = helloOf(site);
    if (!said) return said.status();
    const Acks& acks = said->acks;
    FileInfo info{said->cluster, said->site, said->name, said->fingerprint, since, std::move(said->vector), 0,
                  site.clock().nowMillis(), std::move(said->heads), std::move(said->digests),
                  std::move(said->forgotten)};
    FileWriter out(path);
    out.write(encodeHead(info, acks));
    FileSink sink(out, observer, transactionsLacking(info.upTo, since));
    Status st = streamChanges(site, since, [&](Chunk&& chunk) { return sink.write(std::move(chunk)); });
    if (st) st = sink.finish();
    if (!st) return st;
    info.transactions = sink.transactions();
    return ExportSummary{info, out.written()};
  } catch (const Error& e) {
    return e.status();
  } catch (const InternalError& e) {
    return e.status();
  }
}

Result<FileInfo> inspectChanges(const std::string& path) {
  FileLink link(path);
  auto said = link.hello({});
  if (!said) return said.status();
  CheckingStream decoded(nullptr);
  if (auto st = link.pull({}, decoded); !st) return inFile(path, st);
  return link.info();
}

SessionOptions importOptions(FileLink& link, const TransferObserver& observer, std::uint64_t atomicUpTo) {
  SessionOptions options;
  options.push = false;       // a file takes nothing
  options.sameSite = true;    // a site may import its own export: a no-op
  options.noteEmpty = false;  // a file imported again is no exchange
  options.sink = ImportSink(link, observer, atomicUpTo);
  return options;
}

Result<ImportSummary> importChanges(Site& site, const std::string& path, const TransferObserver& observer) {
  try {
    FileLink link(path);
    auto r = runSession(site, link, importOptions(link, observer));
    if (!r && r.status().code() == Status::Code::kDiverged && link.bytesRead() == 0)
      return inFile(path, Status::diverged(r.status().message() + "; nothing was imported"));
    if (!r) return inFile(path, r.status());
    return ImportSummary{link.info(), std::move(r->received)};
  } catch (const Error& e) {
    return inFile(path, e.status());
  } catch (const InternalError& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return Status::ioError(path + ": out of memory while importing");
  } catch (const std::filesystem::filesystem_error& e) {
    return Status::ioError(path + ": " + e.code().message());
  }
}

}  // namespace parley::sync
