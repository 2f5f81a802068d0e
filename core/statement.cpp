#include "statement.hpp"

#include <cctype>

namespace parley {
namespace {

class Tokens {
 public:
  explicit Tokens(std::string_view sql) : s_(sql) {}

  // The next token upper-cased if it is a keyword; unquoted if it is a quoted identifier.
  std::string next() {
    skipSpaceAndComments();
    if (pos_ >= s_.size()) return {};
    char c = s_[pos_];
    if (c == '"' || c == '`' || c == '[' || c == '\'') return quoted(c == '[' ? ']' : c);
    std::string word;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' ||
                                static_cast<unsigned char>(s_[pos_]) >= 0x80)) {
      word.push_back(s_[pos_++]);
    }
    if (word.empty()) ++pos_;
    return word;
  }

 private:
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
    return out;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool isDataStatement(std::string_view sql) {
  std::string first = upper(Tokens(sql).next());
  return first == "SELECT" || first == "INSERT" || first == "UPDATE" || first == "DELETE" || first == "REPLACE" ||
         first == "WITH" || first == "VALUES";
}

bool noMoreStatements(std::string_view rest) {
  for (char c : rest)
    if (c != ';' && !std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

bool sameSavepoint(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

StatementInfo classifyStatement(std::string_view sql) {
  Tokens tokens(sql);
  std::string first = upper(tokens.next());
  if (first == "BEGIN") return {StatementKind::kBegin, {}};
  if (first == "COMMIT" || first == "END") return {StatementKind::kCommit, {}};
  if (first == "PRAGMA" || first == "VACUUM" || first == "ATTACH" || first == "DETACH")
    return {StatementKind::kNoTransaction, {}};
  if (first == "SAVEPOINT") return {StatementKind::kSavepoint, tokens.next()};
  if (first == "RELEASE") {
    std::string name = tokens.next();
    if (upper(name) == "SAVEPOINT") name = tokens.next();
    return {StatementKind::kRelease, name};
  }
  if (first == "ROLLBACK") {
    std::string word = upper(tokens.next());
    if (word == "TRANSACTION") word = upper(tokens.next());
    if (word != "TO") return {StatementKind::kRollback, {}};
    std::string name = tokens.next();
    if (upper(name) == "SAVEPOINT") name = tokens.next();
    return {StatementKind::kRollbackTo, name};
  }
  return {StatementKind::kOther, {}};
}

}  // namespace parley
