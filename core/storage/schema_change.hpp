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
    kDropIndex,     // table; name: the index
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
