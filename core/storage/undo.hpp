// Undo records: what re-folding needs to take back an applied transaction. For each row the
// transaction changed, its metadata blob and values before it (nullopt: absent); a schema
// transaction's record is its SchemaUndo list (schema_change.hpp). Every site keeps one for
// every applied transaction until compaction, in the order it applied them: a re-fold undoes
// the records saved since the earliest of the transactions it folds again, newest first.
//
// A record lives in its transaction's log row (parley_log.undo), which the commit or apply
// writes anyway, with its place in application order (parley_log.applied, a counter). Each
// origin's transactions are applied in seq order, and a re-fold undoes a suffix of the
// application order and applies it again in canonical order, which keeps each origin's seq
// order: so along one origin's log the positions grow, and the records saved since a position
// are found by walking each origin's log back from its newest. Files of format 7 kept records
// in a table of their own (parley_undo, rowid = position); those left there are read and taken
// from it, and every later position is greater than theirs.
//
// A local commit's record may leave its updates' values to the transaction's body (each write
// carries the value it replaced, and undoing newest first finds the row as the transaction left
// it): an entry whose `valuesFromBody` is set restores only metadata, and a keyless entry with
// neither metadata nor values restores the values of every update the body holds.
// Every function runs inside the caller's SQLite transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/transaction.hpp"
#include "handles.hpp"
#include "state.hpp"

namespace parley::store {

// What the undo records' functions use: the log they live in, and the records held for
// transactions not logged yet (a SiteState converts to it).
struct UndoRecords {
  UndoRecords(Log stored, SiteState::UndoCache& held) : log(stored), cache(held) {}
  UndoRecords(SiteState& s) : log(s), cache(s.undo) {}  // NOLINT(google-explicit-constructor)
  Log log;
  SiteState::UndoCache& cache;
};

struct UndoEntry {
  std::int64_t table = 0;
  std::string key;  // empty: a range a local commit split (values: its first and last rowid),
                    // or, without meta and values, the body's updates (above)
  std::optional<std::string> meta;
  std::optional<Row> values;
  bool valuesFromBody = false;  // the row's values are the body's to restore; values is nullopt
};
void saveUndo(UndoRecords u, const Dot& dot, const std::vector<UndoEntry>& entries);
// The same record built in place: undoHeader() with the entry count, then undoEntry() for
// each entry (meta, values: nullptr when absent), then saveUndoBody(). Same bytes as saveUndo.
void undoHeader(std::string& body, std::size_t entries);
void undoEntry(std::string& body, std::int64_t table, std::string_view key, std::optional<std::string_view> meta,
               const Row* values);
// An entry whose values are the body's (UndoEntry::valuesFromBody).
void undoEntryFromBody(std::string& body, std::int64_t table, std::string_view key,
                       std::optional<std::string_view> meta);
// The keyless entry that leaves every update's values to the body.
void undoEntryBodyUpdates(std::string& body);
void saveUndoBody(UndoRecords u, const Dot& dot, std::string_view body);
// saveUndoBody for a transaction about to be logged (appendLog writes the record with its
// row). REQUIRES: `dot` is not in the log.
void holdUndo(UndoRecords u, const Dot& dot, std::string&& body);
// For appendLog: the record held for the log row `logKey`, removed; nullopt if none.
struct HeldUndo {
  std::string body;
  std::int64_t position = 0;
};
std::optional<HeldUndo> takeHeldUndo(SiteState::UndoCache& held, std::int64_t logKey);
// The record of `dot`, decoded and removed. A transaction without one (its file was written
// by a parley that kept none) cannot be undone: one line says so.
std::vector<UndoEntry> takeUndo(UndoRecords u, const Dot& dot);
// The dots of the undo records saved since the earliest saved of `dots`' (application order:
// a record saved again goes last), oldest first; empty if none of `dots` has one. Undoing them
// newest first takes the state back to what it was before the first of `dots` was applied.
std::vector<Dot> undoneSince(UndoRecords u, const std::vector<Dot>& dots);
// The record saved for `dot` as it was saved (a schema transaction's: schema_change.hpp's
// SchemaUndo), removed; nullopt if there is none.
std::optional<std::string> takeUndoBody(UndoRecords u, const Dot& dot);
// Calls visit(dot, body) for every record, in application order (saving records again in this
// order keeps it). `body` is valid only during the call; visit must not write.
void visitUndo(UndoRecords u, const std::function<void(const Dot&, std::string_view)>& visit);
// Drops the records of origin `site` (its local index) with seq <= upTo that format 7 kept
// apart (compaction; the others go with their log rows).
void dropUndo(sql::Db& db, std::int64_t site, std::uint64_t upTo);

}  // namespace parley::store
