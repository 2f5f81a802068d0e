// The counting, killing VFS wrapper (crash_vfs.hpp).
#include "crash_vfs.hpp"

#include <sqlite3.h>

#include <atomic>
#include <csignal>

namespace parley::crash {
namespace {

std::atomic<std::uint64_t> gOps{0};
std::atomic<std::uint64_t> gSyncs{0};
std::uint64_t gCrashAt = 0;
sqlite3_vfs* gReal = nullptr;
sqlite3_vfs gVfs{};

// Counts one mutating operation and dies if it is the chosen one.
void step() {
  std::uint64_t n = gOps.fetch_add(1) + 1;
  if (gCrashAt != 0 && n == gCrashAt) std::raise(SIGKILL);
}

// Our file: the base struct, then the real VFS's file right after it.
struct File {
  sqlite3_file base;
};
sqlite3_file* real(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<File*>(f) + 1);
}
const sqlite3_io_methods* m(sqlite3_file* f) {
  return real(f)->pMethods;
}

int xClose(sqlite3_file* f) {
  return m(f)->xClose(real(f));
}
int xRead(sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
  return m(f)->xRead(real(f), p, n, off);
}
int xWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
  step();
  return m(f)->xWrite(real(f), p, n, off);
}
int xTruncate(sqlite3_file* f, sqlite3_int64 size) {
  step();
  return m(f)->xTruncate(real(f), size);
}
int xSync(sqlite3_file* f, int flags) {
  gSyncs.fetch_add(1);
  step();
  return m(f)->xSync(real(f), flags);
}
int xFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return m(f)->xFileSize(real(f), size);
}
int xLock(sqlite3_file* f, int level) {
  return m(f)->xLock(real(f), level);
}
int xUnlock(sqlite3_file* f, int level) {
  return m(f)->xUnlock(real(f), level);
}
int xCheckReservedLock(sqlite3_file* f, int* out) {
  return m(f)->xCheckReservedLock(real(f), out);
}
int xFileControl(sqlite3_file* f, int op, void* arg) {
  return m(f)->xFileControl(real(f), op, arg);
}
int xSectorSize(sqlite3_file* f) {
  return m(f)->xSectorSize(real(f));
}
int xDeviceCharacteristics(sqlite3_file* f) {
  return m(f)->xDeviceCharacteristics(real(f));
}
int xShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** p) {
  return m(f)->xShmMap(real(f), region, size, extend, p);
}
int xShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return m(f)->xShmLock(real(f), offset, n, flags);
}
void xShmBarrier(sqlite3_file* f) {
  m(f)->xShmBarrier(real(f));
}
int xShmUnmap(sqlite3_file* f, int deleteFlag) {
  return m(f)->xShmUnmap(real(f), deleteFlag);
}
int xFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** p) {
  return m(f)->xFetch(real(f), off, n, p);
}
int xUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return m(f)->xUnfetch(real(f), off, p);
}

const sqlite3_io_methods kMethods = {3,
                                     xClose,
                                     xRead,
                                     xWrite,
                                     xTruncate,
                                     xSync,
                                     xFileSize,
                                     xLock,
                                     xUnlock,
                                     xCheckReservedLock,
                                     xFileControl,
                                     xSectorSize,
                                     xDeviceCharacteristics,
                                     xShmMap,
                                     xShmLock,
                                     xShmBarrier,
                                     xShmUnmap,
                                     xFetch,
                                     xUnfetch};

int xOpen(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* outFlags) {
  f->pMethods = nullptr;
  int rc = gReal->xOpen(gReal, name, real(f), flags, outFlags);
  if (rc == SQLITE_OK && real(f)->pMethods != nullptr) f->pMethods = &kMethods;
  return rc;
}
int xDelete(sqlite3_vfs*, const char* name, int syncDir) {
  step();
  return gReal->xDelete(gReal, name, syncDir);
}
int xAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return gReal->xAccess(gReal, name, flags, out);
}
int xFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return gReal->xFullPathname(gReal, name, n, out);
}

}  // namespace

bool installCrashVfs(std::uint64_t crashAt) {
  gReal = sqlite3_vfs_find("unix");
  if (gReal == nullptr) return false;
  gCrashAt = crashAt;
  gVfs = *gReal;  // dlopen, randomness, sleep, time... forward as they are
  gVfs.szOsFile = static_cast<int>(sizeof(File)) + gReal->szOsFile;
  gVfs.zName = "parley-crash";
  gVfs.pAppData = nullptr;
  gVfs.pNext = nullptr;
  gVfs.xOpen = xOpen;
  gVfs.xDelete = xDelete;
  gVfs.xAccess = xAccess;
  gVfs.xFullPathname = xFullPathname;
  return sqlite3_vfs_register(&gVfs, 1) == SQLITE_OK;
}

std::uint64_t crashVfsOperations() {
  return gOps.load();
}
std::uint64_t crashVfsSyncs() {
  return gSyncs.load();
}

}  // namespace parley::crash
