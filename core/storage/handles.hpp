// The few objects storage's functions take instead of the whole SiteState: `Rows` (the
// connection, for the tracked tables' rows and metadata), `Log` (the connection and the site
// indexes the log's keys and stored vectors are made of), `LogWrites` (what appending to the log
// changes besides it: the vector, the digests and the undo records held for it) and
// `TableLookup` (the tracked tables by name or id). Each is a few references, cheap to copy; a
// SiteState converts to each, so a caller holding the state hands it over as it is, and one
// holding only the parts builds the handle.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "state.hpp"

namespace parley {

// The tracked tables, looked up as the apply engine and admission need them.
class TableLookup {
 public:
  TableLookup(const std::vector<std::unique_ptr<TableInfo>>& tables) : tables_(tables) {}  // NOLINT
  TableLookup(const SiteState& s) : tables_(s.tables) {}  // NOLINT(google-explicit-constructor)

  // nullptr if `name` is not tracked.
  const TableInfo* named(std::string_view name) const;
  // nullptr if no tracked table has that id.
  const TableInfo* withId(std::int64_t id) const;
  // Whether any tracked table folds differently in arrival order than in canonical order.
  bool orderSensitive() const;

 private:
  const std::vector<std::unique_ptr<TableInfo>>& tables_;
};

}  // namespace parley

namespace parley::store {

// The connection as the functions over the tracked tables' rows, their metadata and insert
// ranges need it: its statement cache.
struct Rows {
  Rows(sql::Db& connection) : db(connection) {}  // NOLINT(google-explicit-constructor)
  Rows(SiteState& s) : db(s.db) {}  // NOLINT(google-explicit-constructor)
  sql::Db& db;
};

// The log as its readers need it: the connection and the table of local site indexes its keys
// are made of.
struct Log {
  Log(sql::Db& connection, SiteTable& siteTable) : db(connection), sites(siteTable) {}
  Log(SiteState& s) : db(s.db), sites(s.sites) {}  // NOLINT(google-explicit-constructor)
  sql::Db& db;
  SiteTable& sites;
};

// The log as its writers need it: appending a transaction advances the vector, and the
// digests' base is written at the vector's place.
struct LogWrites {
  LogWrites(Log to, VersionVector& held, Digests& rowDigests, SiteState::UndoCache& undoRecords)
      : log(to), vector(held), digests(rowDigests), undo(undoRecords) {}
  LogWrites(SiteState& s) : log(s), vector(s.vector), digests(s.digests), undo(s.undo) {}  // NOLINT
  Log log;
  VersionVector& vector;
  Digests& digests;
  SiteState::UndoCache& undo;  // the undo records an append writes with their log rows (undo.hpp)
};

}  // namespace parley::store
