// Semi-synchronous commit: waiting until enough peer sites hold a write.
//
// After a local commit, waitForAcknowledgements() pushes the site's transactions to its peers
// over TCP (syncTcp), round after round, until enough distinct peer sites acknowledge holding
// the commit token. The write is committed locally whatever happens: a timeout says so.
// Runs in the calling thread; `site` is used by it alone meanwhile.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "parley/site.hpp"
#include "parley/sync/tcp.hpp"

namespace parley::sync {

struct AckWait {
  std::size_t needed = 1;           // distinct peer sites that must hold the token
  std::vector<std::string> peers;   // HOST:PORT of each peer to push to
  TcpOptions tcp;                   // the cluster secret (required) and each sync's timeout
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // in all
  std::chrono::milliseconds poll{100};                          // between rounds
};

// Ok once `wait.needed` distinct peer sites hold `token` (acknowledgements count per site id,
// not per address: one replica listed under two addresses counts once, and `site` itself
// never counts). kNotReady after `wait.timeout`, in one line: "the write is committed locally
// (token T), but only K of N peers acknowledged it within S s" and why (the last sync error,
// or several addresses reaching one site). kInvalidArgument if fewer peers than needed.
Status waitForAcknowledgements(Site& site, const VersionVector& token, const AckWait& wait);

}  // namespace parley::sync
