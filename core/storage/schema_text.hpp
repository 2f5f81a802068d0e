// What of a tracked table's schema decides how a remote transaction applies, as lines of text
// read from SQLite's own catalog: the schema fingerprint is a hash of them, and two sites'
// lines, compared, name what differs.
//
// Covered: columns in order with their declared types, NOT NULL, collations and key
// positions; CHECK constraints; UNIQUE constraints and UNIQUE indexes (with their collations,
// expressions and partial-index WHERE clauses, whatever the index is named); foreign keys in
// both directions with their actions; STRICT. Not covered, because an apply does not depend on
// them: defaults (an apply writes every column), plain indexes (a site may add one for its
// own reads), triggers (an apply runs with triggers off), index and constraint names.
//
// Every line is deterministic and independent of the order things were created in:
// constraints and indexes are sorted, SQL text is normalized (comments and spacing dropped,
// identifiers unquoted and lower-cased).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sqlite.hpp"

namespace parley::schema_text {

// The lines for `table`, each starting with its (printable) name and a colon.
// REQUIRES: `table` exists.
std::vector<std::string> describeTable(sql::Db& db, const std::string& table, const std::string& label);
// The key of a CREATE INDEX statement as SQL text: each column or expression (with its COLLATE,
// without ASC or DESC), and a partial index's WHERE condition (empty if none).
struct IndexKey {
  std::vector<std::string> terms;
  std::string where;
};
IndexKey indexKey(std::string_view createIndex);
// What differs between this site's lines and a peer's, in one line: "<peer> has no X; ...".
std::string difference(const std::vector<std::string>& mine, const std::vector<std::string>& theirs,
                       std::string_view myName, std::string_view theirName);

}  // namespace parley::schema_text
