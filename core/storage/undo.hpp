// Undo records: what re-folding needs to take back an applied transaction. For each row the
// transaction changed, its metadata blob and values before it (nullopt: absent); a schema
// transaction's record is its SchemaUndo list (schema_change.hpp). Every site keeps one for
// every applied transaction until compaction, in the order it applied them: a re-fold undoes
// the records saved since the earliest of the transactions it folds again, newest first.
// Every function runs inside the caller's SQLite transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/transaction.hpp"
#include "state.hpp"

namespace parley::store {

struct UndoEntry {
  std::int64_t table = 0;
  std::string key;
  std::optional<std::string> meta;
  std::optional<Row> values;
};
void saveUndo(SiteState& s, const Dot& dot, const std::vector<UndoEntry>& entries);
// The same record built in place: undoHeader() with the entry count, then undoEntry() for
// each entry (meta, values: nullptr when absent), then saveUndoBody(). Same bytes as saveUndo.
void undoHeader(std::string& body, std::size_t entries);
void undoEntry(std::string& body, std::int64_t table, std::string_view key, std::optional<std::string_view> meta,
               const Row* values);
void saveUndoBody(SiteState& s, const Dot& dot, std::string_view body);
std::vector<UndoEntry> takeUndo(SiteState& s, const Dot& dot);
// The dots of the undo records saved since the earliest saved of `dots`' (application order:
// a record saved again goes last), oldest first; empty if none of `dots` has one. Undoing them
// newest first takes the state back to what it was before the first of `dots` was applied.
std::vector<Dot> undoneSince(SiteState& s, const std::vector<Dot>& dots);
// The record saved for `dot` as it was saved (a schema transaction's: schema_change.hpp's
// SchemaUndo), removed; nullopt if there is none.
std::optional<std::string> takeUndoBody(SiteState& s, const Dot& dot);
// Calls visit(dot, body) for every record, in application order (saving records again in this
// order keeps it). `body` is valid only during the call; visit must not write.
void visitUndo(SiteState& s, const std::function<void(const Dot&, std::string_view)>& visit);
// Drops the records of origin `site` (its local index) with seq <= upTo (compaction).
void dropUndo(SiteState& s, std::int64_t site, std::uint64_t upTo);

}  // namespace parley::store
