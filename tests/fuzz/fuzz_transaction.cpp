// libFuzzer target: the input is a transaction's encoded body (parley/txn_codec.hpp), as
// read from the log, a change set or the wire.
//
// decodeTransaction() must return a transaction or a Status of kCorruption with a one-line message (never throw),
// and never anything else. What it returns must be no larger than the message
// (decode_bounds.hpp: a few bytes must not decode to millions of values) and survive a round
// trip: its encoding decodes again, to the same encoding. Decoded into a Transaction that
// earlier inputs were decoded into (decodeTransaction(bytes, into), as the importer reuses its
// batches), the input must be refused alike or give the same encoding. PARLEY_FUZZ_DECODE_ONLY=1
// checks none of these, only the first part.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "fuzz/decode_bounds.hpp"
#include "parley/status.hpp"
#include "parley/txn_codec.hpp"

namespace {

[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_transaction: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Decodes `input` into `recycled`: refused exactly when a fresh decode refused it (`fresh` null).
void checkRecycled(std::string_view input, parley::Transaction& recycled, const std::string* fresh) {
  if (parley::Status st = parley::decodeTransaction(input, recycled); !st) {
    if (fresh) violated("recycled: refused what a fresh decode took", st.toString());
    return;
  }
  if (!fresh) violated("recycled: took what a fresh decode refused", std::to_string(input.size()) + " bytes");
  if (parley::encodeTransaction(recycled) != *fresh) violated("recycled", "its encoding differs from a fresh decode's");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool checkResult = std::getenv("PARLEY_FUZZ_DECODE_ONLY") == nullptr;
  static parley::Transaction recycled;  // what earlier inputs left: checkRecycled
  parley::Transaction t;
  try {
    auto decoded = parley::decodeTransaction(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!decoded) {
      const parley::Status& st = decoded.status();
      if (st.code() != parley::Status::Code::kCorruption) violated("not kCorruption", st.toString());
      if (st.message().empty() || st.message().find('\n') != std::string::npos) violated("message", st.toString());
      if (checkResult) checkRecycled(std::string_view(reinterpret_cast<const char*>(data), size), recycled, nullptr);
      return 0;
    }
    t = std::move(decoded).value();
  } catch (const std::exception& e) {
    violated("threw instead of returning a Status", e.what());
  }
  if (!checkResult) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (!parley::test::withinBounds(t, input))
    violated("amplification", std::to_string(size) + " bytes decoded to " +
                                  std::to_string(parley::test::decodedElements(t)) + " elements");
  std::string encoded = parley::encodeTransaction(t);
  checkRecycled(input, recycled, &encoded);
  auto back = parley::decodeTransaction(encoded);
  if (!back) violated("round trip: a decoded transaction's encoding does not decode", back.status().toString());
  if (parley::encodeTransaction(*back) != encoded) violated("round trip", "re-encoding differs");
  return 0;
}
