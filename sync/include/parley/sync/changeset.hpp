// Change-set files: what a peer lacks, carried by hand between offline sites.
//
// A file is self-describing: magic "PARLEYCS", a format version, a header (the exporter's
// hello: cluster, exporting site, schema fingerprint, the vector range it covers,
// acknowledgements, chain heads, digests), then bounded chunks of transactions, each with a
// CRC-32, and a trailer with the count and a checksum over all chunks. Export writes the
// stream a session sends; import is a session over the file (FileLink, file_link.hpp). Import
// verifies the whole file, so a truncated, corrupted, foreign or incompatible file is refused
// with the database unchanged: files up to kAtomicImportBytes are verified as they are
// applied, batch by batch, in one transaction (all or nothing); larger ones are verified whole
// first. Re-importing a file is a no-op.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "parley/site.hpp"
#include "parley/sync/link.hpp"
#include "parley/sync/session.hpp"

namespace parley::sync {

class FileLink;

// 2: transactions in the compact encoding (parley/txn_codec.hpp); 1 (packed Cap'n Proto) is refused.
// 3: the header carries the exporter's chain heads and digests; 2 is refused (its transactions
// have no hash chain, and a file's version is not under its checksum: reading both would take
// a flipped 3 for a 2).
inline constexpr std::uint32_t kFileFormatVersion = 3;
// Files up to this size import atomically (all or nothing); larger ones chunk by chunk.
inline constexpr std::uint64_t kAtomicImportBytes = 64 << 20;

struct FileInfo {
  SiteId cluster;
  SiteId origin;
  std::string originName;
  std::string fingerprint;
  VersionVector since;
  VersionVector upTo;
  std::uint64_t transactions = 0;
  std::uint64_t createdMs = 0;  // when it was written, by the exporting site's clock (Site::clock)
  std::vector<ChainHead> heads;      // the exporter's chain heads, as of upTo
  std::vector<TableDigest> digests;  // the exporter's digests, as of upTo
  std::vector<SiteId> forgotten;  // the sites the exporter knew were forgotten (Site::forget)
};

struct ExportSummary {
  FileInfo info;
  std::uint64_t bytes = 0;
};

// Writes every transaction `since` lacks to a new file at `path` (refused if it exists).
// `observer`, if any, hears after each chunk written (kSending, with the total known).
Result<ExportSummary> exportChanges(Site& site, const std::string& path, const VersionVector& since,
                                    const TransferObserver& observer = {});

struct ImportSummary {
  FileInfo info;
  ApplyTotals applied;
};

// Verifies `path` and applies it (see above): runSession over a FileLink (file_link.hpp) with
// importOptions(). The file's header is checked as any peer's hello (cluster, fingerprint,
// histories, forgotten sites), except that a site may import its own export; when it applied
// transactions, the exchange is recorded as a sync with the file's origin (Site::noteSync).
// `observer`, if any, hears after each chunk applied (kReceiving, bytes of the file read
// against its size), and for a file verified whole first after chunks verified (kVerifying).
Result<ImportSummary> importChanges(Site& site, const std::string& path, const TransferObserver& observer = {});
// The options of importChanges' session over `link`: one way, this site's own export allowed,
// no sync recorded for a file that applied nothing, and the import's sink (all or nothing up
// to `atomicUpTo` bytes; larger files checked whole, then applied chunk by chunk). `link` must
// outlive the session.
SessionOptions importOptions(FileLink& link, const TransferObserver& observer = {},
                             std::uint64_t atomicUpTo = kAtomicImportBytes);
// Verifies `path` and reads its header, without applying anything.
Result<FileInfo> inspectChanges(const std::string& path);

}  // namespace parley::sync
