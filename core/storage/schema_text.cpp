#include "schema_text.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include <fmt/format.h>

namespace parley::schema_text {
namespace {

struct Token {
  std::string text;
  bool word = false;  // a keyword or an unquoted identifier (a quoted one is never a keyword)
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool plainIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

class Lexer {
 public:
  explicit Lexer(std::string_view sql) : s_(sql) {}

  std::vector<Token> all() {
    std::vector<Token> out;
    while (auto t = next()) out.push_back(std::move(*t));
    return out;
  }

 private:
  std::optional<Token> next() {
    skipSpaceAndComments();
    if (pos_ >= s_.size()) return std::nullopt;
    char c = s_[pos_];
    if (c == '\'') return Token{"'" + quoted('\'') + "'", false};
    if (c == '"' || c == '`' || c == '[') {
      std::string name = lower(quoted(c == '[' ? ']' : c));
      return Token{plainIdentifier(name) ? name : "\"" + name + "\"", false};
    }
    if (wordChar(c)) {
      std::string word;
      while (pos_ < s_.size() && wordChar(s_[pos_])) word.push_back(s_[pos_++]);
      return Token{lower(word), true};
    }
    for (std::string_view op : {"->>", "->", "<=", ">=", "<>", "!=", "==", "||", "<<", ">>"}) {  // longest first
      if (s_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        return Token{std::string(op), false};
      }
    }
    ++pos_;
    return Token{std::string(1, c), false};
  }

  static bool wordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '.' ||
           static_cast<unsigned char>(c) >= 0x80;
  }

  void skipSpaceAndComments() {
    while (pos_ < s_.size()) {
      if (std::isspace(static_cast<unsigned char>(s_[pos_]))) {
        ++pos_;
      } else if (s_.substr(pos_, 2) == "--") {
        auto nl = s_.find('\n', pos_);
        pos_ = nl == std::string_view::npos ? s_.size() : nl + 1;
      } else if (s_.substr(pos_, 2) == "/*") {
        auto close = s_.find("*/", pos_ + 2);
        pos_ = close == std::string_view::npos ? s_.size() : close + 2;
      } else {
        return;
      }
    }
  }

  // The text between quotes, a doubled closing quote read as one (not for [...]).
  std::string quoted(char close) {
    std::string out;
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == close) {
        if (close != ']' && pos_ < s_.size() && s_[pos_] == close) {
          out.push_back(c);
          ++pos_;
          continue;
        }
        break;
      }
      out.push_back(c);
    }
    if (close == '\'') {  // keep it a valid literal
      std::string escaped;
      for (char ch : out) escaped += ch == '\'' ? std::string("''") : std::string(1, ch);
      return escaped;
    }
    return out;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// A name as a line shows it: as it is if plain, else in double quotes.
std::string nameText(const std::string& name) {
  if (plainIdentifier(name)) return name;
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Tokens separated by one space, none after "(" or before ")" and ",".
std::string join(const std::vector<Token>& tokens, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to && i < tokens.size(); ++i) {
    const std::string& t = tokens[i].text;
    bool tight = out.empty() || out.back() == '(' || t == ")" || t == ",";
    out += (tight ? "" : " ") + t;
  }
  return out;
}

// The index just past the parenthesis closing the one at `open`.
std::size_t closing(const std::vector<Token>& tokens, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < tokens.size(); ++i) {
    if (tokens[i].text == "(") ++depth;
    if (tokens[i].text == ")" && --depth == 0) return i + 1;
  }
  return tokens.size();
}

bool isWord(const Token& t, std::string_view w) { return t.word && t.text == w; }

// Every CHECK (...) expression of a CREATE TABLE statement, normalized.
std::vector<std::string> checks(std::string_view createTable) {
  auto tokens = Lexer(createTable).all();
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (!isWord(tokens[i], "check") || tokens[i + 1].text != "(") continue;
    std::size_t end = closing(tokens, i + 1);
    out.push_back("CHECK " + join(tokens, i + 1, end));
    i = end - 1;
  }
  return out;
}

struct IndexSql {
  std::string columns;  // the parenthesized list after ON table
  std::string where;    // a partial index's condition, or empty
};

IndexSql indexSql(std::string_view createIndex) {
  auto tokens = Lexer(createIndex).all();
  IndexSql out;
  std::size_t i = 0;
  while (i < tokens.size() && !isWord(tokens[i], "on")) ++i;
  while (i < tokens.size() && tokens[i].text != "(") ++i;
  std::size_t end = closing(tokens, i);
  out.columns = join(tokens, i, end);
  if (end < tokens.size() && isWord(tokens[end], "where")) out.where = join(tokens, end + 1, tokens.size());
  return out;
}

