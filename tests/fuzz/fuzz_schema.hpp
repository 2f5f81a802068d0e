// The site a fuzzed change set is imported into. The seed corpus is exported from sites set up
// the same way (same cluster, tables and configuration, hence the same fingerprint), so the
// fuzzer starts from files that get past the cluster and schema checks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley::fuzz {

// Every byte of the cluster id (tests/support's testClusterId()).
inline constexpr std::uint8_t kClusterByte = 0xcc;
// Every byte of the importing site's id: no corpus file comes from it.
inline constexpr std::uint8_t kImporterByte = 0x7f;
// The cluster secret of fuzz_handshake's server and of the client its corpus was recorded from.
inline constexpr const char* kSecret = "7d9624c240bc14d6db84ba8c187cfce8520850aba480a54e1515c4396b176e5e";

inline const std::string kSchema =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);"
    "CREATE TABLE u(k TEXT NOT NULL, n INTEGER NOT NULL, qty, note, PRIMARY KEY (k, n));";

// Tracked tables and their configuration (TableConfig::parse form; empty: the defaults).
inline const std::vector<std::pair<std::string, std::string>> kTables = {
    {"t", ""},
    {"u", "columns=lww qty=merge insert/insert=merge update/delete=lww delete/update=lww"},
};

}  // namespace parley::fuzz
