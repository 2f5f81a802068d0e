#include "schema_change.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <xxhash.h>

#include "codec.hpp"
#include "parley/status.hpp"

namespace parley {
namespace {

constexpr std::uint32_t kKind = 0, kTable = 1, kName = 2, kSql = 3, kText = 4, kId = 5;

const char* kindName(SchemaChange::Kind k) {
  switch (k) {
    case SchemaChange::Kind::kTrack: return "track";
    case SchemaChange::Kind::kUntrack: return "untrack";
    case SchemaChange::Kind::kAddColumn: return "add column";
    case SchemaChange::Kind::kDropColumn: return "drop column";
    case SchemaChange::Kind::kRenameColumn: return "rename column";
    case SchemaChange::Kind::kCreateIndex: return "create index";
    case SchemaChange::Kind::kDropIndex: return "drop index";
    case SchemaChange::Kind::kConfigure: return "configure";
  }
  return "?";
}

[[noreturn]] void bad(const std::string& what) { throw Error(Status::corruption("schema change: " + what)); }

// Tokens of SQL text, as far as the ALTER TABLE ... ADD prefix needs them.
class Tokens {
 public:
  explicit Tokens(std::string_view text) : text_(text) {}
  // The next token (an identifier or keyword unquoted, a quoted name without its quotes, or one
  // punctuation character); empty at the end.
  std::string next() {
    skipSpace();
    if (at_ >= text_.size()) return {};
    char c = text_[at_];
    if (c == '"' || c == '`' || c == '[' || c == '\'') return quoted(c == '[' ? ']' : c);
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80) {
      std::size_t from = at_;
      while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_' ||
                                    text_[at_] == '$' || static_cast<unsigned char>(text_[at_]) >= 0x80))
        ++at_;
      return std::string(text_.substr(from, at_ - from));
    }
    ++at_;
    return std::string(1, c);
  }
  std::size_t position() {
    skipSpace();
    return at_;
  }

 private:
  void skipSpace() {
    while (at_ < text_.size()) {
      if (std::isspace(static_cast<unsigned char>(text_[at_]))) {
        ++at_;
      } else if (text_.substr(at_, 2) == "--") {
        while (at_ < text_.size() && text_[at_] != '\n') ++at_;
      } else if (text_.substr(at_, 2) == "/*") {
        auto end = text_.find("*/", at_ + 2);
        at_ = end == std::string_view::npos ? text_.size() : end + 2;
      } else {
        return;
      }
    }
  }
  std::string quoted(char close) {
    std::string out;
    for (++at_; at_ < text_.size(); ++at_) {
      if (text_[at_] != close) {
        out += text_[at_];
      } else if (close != ']' && at_ + 1 < text_.size() && text_[at_ + 1] == close) {
        out += close;
        ++at_;
      } else {
        ++at_;
        return out;
      }
    }
    return out;
  }
  std::string_view text_;
  std::size_t at_ = 0;
};

bool keyword(const std::string& token, std::string_view word) {
  if (token.size() != word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(token[i])) != word[i]) return false;
  return true;
}

Value text(const std::string& s) { return Value::text(s); }

}  // namespace

std::string SchemaChange::describe() const {
  switch (kind) {
    case Kind::kAddColumn:
    case Kind::kDropColumn: return fmt::format("{} \"{}\" of \"{}\"", kindName(kind), name, table);
    case Kind::kRenameColumn: return fmt::format("rename column \"{}\" of \"{}\" to \"{}\"", name, table, text);
    case Kind::kCreateIndex:
    case Kind::kDropIndex: return fmt::format("{} \"{}\" on \"{}\"", kindName(kind), name, table);
    default: return fmt::format("{} \"{}\"", kindName(kind), table);
  }
}

std::uint32_t columnIdFor(std::string_view name) {
  std::string folded(name);
  for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return 0x80000000u | static_cast<std::uint32_t>(XXH3_64bits(folded.data(), folded.size()) & 0x7fffffffu);
}