std::string upperSpaced(std::string s) {
  std::string out;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string columnCollation(sql::Db& db, const std::string& table, const std::string& column) {
  const char* collation = nullptr;
  if (sqlite3_table_column_metadata(db.raw(), "main", table.c_str(), column.c_str(), nullptr, &collation, nullptr,
                                    nullptr, nullptr) != SQLITE_OK || !collation)
    return "BINARY";
  return upperSpaced(collation);
}

void columns(sql::Db& db, const std::string& table, const std::string& label, std::vector<std::string>& out) {
  sql::Stmt info(db.raw(), "SELECT name, type, \"notnull\", pk FROM pragma_table_xinfo(?1) ORDER BY cid");
  info.bindText(1, table);
  while (info.step()) {
    std::string name = info.text(0);
    std::string line = fmt::format("{}: column {} {}", label, nameText(name), upperSpaced(info.text(1)));
    if (info.int64(2)) line += " NOT NULL";
    line += " COLLATE " + columnCollation(db, table, name);
    if (info.int64(3)) line += fmt::format(" PRIMARY KEY #{}", info.int64(3));
    out.push_back(std::move(line));
  }
}

void uniqueIndexes(sql::Db& db, const std::string& table, const std::string& label, std::vector<std::string>& out) {
  sql::Stmt list(db.raw(),
                 "SELECT l.name, l.partial, s.sql FROM pragma_index_list(?1) l "
                 "LEFT JOIN sqlite_schema s ON s.type = 'index' AND s.name = l.name "
                 "WHERE l.\"unique\" AND l.origin <> 'pk'");
  list.bindText(1, table);
  std::vector<std::string> found;
  while (list.step()) {
    std::string index = list.text(0);
    bool partial = list.int64(1) != 0;
    std::string createSql = list.isNull(2) ? "" : list.text(2);
    sql::Stmt cols(db.raw(), "SELECT cid, name, coll FROM pragma_index_xinfo(?1) WHERE key ORDER BY seqno");
    cols.bindText(1, index);
    std::string keys;
    bool expressions = false;
    while (cols.step()) {
      expressions = expressions || cols.int64(0) < 0;
      keys += fmt::format("{}{} COLLATE {}", keys.empty() ? "" : ", ",
                          cols.isNull(1) ? std::string("<expression>") : nameText(cols.text(1)), upperSpaced(cols.text(2)));
    }
    IndexSql parsed = indexSql(createSql);
    std::string line = fmt::format("{}: UNIQUE ({})", label, keys);
    if (expressions) line += " ON " + parsed.columns;
    if (partial) line += " WHERE " + parsed.where;
    found.push_back(std::move(line));
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
}

// Foreign keys of `table` ("REFERENCES") and of other tables that point at it ("REFERENCED BY").
void foreignKeys(sql::Db& db, const std::string& table, const std::string& label, std::vector<std::string>& out) {
  struct Key {
    std::string child, parent, from, to, actions;
  };
  std::map<std::pair<std::string, std::int64_t>, Key> keys;
  sql::Stmt s(db.raw(),
              "SELECT s.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete, f.match "
              "FROM sqlite_schema s, pragma_foreign_key_list(s.name) f "
              "WHERE s.type = 'table' AND (s.name = ?1 OR f.\"table\" = ?1 COLLATE NOCASE) ORDER BY s.name, f.id, f.seq");
  s.bindText(1, table);
  while (s.step()) {
    Key& k = keys[{s.text(0), s.int64(1)}];
    k.child = nameText(s.text(0));
    k.parent = nameText(s.text(2));
    k.from += (k.from.empty() ? "" : ", ") + nameText(s.text(3));
    k.to += (k.to.empty() ? "" : ", ") + (s.isNull(4) ? std::string("<key>") : nameText(s.text(4)));
    k.actions = fmt::format("ON UPDATE {} ON DELETE {} MATCH {}", s.text(5), s.text(6), s.text(7));
  }
  std::vector<std::string> found;
  for (const auto& [at, k] : keys) {
    bool own = at.first == table;
    found.push_back(own ? fmt::format("{}: FOREIGN KEY ({}) REFERENCES {}({}) {}", label, k.from, k.parent, k.to, k.actions)
                        : fmt::format("{}: REFERENCED BY {}({}) {}", label, k.child, k.from, k.actions));
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
}

}  // namespace

std::vector<std::string> describeTable(sql::Db& db, const std::string& table, const std::string& label) {
  std::vector<std::string> out;
  sql::Stmt create(db.raw(), "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  create.bindText(1, table);
  std::string createSql = create.step() && !create.isNull(0) ? create.text(0) : "";
  sql::Stmt strict(db.raw(), "SELECT strict FROM pragma_table_list(?1) WHERE schema = 'main'");
  strict.bindText(1, table);
  if (strict.step() && strict.int64(0)) out.push_back(label + ": STRICT");
  columns(db, table, label, out);
  auto found = checks(createSql);
  std::sort(found.begin(), found.end());
  for (auto& c : found) out.push_back(label + ": " + c);
  uniqueIndexes(db, table, label, out);
  foreignKeys(db, table, label, out);
  return out;
}

std::string difference(const std::vector<std::string>& mine, const std::vector<std::string>& theirs,
                       std::string_view myName, std::string_view theirName) {
  std::vector<std::string> a = mine, b = theirs, onlyMine, onlyTheirs;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(onlyMine));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(onlyTheirs));
  std::string out;
  for (const auto& line : onlyMine) out += fmt::format("{}{} has no {}", out.empty() ? "" : "; ", theirName, line);
  for (const auto& line : onlyTheirs) out += fmt::format("{}{} has no {}", out.empty() ? "" : "; ", myName, line);
  return out;
}

IndexKey indexKey(std::string_view createIndex) {
  auto tokens = Lexer(createIndex).all();
  IndexKey out;
  std::size_t i = 0;
  while (i < tokens.size() && !isWord(tokens[i], "on")) ++i;
  while (i < tokens.size() && tokens[i].text != "(") ++i;
  std::size_t end = closing(tokens, i);
  int depth = 0;
  std::size_t from = i + 1;
  for (std::size_t k = i + 1; k < end; ++k) {
    const std::string& t = tokens[k].text;
    if (t == "(") ++depth;
    if (t == ")" && depth > 0) {
      --depth;
      continue;
    }
    if ((t == "," && depth == 0) || k + 1 == end) {
      std::size_t to = k;
      while (to > from && (isWord(tokens[to - 1], "asc") || isWord(tokens[to - 1], "desc"))) --to;
      if (to > from) out.terms.push_back(join(tokens, from, to));
      from = k + 1;
    }
  }
  if (end < tokens.size() && isWord(tokens[end], "where")) out.where = join(tokens, end + 1, tokens.size());
  return out;
}

}  // namespace parley::schema_text
