// Errors across the RPC boundary and out of KJ's event loop.
//
// A parley Status crosses the wire as a kj::Exception whose description reads
// "parley[<code>]: <message>", so the peer gets the code and the one-line message back
// (KJ prefixes it with "remote exception: "). Everything else KJ can throw (a refused or lost
// connection, a timeout) becomes one plain line too: a user never sees a KJ trace.
#pragma once

#include <kj/exception.h>

#include <string>

#include "parley/status.hpp"

namespace parley::sync {

kj::Exception toException(const Status& status);
[[noreturn]] void throwStatus(const Status& status);
inline void check(const Status& status) {
  if (!status) throwStatus(status);
}
// The value of `r`, or its status thrown as check() throws it.
template <class T>
T take(Result<T> r) {
  check(r.status());
  return std::move(r).value();
}

// The Status `e` carries, or a plain description of what KJ met (a lost connection...).
Status statusOf(const kj::Exception& e);
// `status` with "<what> <peer>: " before its message.
Status aboutPeer(const std::string& what, const std::string& peer, const Status& status);

}  // namespace parley::sync
