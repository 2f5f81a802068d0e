// What a scenario of `parley demo` takes from the program that runs it, and how it fails.
//
// The scenarios (the bank comparison, random bank workloads, the offline walkthrough) are a
// library below the command line: the program hands them its ids, clock and strategies (only
// the top-level program creates real ones) and prints what they return. A library call that
// fails inside a scenario throws ScenarioError with the library's message; the program shows it
// as one line.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "parley/site.hpp"

namespace parley::demo {

struct Tools {
  Clock* clock = nullptr;   // required; for sites that live on disk
  IdSource* ids = nullptr;  // required
  std::shared_ptr<const ResolverProvider> resolvers;
  std::function<void(const QueryResult&)> printRows;  // shows a query's rows to the user
};

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline void must(const Status& status) {
  if (!status) throw ScenarioError(status.message());
}

template <class T>
T must(Result<T> r) {
  must(r.status());
  return std::move(r).value();
}

}  // namespace parley::demo
