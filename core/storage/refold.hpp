// What a re-fold reads before it undoes anything: the held transactions it takes back, each with
// its full causal context, and the order they were applied in, from the log (causal::heldAfter)
// and the undo records (store::undoneSince), in one call.
//
// A re-fold folds again, in canonical order, every held transaction that sorts after a late
// arrival (apply/apply.hpp). A site that was not order-sensitive applied transactions on
// arrival, so some that sort before the late one may have been applied after some that sort
// after it: undoing back to the first applied of the later ones takes those back too, and they
// are folded again with them.
#pragma once

#include <vector>

#include "causal_context.hpp"
#include "handles.hpp"
#include "parley/transaction.hpp"
#include "undo.hpp"

namespace parley::store {

struct Refold {
  std::vector<Transaction> later;  // every transaction taken back, full contexts
  std::vector<Dot> applied;        // the order their undo records were saved in, oldest first
};

// What a re-fold from `first` takes back; `vector` is what the site holds. Reads only.
Refold readRefold(causal::Contexts known, const VersionVector& vector, UndoRecords undoRecords, const Stamp& first);

}  // namespace parley::store
