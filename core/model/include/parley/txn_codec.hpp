// Encoding of a Transaction as a compact byte string: the format of parley_log bodies, of
// change-set file payloads and of transactions in TCP sync chunks (each carried there as a
// Cap'n Proto Data field). Layout (varints are LEB128, "count" a varint):
//
//   u8 format (kTransactionFormat)
//   varint seq | u64 hlc (little-endian)
//   16 bytes prev: the hash chain's link to the origin's previous transaction (zeros: none)
//   16 bytes hash: this transaction's own, chainHashOf() of the body its origin encoded with
//     these 16 bytes zero; kept unchanged by every site that encodes it again
//   count sites, then 16 bytes each; sites[0] is the origin
//   count context entries, then (varint site index, varint seq) each: at least the entries of
//     the origin's vector at commit that grew since its previous transaction (any superset, the
//     whole vector included, is valid; the origin's own entry is implied)
//   count tables, then (count bytes, name) each
//   count rows, then per row:
//     varint (table index << 2 | op)
//     count key values (>= 1), then compact values (core/codec.hpp)
//     count column writes, then (varint column, compact old, compact new, dots base) each
//     dots rowBase
//   where dots = varint 0: the same single dot as the dots list before it in the transaction;
//                or varint count + 1, then (varint site index, varint seq) each
//
// Sites and tables are listed once per transaction and referred to by index; small integers
// and short texts are one tag byte plus their bytes; a base equal to the one before it is one
// byte. A one-column update of an integer row takes 11-16 bytes, causal metadata included.
//
// decodeTransaction() treats its input as untrusted: every count and length is checked
// against the bytes left (each element takes at least one byte, a repeated base included, so
// what decodes is at most as many elements as the input has bytes), indexes and seqs are checked, and any problem is
// returned as a Status of code kCorruption and one line saying what and at which byte. It never throws for
// bad bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "parley/status.hpp"
#include "parley/transaction.hpp"

namespace parley {

// The first byte of every encoded transaction. 1 was the packed Cap'n Proto message of
// parley 0.1 (its first byte a packing tag), which this parley refuses. 2 carried each
// transaction's whole context; it still decodes (a whole context is a valid format-3 one).
// 3 had no hash chain; it still decodes, with empty links.
inline constexpr std::uint8_t kTransactionFormat = 4;

// Encodes `t`. If t.hash is empty the body gets its own (a commit); otherwise it keeps t's.
std::string encodeTransaction(const Transaction& t);
// The hash chain's hash of an encoded body whose hash field is zero (XXH3-128: it tells
// histories apart; it is not a signature). Never empty.
ChainHash chainHashOf(std::string_view body);
// The hash field of an encoded body, read without decoding the rest; nullopt if the body is
// of a format without one (or too short).
std::optional<ChainHash> chainHashInBody(std::string_view body);
// The transaction `bytes` encode, or kCorruption saying why they do not encode one.
Result<Transaction> decodeTransaction(std::string_view bytes);
// The same into `into`, overwriting all of it and reusing its storage (rows, their keys,
// writes and dots), so that decoding many transactions into one allocates little. On error
// (kCorruption as above) `into` holds unspecified, valid content.
Status decodeTransaction(std::string_view bytes, Transaction& into);

}  // namespace parley