RowChange toRow(const SchemaChange& change, std::size_t index) {
  RowChange row;
  row.table = std::string(kSchemaTable);
  row.pk = {Value::integer(static_cast<std::int64_t>(index))};
  row.op = RowOp::kInsert;
  row.columns = {{kKind, Value::null(), Value::integer(static_cast<std::int64_t>(change.kind)), {}},
                 {kTable, Value::null(), text(change.table), {}},
                 {kName, Value::null(), text(change.name), {}},
                 {kSql, Value::null(), text(change.sql), {}},
                 {kText, Value::null(), text(change.text), {}},
                 {kId, Value::null(), Value::integer(change.id), {}}};
  return row;
}

SchemaChange fromRow(const RowChange& row) {
  if (row.table != kSchemaTable || row.op != RowOp::kInsert || row.columns.size() != 6) bad("malformed row");
  auto field = [&](std::uint32_t i) -> const Value& {
    if (row.columns[i].column != i) bad("malformed row");
    return row.columns[i].newValue;
  };
  auto textOf = [&](std::uint32_t i) {
    if (field(i).type() != Value::Type::kText) bad("malformed field");
    return std::string(field(i).asText());
  };
  SchemaChange c;
  const Value& kind = field(kKind);
  if (kind.type() != Value::Type::kInteger || kind.asInteger() < 0 ||
      kind.asInteger() > static_cast<std::int64_t>(SchemaChange::Kind::kConfigure))
    bad("unknown kind");
  c.kind = static_cast<SchemaChange::Kind>(kind.asInteger());
  c.table = textOf(kTable);
  c.name = textOf(kName);
  c.sql = textOf(kSql);
  c.text = textOf(kText);
  const Value& id = field(kId);
  if (id.type() != Value::Type::kInteger || id.asInteger() < 0 || id.asInteger() > 0xffffffffLL) bad("bad column id");
  c.id = static_cast<std::uint32_t>(id.asInteger());
  return c;
}

bool isSchemaTransaction(const Transaction& t) { return !t.rows.empty() && t.rows.front().table == kSchemaTable; }

bool isUniqueIndexSql(std::string_view sql) {
  std::string words;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!words.empty() && words.back() != ' ') words += ' ';
    } else {
      words += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (words.size() > 20) break;
  }
  return words.rfind("create unique ", 0) == 0;
}

bool isOrderDependent(const SchemaChange& c) {
  using Kind = SchemaChange::Kind;
  if (c.kind == Kind::kConfigure || c.kind == Kind::kTrack) return true;
  return (c.kind == Kind::kCreateIndex || c.kind == Kind::kDropIndex) && isUniqueIndexSql(c.sql);
}

bool isOrderDependent(const Transaction& t) {
  if (!isSchemaTransaction(t)) return false;
  return std::any_of(t.rows.begin(), t.rows.end(), [](const RowChange& row) { return isOrderDependent(fromRow(row)); });
}

std::string encodeSchemaUndo(const std::vector<SchemaUndo>& undo) {
  std::string out;
  codec::Writer w(out);
  w.byte(0);  // read as a data transaction's record: no entries (isSchemaUndo tells them apart)
  w.byte(1);  // the record's form
  w.varint(undo.size());
  for (const auto& u : undo) {
    w.byte(static_cast<std::uint8_t>(u.kind));
    w.bytes(u.table);
    w.bytes(u.name);
    w.bytes(u.text);
    w.varint(u.stamp.hlc.value);
    w.raw(std::string_view(reinterpret_cast<const char*>(u.stamp.site.bytes.data()), u.stamp.site.bytes.size()));
  }
  return out;
}

bool isSchemaUndo(std::string_view body) { return body.size() > 1 && body[0] == 0; }

