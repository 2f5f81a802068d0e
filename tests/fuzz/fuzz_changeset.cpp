// libFuzzer target: the input is a change-set file.
//
// inspectChanges() must accept it or refuse it with a one-line Status. When it accepts,
// importChanges() into a fresh site of the fuzz schema (fuzz_schema.hpp) must either succeed,
// leaving a site that can still read its whole log, or fail leaving the site as it was.
// Each input is tried twice: as it is, and with its checksums rewritten to match
// (changeset_frames.hpp), since mutations rarely keep a CRC-32 right and would otherwise never
// reach the header, chunk and transaction parsers behind the checksums.
//
// PARLEY_FUZZ_RAW_ONLY=1 skips the second try.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz/changeset_frames.hpp"
#include "fuzz/fuzz_site.hpp"
#include "parley/replication.hpp"
#include "parley/resolvers/registry.hpp"
#include "parley/site.hpp"
#include "parley/sync/changeset.hpp"

namespace {

using namespace parley;

[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_changeset: %s: %s\n", what, detail.c_str());
  std::abort();
}

const std::string& scratchPath() {
  static const std::string path = [] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/parley-fuzz-" + std::to_string(getpid()) + ".parley";
  }();
  return path;
}

void writeScratch(const std::string& bytes) {
  std::FILE* f = std::fopen(scratchPath().c_str(), "wb");
  if (!f) violated("setup", "cannot write " + scratchPath());
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

std::unique_ptr<fuzz::FuzzSite> makeImporter() {
  auto imp = std::make_unique<fuzz::FuzzSite>();
  if (auto st = imp->open("importer"); !st) violated("setup", st.toString());
  return imp;
}

std::int64_t rowCount(Site& site) {
  auto r = site.exec("SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM u) + (SELECT count(*) FROM parley_log)");
  if (!r || r->rows.size() != 1) violated("count", r.status().toString());
  return r->rows[0][0].asInteger();
}

void checkOneLine(const Status& st) {
  if (st.isOk()) return;
  if (st.message().empty() || st.message().find('\n') != std::string::npos) violated("message", st.toString());
}

void tryFile(const std::string& bytes) {
  writeScratch(bytes);
  auto info = sync::inspectChanges(scratchPath());
  checkOneLine(info.status());
  if (!info) return;

  auto imp = makeImporter();
  Site& site = *imp->site;
  VersionVector before = site.vector().value();
  std::int64_t rowsBefore = rowCount(site);
  auto imported = sync::importChanges(site, scratchPath());
  checkOneLine(imported.status());
  if (!imported) {
    if (site.vector().value() != before || rowCount(site) != rowsBefore)
      violated("a refused import changed the site", imported.status().toString());
    return;
  }
  if (auto log = site.replication().changesSince({}); !log)
    violated("the importer cannot read its log back", log.status().toString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool rawOnly = std::getenv("PARLEY_FUZZ_RAW_ONLY") != nullptr;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  tryFile(bytes);
  if (rawOnly) return 0;
  std::string fixed = bytes;
  if (test::refreshChecksums(fixed) && fixed != bytes) tryFile(fixed);
  return 0;
}
