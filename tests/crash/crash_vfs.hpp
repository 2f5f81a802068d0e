// A test-only SQLite VFS that kills its own process at a chosen file operation.
//
// installCrashVfs() registers, as the default VFS, a thin wrapper around SQLite's "unix" VFS
// that counts every operation that changes a file: xWrite, xTruncate, xSync on files and
// xDelete on the VFS. When the count reaches `crashAt` it raises SIGKILL *before* performing
// the operation, so a process dies inside a commit, a WAL write or a checkpoint exactly where a
// seed says. With crashAt == 0 it only counts (crashVfsOperations()), which lets a driver learn
// how many operations a workload performs and then pick kill points among them.
//
// Thread-safe (the counter is atomic). Must be installed before any database is opened. Not
// part of parley: only tests/crash's child program links it.
#pragma once

#include <cstdint>

namespace parley::crash {

// Installs the wrapper as the default VFS. Returns false if "unix" is missing.
bool installCrashVfs(std::uint64_t crashAt);
// Operations counted so far.
std::uint64_t crashVfsOperations();
// Of which xSync calls (with synchronous=NORMAL in WAL mode: checkpoints).
std::uint64_t crashVfsSyncs();

}  // namespace parley::crash