std::vector<SchemaUndo> decodeSchemaUndo(std::string_view bytes) {
  codec::Reader r(bytes, "schema undo record");
  if (r.byte() != 0 || r.byte() != 1) bad("unknown undo record");
  std::vector<SchemaUndo> out(r.count());
  for (auto& u : out) {
    std::uint8_t kind = r.byte();
    if (kind > static_cast<std::uint8_t>(SchemaUndo::Kind::kCreateIndex)) bad("unknown undo record");
    u.kind = static_cast<SchemaUndo::Kind>(kind);
    u.table = std::string(r.bytes());
    u.name = std::string(r.bytes());
    u.text = std::string(r.bytes());
    u.stamp.hlc.value = r.varint();
    auto site = r.raw(u.stamp.site.bytes.size());
    std::copy(site.begin(), site.end(), u.stamp.site.bytes.begin());
  }
  r.expectDone();
  return out;
}

std::vector<SchemaChange> schemaChanges(const Transaction& t) {
  std::vector<SchemaChange> out;
  for (const auto& row : t.rows) out.push_back(fromRow(row));
  return out;
}

std::optional<std::string> addedColumnDefinition(std::string_view statement) {
  Tokens tokens(statement);
  if (!keyword(tokens.next(), "ALTER") || !keyword(tokens.next(), "TABLE")) return std::nullopt;
  if (tokens.next().empty()) return std::nullopt;
  std::string t = tokens.next();
  if (t == ".") {
    tokens.next();
    t = tokens.next();
  }
  if (!keyword(t, "ADD")) return std::nullopt;
  std::size_t from = tokens.position();
  Tokens probe(statement.substr(from));
  if (keyword(probe.next(), "COLUMN")) {
    tokens.next();
    from = tokens.position();
  }
  std::string_view def = statement.substr(from);
  while (!def.empty() && (std::isspace(static_cast<unsigned char>(def.back())) || def.back() == ';')) def.remove_suffix(1);
  if (def.empty()) return std::nullopt;
  return std::string(def);
}

namespace {

// Where the type name of a column definition is: [from, to) (empty when it has none).
std::pair<std::size_t, std::size_t> typeSpan(std::string_view definition) {
  static const char* const kConstraintWords[] = {"CONSTRAINT", "PRIMARY", "NOT",     "NULL",       "UNIQUE",    "CHECK",
                                                 "DEFAULT",    "COLLATE", "REFERENCES", "GENERATED", "AS"};
  Tokens tokens(definition);
  tokens.next();  // the column's name
  std::size_t from = tokens.position(), to = from;
  for (;;) {
    std::string token = tokens.next();
    if (token.empty()) break;
    bool constraint = false;
    for (const char* word : kConstraintWords) constraint = constraint || keyword(token, word);
    if (constraint) break;
    if (token == "(") {
      int depth = 1;
      while (depth > 0) {
        std::string inner = tokens.next();
        if (inner.empty()) break;
        depth += inner == "(" ? 1 : inner == ")" ? -1 : 0;
      }
    }
    to = tokens.position();
    while (to > from && std::isspace(static_cast<unsigned char>(definition[to - 1]))) --to;
  }
  return {from, to};
}

}  // namespace

std::string withColumnType(std::string_view definition, std::string_view type) {
  auto [from, to] = typeSpan(definition);
  std::string out(definition.substr(0, from));
  if (from == to && (out.empty() || !std::isspace(static_cast<unsigned char>(out.back())))) out += ' ';
  out += type;
  if (from == to && to < definition.size()) out += ' ';
  out += definition.substr(to);
  return out;
}

char columnAffinity(std::string_view definition) {
  auto [from, to] = typeSpan(definition);
  std::string type(definition.substr(from, to - from));
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto has = [&](const char* part) { return type.find(part) != std::string::npos; };
  if (has("INT")) return 'I';
  if (has("CHAR") || has("CLOB") || has("TEXT")) return 'T';
  if (type.empty() || has("BLOB")) return 'B';
  if (has("REAL") || has("FLOA") || has("DOUB")) return 'R';
  return 'N';
}

}  // namespace parley
