// The column strategies and row policies a Registry holds. Internal to resolvers/.
#pragma once

#include <memory>
#include <string>

#include "parley/resolver.hpp"
#include "parley/resolvers/registry.hpp"

namespace parley::resolvers {

enum class Pick { kLast, kFirst };

// lww / fww: keep the greater (kLast) or smaller (kFirst) stamp.
std::unique_ptr<ColumnResolver> makeTimestamp(Pick pick);
// merge and counter: deltas for numbers; `fallback` for the rest.
std::unique_ptr<ColumnResolver> makeMerge(ColumnKind kind, std::string name, Pick fallback);
std::unique_ptr<ColumnResolver> makeReject();
std::unique_ptr<ColumnResolver> makeCallback(std::string name, Callback fn);

std::unique_ptr<RowPolicy> makeRowTimestamp(Pick pick);
std::unique_ptr<RowPolicy> makeRowMerge();
std::unique_ptr<RowPolicy> makeDeleteWins();
std::unique_ptr<RowPolicy> makeUpdateWins();
std::unique_ptr<RowPolicy> makeRowReject();

// The outcome of comparing stamps under `pick`.
CellOutcome pickByStamp(Pick pick, const Stamp& local, const Stamp& remote);

}  // namespace parley::resolvers
