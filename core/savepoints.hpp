// SavepointStack: the SAVEPOINT nesting of a site's connection, so that RELEASE of the outermost
// one is seen as a commit (Site::Impl). Internal to core.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "statement.hpp"

namespace parley {

class SavepointStack {
 public:
  void clear() {
    names_.clear();
    startedTransaction_ = false;
  }
  // True if releasing `name` would commit the transaction.
  bool releaseCommits(std::string_view name) const {
    return startedTransaction_ && !names_.empty() && position(name) == 0;
  }
  void savepoint(std::string name, bool startsTransaction) {
    if (startsTransaction) clear(), startedTransaction_ = true;
    names_.push_back(std::move(name));
  }
  void release(std::string_view name) { truncate(name, 0); }
  void rollbackTo(std::string_view name) { truncate(name, 1); }

 private:
  std::ptrdiff_t position(std::string_view name) const {
    for (auto i = static_cast<std::ptrdiff_t>(names_.size()) - 1; i >= 0; --i)
      if (sameSavepoint(names_[static_cast<std::size_t>(i)], name)) return i;
    return -1;
  }
  void truncate(std::string_view name, std::ptrdiff_t keep) {
    auto at = position(name);
    if (at >= 0) names_.resize(static_cast<std::size_t>(at + keep));
  }
  std::vector<std::string> names_;
  bool startedTransaction_ = false;
};

}  // namespace parley
