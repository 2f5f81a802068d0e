// Encoding of a Transaction as a packed Cap'n Proto message (core/txn.capnp): the format of
// parley_log bodies, of change-set files and of transactions on the wire.
//
// decodeTransaction() treats its input as untrusted: explicit ReaderOptions limits (a
// transaction decodes to at most 512 MiB), every index and count checked, and any problem
// reported as Error(Corruption) saying what and where.
#pragma once

#include <string>
#include <string_view>

#include "parley/transaction.hpp"

namespace parley {

std::string encodeTransaction(const Transaction& t);
Transaction decodeTransaction(std::string_view bytes);

}  // namespace parley
