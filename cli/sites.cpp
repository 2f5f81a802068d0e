// Naming sites on the command line: by name, by id, or by the start of an id as status shows
// it; and vectors as tokens or as status prints them.
#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "cli.hpp"
#include "parley/replication.hpp"

namespace parley::cli {
namespace {

std::string lowerHex(const std::string& text) {
  std::string out;
  for (char c : text)
    if (c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool isHex(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string::npos; }

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

std::vector<std::pair<SiteId, std::string>> knownSites(Site& site) {
  std::set<SiteId> ids{site.id()};
  for (const auto& [id, vector] : take(site.replication().acknowledgements())) ids.insert(id);
  for (const auto& [id, seq] : take(site.vector()).entries()) ids.insert(id);
  std::vector<std::pair<SiteId, std::string>> out;
  auto peers = take(site.replication().peers());
  for (const auto& id : ids) {
    std::string name = id == site.id() ? site.name() : "";
    for (const auto& p : peers)
      if (p.site == id) name = p.name;
    out.emplace_back(id, name);
  }
  return out;
}

SiteId resolveSite(Site& site, const std::string& text, const std::string& what) {
  auto known = knownSites(site);
  std::vector<SiteId> named;
  for (const auto& [id, name] : known)
    if (!name.empty() && name == text) named.push_back(id);
  if (named.size() == 1) return named.front();
  if (named.size() > 1)
    throw CliError(fmt::format("{} sites are named \"{}\"; give {} as an id (parley status lists them)", named.size(), text, what));
  std::string hex = lowerHex(text);
  if (hex.size() == 32 && isHex(hex)) return *SiteId::fromHex(hex);
  if (!isHex(hex))
    throw CliError(fmt::format("no site this site knows is named \"{}\" (a name is known once its site synced or "
                               "exchanged a file with this one); parley status lists the sites it knows",
                               text));
  if (hex.size() < 4)
    usage(fmt::format("{} wants a site's name, its id, or the first 4+ hex digits of it as parley status shows it; got \"{}\"",
                      what, text));
  std::vector<SiteId> matches;
  for (const auto& [id, name] : known)
    if (id.hex().starts_with(hex)) matches.push_back(id);
  if (matches.empty())
    throw CliError(fmt::format("no site this site knows is named \"{}\" or has an id starting with {}; parley status lists them",
                               text, hex));
  if (matches.size() > 1) throw CliError(fmt::format("{} sites have ids starting with {}; give more digits", matches.size(), hex));
  return matches.front();
}

namespace {

// The vector `inner` (status's form without braces) names, or throws CliError saying why not.
VersionVector statusVector(Site& site, const std::string& inner, const std::string& what) {
  VersionVector v;
  if (trim(inner).empty() || trim(inner) == "-") return v;
  std::size_t at = 0;
  while (at <= inner.size()) {
    std::size_t comma = std::min(inner.find(',', at), inner.size());
    std::string entry = trim(inner.substr(at, comma - at));
    auto colon = entry.rfind(':');
    bool digits = colon != std::string::npos && colon > 0 && colon + 1 < entry.size() &&
                  entry.size() - colon <= 19 && entry.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    std::uint64_t seq = digits ? std::stoull(entry.substr(colon + 1)) : 0;
    if (seq == 0) throw CliError(fmt::format("\"{}\" is not SITE:SEQ with SEQ >= 1", entry));
    v.set(resolveSite(site, trim(entry.substr(0, colon)), what), seq);
    at = comma + 1;
  }
  return v;
}

}  // namespace

VersionVector parseVector(Site& site, const std::string& text, const std::string& what) {
  auto token = parseCommitToken(text);
  if (token) return std::move(token).value();
  std::string inner = trim(text);
  if (inner.size() >= 2 && inner.front() == '{' && inner.back() == '}') inner = inner.substr(1, inner.size() - 2);
  try {
    return statusVector(site, inner, what);
  } catch (const CliError& e) {
    usage(fmt::format("{}; nor is it a vector as parley status prints it ({{3f0c61a2:5, london:2}}): {}",
                      token.status().message(), e.what()));
  }
}

}  // namespace parley::cli
