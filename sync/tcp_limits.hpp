// Sizes that bound what a TCP sync holds in memory and puts in one RPC message, and the
// check of TcpOptions against them.
#pragma once

#include <fmt/format.h>

#include <cstddef>

#include "parley/sync/secret.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::sync {

inline constexpr std::size_t kMaxChunkBytes = 16 << 20;      // well under RPC's 64 MiB message limit
inline constexpr std::size_t kSnapshotPieceBytes = 1 << 20;  // bytes per write of a snapshot
// A server drops a logged-in peer that has sent nothing for this many TcpOptions::timeouts.
inline constexpr int kIdleTimeouts = 4;

inline Status checkOptions(const TcpOptions& options) {
  if (auto st = checkSecret(options.secret); !st) return st;
  if (options.timeout.count() <= 0) return Status::invalidArgument("the timeout must be positive");
  if (options.chunkBytes == 0 || options.chunkBytes > kMaxChunkBytes)
    return Status::invalidArgument(fmt::format("the chunk size must be between 1 and {} bytes", kMaxChunkBytes));
  if (options.poll.count() < 1) return Status::invalidArgument("the poll period must be at least 1 ms");
  if (options.heartbeat.count() < 10) return Status::invalidArgument("the heartbeat must be at least 10 ms");
  if (options.loginsPerSource < 1) return Status::invalidArgument("at least 1 connection per source must be let in to log in");
  return Status::ok();
}

}  // namespace parley::sync
