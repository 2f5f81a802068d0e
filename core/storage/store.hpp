// Store: reads and writes of a site's rows, row metadata, log and vector (undo records: undo.hpp).
// Every function runs inside the caller's SQLite transaction; all SQL is prepared once and
// cached, identifiers quoted, values bound. Each takes the few objects it uses (handles.hpp:
// the connection, the log, what an append changes), but the undo records' functions, which
// still take the whole SiteState.
#pragma once

#include <algorithm>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "causal_context.hpp"
#include "handles.hpp"
#include "log_format.hpp"
#include "parley/transaction.hpp"
#include "row_meta.hpp"
#include "state.hpp"

namespace parley::store {

// The current values of a row (every column), if it exists.
std::optional<Row> readRow(Rows rows, const TableInfo& t, const Row& pk);
void insertRow(Rows rows, const TableInfo& t, const Row& values);
void updateRow(Rows rows, const TableInfo& t, const Row& values);
void deleteRow(Rows rows, const TableInfo& t, const Row& pk);
// Makes the stored row equal `after` (nullopt: absent), given what is stored now.
void writeRow(Rows rows, const TableInfo& t, const Row& pk, const std::optional<Row>& now,
              const std::optional<Row>& after);

// A row's metadata is its own parley_rows row, else that of the insert range covering it
// (insert_ranges.hpp), else none.
std::optional<RowMeta> readMeta(Log log, const TableInfo& t, std::string_view key);
// `existed`: whether the row had a metadata row of its own before (an update rather than an
// insert); a row whose metadata is its insert range's had none.
void writeMeta(Log log, const TableInfo& t, std::string_view key, const RowMeta& m, bool existed);
// Deletes the row's own metadata row (an insert range covering it stays).
void deleteMeta(Rows rows, const TableInfo& t, std::string_view key);
// The raw stored metadata blob. `inRange`, if given, tells whether it is an insert range's.
std::optional<std::string> readMetaBlob(Rows rows, const TableInfo& t, std::string_view key,
                                        bool* inRange = nullptr);
void writeMetaBlob(Rows rows, const TableInfo& t, std::string_view key, std::string_view blob,
                   bool existed);

// What apply reads of a row before folding a change into it, in one statement. Reading into
// a StoredRow reuses its buffers (the apply engine keeps one per row slot across transactions).
struct StoredRow {
  bool hasMeta = false;    // false: never seen here
  std::string meta;        // the metadata blob, when hasMeta
  bool inRange = false;    // the blob is the row's insert range's: it has no metadata row of its own
  bool hasValues = false;  // false: absent, or no metadata
  Row values;              // the stored row (every column), when hasValues
};
// Fills `out` with the row of key `pk`; `key` is the encoded `pk`.
void readStored(Rows rows, const TableInfo& t, std::string_view key, const Row& pk, StoredRow& out);
// For a row without a metadata row of its own: fills `out` from the insert range covering it,
// if one does (metadata and stored values); leaves `out` as it is otherwise.
void readCovered(Rows rows, const TableInfo& t, const Row& pk, StoredRow& out);
// The stored values of the row into `out` (hasValues, values).
void readRowInto(Rows rows, const TableInfo& t, const Row& pk, StoredRow& out);
// Fills `out` with columns [first, first + n) of the statement's current row, reusing its storage.
void readValues(const sql::Stmt& st, int first, std::size_t n, Row& out);

// Bulk access to row metadata of a table whose key is its rowid (t.integerKey), for commits
// of many rows. The greatest rowid with metadata, its own or an insert range's; nullopt if none.
std::optional<std::int64_t> maxMetaRowid(Rows rows, const TableInfo& t);
// Calls visit(rowid, blob) for every row with a metadata row of its own and lo <= rowid <= hi, in rowid order,
// through one statement. `blob` is valid only during the call. visit must not write.
template <class Visit>
void scanMetaBlobs(Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi, Visit&& visit);
// writeMetaBlob for a rowid; `blob` is not copied (it must outlive the call only).
void writeMetaBlobAt(Rows rows, const TableInfo& t, std::int64_t rowid, std::string_view blob, bool existed);

// Appends a transaction to the log with the fold's decision on it and its stored context
// (storedContext, log_format.hpp), and advances the site's vector to its dot.
// `digests`: what the transaction changed in the digests (Digests::takeDelta), or empty.
void appendLog(LogWrites to, const Transaction& t, std::string_view body, bool rejected,
               const std::optional<std::string>& context, std::string_view digests = {});
// Writes the digests' base as of everything held (Digests::flush).
void flushDigests(LogWrites to);

// What one apply call leaves in the log, written in one step once everything is folded: the
// decision now on each held transaction it folded again; each new transaction appended in
// canonical order, with the fold's decision and its stored context (storedContext,
// log_format.hpp), and `digests` (what the call changed in them, Digests::takeDelta) with the
// last; then the digests' base, if due. Advances the site's vector to each.
struct ApplyOutcome {
  std::vector<Dot> refolded;                  // held transactions folded again
  std::span<const Transaction* const> fresh;  // the new ones, in canonical order
  std::span<const ContextView> contexts;      // fresh[i]'s full causal context
  std::vector<bool> grew;                     // whether it grew beyond its predecessor's (causal::complete)
  std::set<Dot> rejected;                     // those of both the fold rejects
  std::span<const Transaction> incoming;      // what fresh points into, and its encodings as they
  std::span<const std::string_view> bodies;   // arrived, which the log keeps (empty: each is encoded)
  std::string digests;
};
void logApplied(LogWrites to, const ApplyOutcome& outcome);

// Records a re-fold's decision on a held transaction.
void setRejected(Log log, const Dot& dot, bool rejected);
// The decision on a held transaction: (rejected, final); nullopt if not held.
std::optional<std::pair<bool, bool>> decisionOf(Log log, const Dot& dot);
// Every held transaction whose decision is not final yet, with whether the fold rejects it
// now; contexts as encoded.
std::vector<std::pair<Transaction, bool>> notFinal(Log log, const VersionVector& vector);
// Marks final `origin`'s transactions with seq <= upTo (a watermark per origin).
void markFinal(Log log, const SiteId& origin, std::uint64_t upTo);
// Drops `origin`'s final transactions with seq <= upTo from the log and undo records, and
// records them as compacted. Returns how many were dropped.
std::size_t dropFinal(causal::Contexts known, const SiteId& origin, std::uint64_t upTo);
// The greatest HLC of a held order-dependent schema transaction (schema_change.hpp's
// isOrderDependent), kept in parley_meta; raiseOrderBarrier keeps the greater of two.
std::optional<Hlc> orderBarrier(sql::Db& db);
void raiseOrderBarrier(sql::Db& db, Hlc hlc);
// The greatest stamp compact() has dropped, if any.
std::optional<Stamp> compactedStamp(sql::Db& db);
// Whether every held transaction is final.
bool allFinal(sql::Db& db);
// The greatest stamp among held transactions (`vector`, what the site holds), if any.
std::optional<Stamp> lastStamp(Log log, const VersionVector& vector);
// The HLC of a held transaction; nullopt if not held (or compacted).
std::optional<Hlc> hlcOf(Log log, const Dot& dot);
// What this site holds of a transaction's place in its origin's hash chain: its HLC (none if
// compacted) and its hash (empty if it has none); nullopt if neither the log nor the
// compacted record (which keeps the hash of each origin's last compacted transaction) has it.
struct HeldLink {
  std::optional<Hlc> hlc;
  ChainHash hash;
};
std::optional<HeldLink> heldLink(Log log, const Dot& dot);

// What a site holds around a batch of incoming transactions, as admission decides on it
// (apply/admission.hpp): its vector, and the link of each held transaction the batch repeats and
// of the transaction before each origin's first new one. `vector` must outlive it.
struct Held {
  const VersionVector& vector;
  std::vector<std::pair<Dot, HeldLink>> links;  // sorted by dot, each once

  // nullptr if `dot` was not read or is not held.
  const HeldLink* link(const Dot& dot) const {
    auto it = std::lower_bound(links.begin(), links.end(), dot, [](const auto& l, const Dot& d) { return l.first < d; });
    return it != links.end() && it->first == dot ? &it->second : nullptr;
  }
};
// Reads, once and before anything is decided, what admission needs of the log for `incoming`.
Held heldAround(Log log, const VersionVector& vector, std::span<const Transaction> incoming);

VersionVector loadVector(Log log);

// The statement behind scanMetaBlobs, bound and ready to step.
sql::Stmt& metaRangeStatement(Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi);

template <class Visit>
void scanMetaBlobs(Rows rows, const TableInfo& t, std::int64_t lo, std::int64_t hi, Visit&& visit) {
  sql::Stmt& st = metaRangeStatement(rows, t, lo, hi);
  while (st.step()) visit(st.int64(0), st.blob(1));
}

}  // namespace parley::store
