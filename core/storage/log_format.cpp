#include "log_format.hpp"

#include "codec.hpp"

namespace parley::store {

std::string encodeVector(Log log, const VersionVector& v) {
  std::string out;
  codec::Writer w(out);
  w.varint(v.entries().size());
  for (const auto& [site, seq] : v.entries()) {
    w.varint(log.sites.indexOf(log.db, site));
    w.varint(seq);
  }
  return out;
}

std::optional<std::string> storedContext(Log log, const Dot& dot, const VersionVector& full, bool grew) {
  if (!grew && dot.seq % kCheckpointEvery != 0) return std::nullopt;
  return encodeVector(log, full);
}

std::optional<std::string> storedContext(Log log, const Dot& dot, const ContextView& full, bool grew) {
  if (!grew && dot.seq % kCheckpointEvery != 0) return std::nullopt;
  return encodeVector(log, full.full());
}

VersionVector decodeVector(const SiteTable& sites, std::string_view bytes, const char* what) {
  codec::Reader r(bytes, what);
  VersionVector out;
  for (std::uint64_t i = 0, n = r.count(); i < n; ++i) {
    const SiteId& site = sites.idAt(static_cast<std::uint32_t>(r.varint()));
    out.set(site, r.varint());
  }
  r.expectDone();
  return out;
}

}  // namespace parley::store
