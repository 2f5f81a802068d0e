// Site::waitFor and commit tokens: read-your-writes across sites.
#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "parley/site.hpp"

namespace parley {
namespace {

Result<Dot> parseEntry(std::string_view part) {
  auto colon = part.find(':');
  if (colon == std::string_view::npos) return Status::invalidArgument("");
  auto site = SiteId::fromHex(std::string(part.substr(0, colon)));
  auto digits = part.substr(colon + 1);
  std::uint64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (!site || digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || seq == 0)
    return Status::invalidArgument("");
  return Dot{*site, seq};
}

}  // namespace

std::string commitToken(const VersionVector& v) {
  std::string out;
  for (const auto& [site, seq] : v.entries()) out += fmt::format("{}{}:{}", out.empty() ? "" : ",", site.hex(), seq);
  return out.empty() ? "-" : out;
}

Result<VersionVector> parseCommitToken(std::string_view text) {
  VersionVector v;
  if (text == "-" || text.empty()) return v;
  for (std::string_view rest = text;;) {
    auto comma = rest.find(',');
    auto dot = parseEntry(rest.substr(0, comma));
    if (!dot)
      return Status::invalidArgument(
          fmt::format("bad token \"{}\": expected SITEID:SEQ[,SITEID:SEQ...] as printed by exec", text));
    v.advance(*dot);
    if (comma == std::string_view::npos) return v;
    rest.remove_prefix(comma + 1);
  }
}

// The deadline is the process's steady clock: how long a caller is willing to wait, not a
// timestamp that reaches replicated data (as the TCP timeouts of sync/).
Status Site::waitFor(const VersionVector& token, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds poll) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto held = vector();
    if (!held) return held.status();
    if (token.leq(*held)) return Status::ok();
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::notReady(fmt::format("timed out after {} s waiting for token {}; the site holds {}",
                                          static_cast<double>(timeout.count()) / 1000, commitToken(token),
                                          commitToken(*held)));
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace parley
