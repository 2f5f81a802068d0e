// CaptureState: what capture and commit keep beyond storage's SiteState: the capture check
// switch and the operations strategies asked for after refusing a local commit. Apply's state
// (apply/apply_state.hpp) builds on it; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "parley/transaction.hpp"
#include "parley/value.hpp"
#include "state.hpp"

namespace parley {

struct CaptureState : SiteState {
  using SiteState::SiteState;

  bool checkCapture = false;            // SiteOptions::checkCapture
  // Operations strategies asked to commit after refusing a local commit
  // (ColumnResolver::operationAfterRefusal), committed once that commit is rolled back.
  struct FollowUp {
    std::string table;
    Row pk;
    std::uint32_t column = 0;
    Value op;
  };
  std::vector<FollowUp> followUps;
};

}  // namespace parley
