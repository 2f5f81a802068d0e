#include "tcp_outgoing.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <vector>

#include "tcp_limits.hpp"
#include "tcp_status.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

struct ChangeStream {
  ChangeStream(std::unique_ptr<Outgoing> changes, wire::ChangeSink::Client s)
      : outgoing(std::move(changes)), sink(std::move(s)) {}

  kj::Promise<void> pump() {
    if (queue.empty()) {
      auto more = outgoing->next(queue);
      check(more.status());
      if (!*more) return kj::READY_NOW;
    }
    auto request = sink.writeRequest();
    writeChunk(request.initChunk(), queue.front());
    queue.pop_front();
    return request.send().then([this] { return pump(); });
  }

  std::unique_ptr<Outgoing> outgoing;
  std::deque<Chunk> queue;
  wire::ChangeSink::Client sink;
};

// A backup in a directory of its own, removed with this object.
class SnapshotFile {
 public:
  explicit SnapshotFile(Site& site) {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-snapshot-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throwStatus(Status::ioError("snapshot: cannot create a temporary directory"));
    dir_ = pattern;
    std::string path = (dir_ / "site.db").string();
    check(site.backup(path));
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throwStatus(Status::ioError("snapshot: cannot read back " + path));
  }
  ~SnapshotFile() {
    if (file_) std::fclose(file_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  SnapshotFile(const SnapshotFile&) = delete;
  SnapshotFile& operator=(const SnapshotFile&) = delete;

  // Up to `max` next bytes; empty at the end.
  std::vector<kj::byte> read(std::size_t max) {
    std::vector<kj::byte> out(max);
    out.resize(std::fread(out.data(), 1, max, file_));
    if (out.empty() && std::ferror(file_)) throwStatus(Status::ioError("snapshot: reading the backup failed"));
    return out;
  }

 private:
  std::filesystem::path dir_;
  std::FILE* file_ = nullptr;
};

struct SnapshotStream {
  SnapshotStream(Site& site, wire::ByteSink::Client s) : file(site), sink(std::move(s)) {}

  kj::Promise<void> pump() {
    auto bytes = file.read(kSnapshotPieceBytes);
    if (bytes.empty()) return kj::READY_NOW;
    auto request = sink.writeRequest();
    request.setBytes(kj::arrayPtr(bytes.data(), bytes.size()));
    sent += bytes.size();
    return request.send().then([this] { return pump(); });
  }

  SnapshotFile file;
  wire::ByteSink::Client sink;
  std::uint64_t sent = 0;
};

}  // namespace

kj::Promise<StreamTotals> sendChanges(std::unique_ptr<Outgoing> changes, wire::ChangeSink::Client sink) {
  auto stream = kj::heap<ChangeStream>(std::move(changes), std::move(sink));
  auto& s = *stream;
  return kj::evalNow([&s] { return s.pump(); })
      .then([&s] { return s.sink.finishRequest().send(); })
      .then([&s](auto&&) { return s.outgoing->totals(); })
      .attach(kj::mv(stream));
}

kj::Promise<std::uint64_t> sendSnapshot(Site& site, wire::ByteSink::Client sink) {
  auto stream = kj::heap<SnapshotStream>(site, std::move(sink));
  auto& s = *stream;
  return kj::evalNow([&s] { return s.pump(); })
      .then([&s] { return s.sink.finishRequest().send(); })
      .then([&s](auto&&) { return s.sent; })
      .attach(kj::mv(stream));
}

}  // namespace parley::sync
