// The default step of a column strategy (parley/resolver.hpp): a pick, as lww, fww and
// callbacks make it.
#include "parley/resolver.hpp"

namespace parley {

CellStep ColumnResolver::meet(const CellWrite& w) const {
  switch (w.relation) {
    case CellRelation::kSupersedes: return CellStep::take();
    case CellRelation::kReflected: return CellStep::ignore();
    case CellRelation::kConcurrent: return CellStep::resolve();
  }
  return CellStep::resolve();
}

}  // namespace parley
