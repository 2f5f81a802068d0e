#include "refold.hpp"

#include <optional>
#include <set>

#include "parley/assert.hpp"
#include "store.hpp"
#include "undo.hpp"

namespace parley::store {
namespace {

// The earliest stamp among `applied` but those in `later`, with their dots in `before`; nullopt
// if there are none.
std::optional<Stamp> earliestBefore(Log log, const std::vector<Dot>& applied, const std::vector<Transaction>& later,
                                    std::set<Dot>& before) {
  std::set<Dot> inLater;
  for (const auto& t : later) inLater.insert(t.dot);
  std::optional<Stamp> earliest;
  for (const Dot& dot : applied) {
    if (inLater.count(dot)) continue;
    before.insert(dot);
    auto hlc = hlcOf(log, dot);
    PARLEY_ASSERT(hlc.has_value(), "re-fold: an undo record of a transaction not held");
    Stamp stamp{*hlc, dot.site};
    if (!earliest || stamp < *earliest) earliest = stamp;
  }
  return earliest;
}

}  // namespace

Refold readRefold(causal::Contexts known, const VersionVector& vector, UndoRecords undoRecords, const Stamp& first) {
  Refold out{causal::heldAfter(known, vector, first), {}};
  std::vector<Dot> dots;
  for (const auto& t : out.later) dots.push_back(t.dot);
  out.applied = undoneSince(undoRecords, dots);
  std::set<Dot> before;  // applied after some of `later` but sorting before `first`
  std::optional<Stamp> earliest = earliestBefore(known.log, out.applied, out.later, before);
  if (!earliest) return out;
  SiteId top;
  top.bytes.fill(0xff);
  for (auto& t : causal::heldAfter(known, vector, Stamp{Hlc{earliest->hlc.value - 1}, top}))
    if (before.count(t.dot)) out.later.push_back(std::move(t));
  return out;
}

}  // namespace parley::store
