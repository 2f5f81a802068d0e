// How the parley_ tables write a transaction's place and a version vector: parley_log's key,
// the stored form of a vector (parley_acks, parley_log.ctx, parley_compacted.context), and
// which transactions' log rows store their context.
// Below both the store (store.hpp) and the causal contexts (causal_context.hpp), which use them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "handles.hpp"

namespace parley::store {

// parley_log's key for a transaction: its origin's local index, then its seq, in one integer,
// so each origin's transactions are one key range in seq order.
inline constexpr int kLogSeqBits = 40;
inline constexpr std::uint64_t kMaxLogSeq = (std::uint64_t{1} << kLogSeqBits) - 1;
inline std::int64_t logKey(std::int64_t site, std::uint64_t seq) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(site) << kLogSeqBits | seq);
}

// parley_log keeps a transaction's full causal context (column ctx) only where it grew beyond its
// origin's previous transaction's, and at every kCheckpointEvery-th seq (causal_context.hpp).
inline constexpr std::uint64_t kCheckpointEvery = 256;
// The ctx column of `dot`'s log row, its full context being `full`: nullopt (NULL) when that
// did not grow and `dot` is not a checkpoint. Registers sites new to this site.
std::optional<std::string> storedContext(Log log, const Dot& dot, const VersionVector& full, bool grew);
std::optional<std::string> storedContext(Log log, const Dot& dot, const ContextView& full, bool grew);

// A vector as parley stores it (parley_acks, parley_log.ctx, parley_compacted.context): a
// count, then (local site index, seq) pairs. Registers sites new to this site.
std::string encodeVector(Log log, const VersionVector& v);
// `what` names the column in the error a damaged value gives.
VersionVector decodeVector(const SiteTable& sites, std::string_view bytes, const char* what);

}  // namespace parley::store
