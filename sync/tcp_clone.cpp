// cloneTcp(): a new site from a snapshot of a served one, received into "<path>.part",
// adopted there under a new id, renamed into place once whole and adopted, then synced once,
// so the server learns about its new member. A clone that fails half way leaves no file.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "parley/sync/tcp.hpp"
#include "tcp_sync.hpp"
#include "wire.hpp"

namespace parley::sync {
namespace {

// Writes a snapshot's bytes to a file; removes the file unless finish() completed, which it
// reports through `complete` (the RPC system may drop the sink first).
class FileSink final : public wire::ByteSink::Server {
 public:
  FileSink(std::string path, Client& client, std::shared_ptr<bool> complete, TransferObserver observer = {})
      : path_(std::move(path)), client_(client), complete_(std::move(complete)), observer_(std::move(observer)) {
    file_ = std::fopen(path_.c_str(), "wb");
    if (!file_) throw Error(Status::ioError(fmt::format("cannot create {}: {}", path_, std::strerror(errno))));
  }
  ~FileSink() {
    if (!file_) return;
    std::fclose(file_);
    std::remove(path_.c_str());
  }
 protected:
  kj::Promise<void> write(WriteContext context) override {
    auto bytes = context.getParams().getBytes();
    if (!file_ || std::fwrite(bytes.begin(), 1, bytes.size(), file_) != bytes.size())
      throwStatus(Status::ioError(fmt::format("writing {}: {}", path_, std::strerror(errno))));
    client_.alive();
    received_.bytes += bytes.size();
    if (observer_) observer_(received_);
    return kj::READY_NOW;
  }
  kj::Promise<void> finish(FinishContext) override {
    bool ok = file_ && std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    ok = file_ && std::fclose(file_) == 0 && ok;
    file_ = nullptr;
    if (!ok) throwStatus(Status::ioError(fmt::format("finishing {}: {}", path_, std::strerror(errno))));
    *complete_ = true;
    return kj::READY_NOW;
  }

 private:
  std::string path_;
  Client& client_;
  std::shared_ptr<bool> complete_;
  TransferObserver observer_;
  TransferProgress received_{TransferProgress::Phase::kSnapshot};
  std::FILE* file_ = nullptr;
};

void checkSource(const Hello& theirs, const CreateOptions& create) {
  if (theirs.protocolVersion != kProtocolVersion)
    throw Error(Status::unsupported(fmt::format("the server speaks sync protocol {}, this parley {}",
                                                theirs.protocolVersion, kProtocolVersion)));
  if (create.clusterId && *create.clusterId != theirs.cluster)
    throw Error(Status::invalidArgument(fmt::format("{} belongs to cluster {}, not {}", theirs.name,
                                                    theirs.cluster.shortHex(), create.clusterId->shortHex())));
}

// Receives a snapshot of the served site into `part`.
void receiveSnapshot(const std::string& address, const std::string& part, const CreateOptions& create,
                     const TcpOptions& options) {
  Client client(address, options);
  auto session = client.open(SiteId{});
  Hello mine;
  mine.name = create.name;
  checkSource(sayHello(client, session, mine), create);
  auto complete = std::make_shared<bool>(false);
  auto request = session.snapshotRequest();
  request.setSink(kj::heap<FileSink>(part, client, complete, options.observer));
  client.wait(request.send());
  if (!*complete) throw Error(Status::corruption("the server ended the snapshot without finishing it"));
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void removeDatabase(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// Adopts the snapshot in `part` under a new id, then renames it to `path`; on failure removes it.
Status adoptIntoPlace(const std::string& part, const std::string& path, const CreateOptions& create,
                      SiteOptions siteOptions) {
  auto adopted = Site::adoptSnapshot(part, create, siteOptions);
  if (!adopted) {
    removeDatabase(part);
    return adopted.status();
  }
  adopted->reset();  // closed before it moves
  if (exists(path) || std::rename(part.c_str(), path.c_str()) != 0) {
    Status st = exists(path) ? Status::invalidArgument(fmt::format("{} already exists", path))
                             : Status::ioError(fmt::format("cannot rename {} to {}: {}", part, path, std::strerror(errno)));
    removeDatabase(part);
    return st;
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Site>> cloneTcp(const std::string& address, const std::string& path,
                                       const CreateOptions& create, SiteOptions siteOptions,
                                       const TcpOptions& options) {
  auto site = guardedTcp("clone from", address, [&]() -> Result<std::unique_ptr<Site>> {
    if (auto st = checkOptions(options); !st) return st;
    if (!create.ids) return Status::invalidArgument("an id source for the new site is required");
    if (exists(path)) return Status::invalidArgument(fmt::format("{} already exists", path));
    std::string part = path + ".part";
    removeDatabase(part);  // left by a run that was killed
    receiveSnapshot(address, part, create, options);
    if (auto st = adoptIntoPlace(part, path, create, siteOptions); !st) return st;
    return Site::open(path, siteOptions);
  });
  if (!site) return site;
  if (auto synced = syncTcp(**site, address, options); !synced)
    return Status::ioError(fmt::format("cloned {} into {}, but its first {}; sync it again", address, path,
                                       synced.status().message()));
  return site;
}

}  // namespace parley::sync
