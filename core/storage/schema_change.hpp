// Schema changes as replicated transactions (DESIGN.md, "Schema and configuration changes").
//
// A schema transaction is an ordinary Transaction (dot, HLC, causal context, hash chain) whose
// rows are all on the reserved table kSchemaTable: each row is one SchemaChange, its fields in
// the row's columns. So every link, the log, finality and compaction carry schema changes as
// they carry data, with no format of their own; only admission and the fold tell them apart.
//
// Columns have ids, and transactions name the columns they write by id: a column tracked with
// its table keeps its position at track time as its id; a column added later gets an id derived
// from its name (columnIdFor: the high bit set, so never a position). Two sites that add the
// same column concurrently so agree on its id, renames keep it, and a write names the same
// column at every site whatever order the changes arrived in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/transaction.hpp"

namespace parley {

// The reserved table schema changes are written to. parley refuses to track any table whose
// name starts with "parley_", so no data transaction can name it.
inline constexpr std::string_view kSchemaTable = "parley_schema";

struct SchemaChange {
  enum class Kind : std::uint8_t {
    kTrack,         // table; sql: its CREATE TABLE; text: its configuration
    kUntrack,       // table
    kAddColumn,     // table; name: the column; sql: its definition (as after ADD COLUMN); id
    kDropColumn,    // table; name: the column; id
    kRenameColumn,  // table; name: the old name; text: the new name; id
    kCreateIndex,   // table; name: the index; sql: its CREATE INDEX
    kDropIndex,     // table; name: the index; sql: its CREATE INDEX, when the origin knew it
    kConfigure,     // table; text: the configuration (TableConfig::toString)
  };
  Kind kind = Kind::kTrack;
  std::string table;
  std::string name;
  std::string sql;
  std::string text;
  std::uint32_t id = 0;

  // "add column \"c\" to \"t\"", for messages and the conflict log.
  std::string describe() const;
  friend bool operator==(const SchemaChange&, const SchemaChange&) = default;
};

// The id a column added under `name` gets: the high bit set (positions never have it), the
// rest a hash of the name as SQLite compares names (ASCII case folded).
std::uint32_t columnIdFor(std::string_view name);
inline bool isAddedColumnId(std::uint32_t id) { return (id & 0x80000000u) != 0; }

// The row a change is written as, the `index`-th of its transaction.
RowChange toRow(const SchemaChange& change, std::size_t index);
// The change a row of kSchemaTable holds. kCorruption-style Error if it is not one.
SchemaChange fromRow(const RowChange& row);
// Whether `t` is a schema transaction: its first row is on kSchemaTable (admission checks that
// all are, and that no data transaction writes it).
bool isSchemaTransaction(const Transaction& t);
std::vector<SchemaChange> schemaChanges(const Transaction& t);

// Whether `sql` is a CREATE UNIQUE INDEX statement.
bool isUniqueIndexSql(std::string_view sql);

// Whether a schema transaction's place in canonical order decides what the state is, so that a
// transaction arriving late that sorts before it must be folded before it (a re-fold), at every
// site: a configuration (the writes after it fold by its resolvers, those before by the
// previous ones), a track (it may configure a table tracked here too), and a UNIQUE index
// created or dropped (whether it exists, and which writes it rejects, depends on the rows
// before it). The other changes are applied so that their order does not matter.
bool isOrderDependent(const Transaction& t);
bool isOrderDependent(const SchemaChange& c);

// What undoing a schema transaction restores, kept as its undo record (parley_undo) at every
// site that applied or committed it, so a re-fold can take it back and apply it again at its
// place in canonical order. The other changes need no undo: applying them again changes nothing.
struct SchemaUndo {
  enum class Kind : std::uint8_t {
    kConfig,       // table; text: the configuration in force before; stamp: when it was made
    kDropIndex,    // table; name: an index the transaction created
    kCreateIndex,  // table; name: an index the transaction dropped; text: its CREATE INDEX
  };
  Kind kind = Kind::kConfig;
  std::string table;
  std::string name;
  std::string text;
  Stamp stamp;
  friend bool operator==(const SchemaUndo&, const SchemaUndo&) = default;
};
std::string encodeSchemaUndo(const std::vector<SchemaUndo>& undo);
// kCorruption-style Error if `bytes` is not one.
std::vector<SchemaUndo> decodeSchemaUndo(std::string_view bytes);
// Whether a stored undo record is a schema transaction's (a data transaction's never starts
// with an entry count of 0 followed by more bytes).
bool isSchemaUndo(std::string_view body);

// The column definition of `ALTER TABLE t ADD [COLUMN] def`, as written: the statement's text
// after ADD and the optional COLUMN, without a trailing semicolon. nullopt if the text is not
// such a statement.
std::optional<std::string> addedColumnDefinition(std::string_view statement);

// A column definition ("name [type] [constraints]") with its type name replaced by `type`
// (inserted after the name when it has none).
std::string withColumnType(std::string_view definition, std::string_view type);
// SQLite's type affinity of a column definition's declared type: 'I'nteger, 'T'ext, 'B'lob
// (none), 'R'eal or 'N'umeric.
char columnAffinity(std::string_view definition);

}  // namespace parley
