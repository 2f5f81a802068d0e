// bounded: a counter that never goes below its bound at any site (parley/resolvers/bounded.hpp).
// The value folds as counter's does; each cell also keeps rights moves, and local writes are
// checked against this site's rights before they commit.
#include "parley/resolvers/bounded.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "strategies.hpp"

namespace parley::resolvers {
namespace {

// A rights move travels as the value of a write to the cell that the row keeps as it is:
// this prefix, a kind byte ('g' give, 'a' ask), the receiving site's 16 bytes, the amount
// (8 bytes, big-endian).
constexpr std::string_view kOpPrefix{"parley-rights\x01", 14};
constexpr std::size_t kOpSize = kOpPrefix.size() + 1 + 16 + 8;

Value encodeOp(RightsMove::Kind kind, const SiteId& to, std::int64_t amount) {
  std::string bytes(kOpPrefix);
  bytes.push_back(kind == RightsMove::Kind::kGive ? 'g' : 'a');
  bytes.append(reinterpret_cast<const char*>(to.bytes.data()), 16);
  auto u = static_cast<std::uint64_t>(amount);
  for (int i = 7; i >= 0; --i) bytes.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  return Value::blob(std::move(bytes));
}

std::optional<RightsMove> decodeOp(const Value& v) {
  if (v.type() != Value::Type::kBlob) return std::nullopt;
  const std::string& b = v.asBlob();
  if (b.size() != kOpSize || b.compare(0, kOpPrefix.size(), kOpPrefix) != 0) return std::nullopt;
  char kind = b[kOpPrefix.size()];
  if (kind != 'g' && kind != 'a') return std::nullopt;
  RightsMove m;
  m.kind = kind == 'g' ? RightsMove::Kind::kGive : RightsMove::Kind::kAsk;
  std::memcpy(m.to.bytes.data(), b.data() + kOpPrefix.size() + 1, 16);
  std::uint64_t u = 0;
  for (std::size_t i = kOpPrefix.size() + 17; i < kOpSize; ++i) u = u << 8 | static_cast<unsigned char>(b[i]);
  m.amount = static_cast<std::int64_t>(u);
  if (m.amount <= 0) return std::nullopt;
  return m;
}

constexpr std::string_view kAsking = "; asking the other sites for ";

bool isInteger(const Value& v) { return v.type() == Value::Type::kInteger; }

// What a write adds to its cell: new - old, or new - bound for an insert; nullopt if it is not
// an integer write (or overflows).
std::optional<std::int64_t> deltaOf(const ColumnWrite& w, std::int64_t bound) {
  if (!isInteger(w.newValue)) return std::nullopt;
  if (!w.oldValue.isNull() && !isInteger(w.oldValue)) return std::nullopt;
  std::int64_t base = w.oldValue.isNull() ? bound : w.oldValue.asInteger(), delta;
  if (__builtin_sub_overflow(w.newValue.asInteger(), base, &delta)) return std::nullopt;
  return delta;
}

std::string keyText(const Row& pk) {
  std::string out;
  for (const auto& v : pk) out += (out.empty() ? "" : ", ") + v.toSqlLiteral();
  return out;
}

class BoundedColumn final : public MergeColumn {
 public:
  BoundedColumn(std::string name, std::int64_t bound) : MergeColumn(std::move(name), Pick::kLast), bound_(bound) {}

  CellStep meet(const CellWrite& w) const override {
    if (auto move = decodeOp(w.write.newValue)) {
      if (w.inPlaceDots.empty()) return CellStep::ignore();  // no cell here to keep it in
      CellStep step = CellStep::join();
      step.move = move;
      return step;
    }
    if (w.write.oldValue.isNull() && isInteger(w.write.newValue)) return insert(w);
    CellStep step = mergeStep(w);
    if (step.action == CellStep::Action::kSet) step.contribution = deltaOf(w.write, bound_);
    return step;
  }
  bool keepsContributions() const override { return true; }
  bool checksLocalWrites() const override { return true; }

  Status admitLocal(const LocalWrite& a) const override {
    const ColumnWrite& w = a.write;
    if (auto move = decodeOp(w.newValue)) return admitMove(a, *move);
    if (w.newValue.isNull() && !w.oldValue.isNull())
      return refuse(a, "a row with a bounded column cannot be deleted (its rights would be lost); set the column to its "
                       "bound instead");
    if (!isInteger(w.newValue))
      return refuse(a, fmt::format("a bounded column holds integers; got {}", w.newValue.toSqlLiteral()));
    auto delta = deltaOf(w, bound_);
    if (!delta) return refuse(a, "the change does not fit in a 64-bit integer");
    if (w.oldValue.isNull() && *delta < 0)
      return refuse(a, fmt::format("{} is below the bound {}", w.newValue.asInteger(), bound_));
    std::int64_t left = spendable(a);
    if (left >= 0) return Status::ok();
    std::string asking = askFor(a) ? fmt::format("{}{}", kAsking, *askFor(a)) : "";
    return refuse(a, fmt::format("{} may spend {} more, not {}{}{}{}", a.nameOf(a.self), left - *delta, -*delta,
                                 withheldNote(a), others(a), asking));
  }

  // A refused withdrawal asks the other sites for what it lacked, unless this site already
  // asked for that much (a request is a register: asking again for as much adds nothing).
  std::optional<Value> operationAfterRefusal(const LocalWrite& a) const override {
    auto amount = askFor(a);
    if (!amount) return std::nullopt;
    return encodeOp(RightsMove::Kind::kAsk, a.self, *amount);
  }

 private:
  // An insert of an integer: the writer's rights grow by new - bound. Concurrent with another
  // insert of the same key (row policy merge), both count.
  CellStep insert(const CellWrite& w) const {
    std::int64_t delta = *deltaOf(w.write, bound_);
    CellStep step = CellStep::take();
    if (w.relation == CellRelation::kConcurrent && isInteger(w.inPlace)) {
      std::int64_t sum;
      if (!__builtin_add_overflow(w.inPlace.asInteger(), delta, &sum)) step = CellStep::set(Value::integer(sum));
    } else if (w.relation == CellRelation::kReflected) {
      return CellStep::ignore();
    }
    step.contribution = delta;
    return step;
  }

  Status admitMove(const LocalWrite& a, const RightsMove& move) const {
    if (move.kind == RightsMove::Kind::kAsk) return Status::ok();
    if (move.to == a.self) return refuse(a, "a site cannot give rights to itself");
    std::int64_t left = spendable(a);
    if (left >= 0) return Status::ok();
    return refuse(a, fmt::format("{} may give {}, not {}{}{}", a.nameOf(a.self), left + move.amount, move.amount,
                                 withheldNote(a), others(a)));
  }

  // This site's rights after the write, counted pessimistically: its own decrements in
  // transactions that are rejected for now but not finally, and its increments in ones accepted
  // for now but not finally, are withheld. A rights move is a transaction nothing rejects.
  std::int64_t spendable(const LocalWrite& a) const { return a.state.rights(a.self) - withheld(a); }

  std::int64_t withheld(const LocalWrite& a) const {
    std::int64_t out = 0;
    for (const auto& p : a.pending) {
      if (p.origin != a.self || decodeOp(p.write.newValue)) continue;
      auto delta = deltaOf(p.write, bound_);
      if (!delta) continue;
      if (*delta < 0 && p.rejected) out -= *delta;
      if (*delta > 0 && !p.rejected) out += *delta;
    }
    return out;
  }

  // What a refused withdrawal asks for: the shortfall, if asking raises this site's request.
  std::optional<std::int64_t> askFor(const LocalWrite& a) const {
    auto delta = deltaOf(a.write, bound_);
    if (!delta || *delta >= 0 || a.write.oldValue.isNull()) return std::nullopt;  // only a withdrawal asks
    std::int64_t shortfall = -spendable(a);
    if (shortfall <= 0) return std::nullopt;
    const RightsMoves& moves = a.state.moves();
    std::int64_t want;
    if (__builtin_add_overflow(moves.received(a.self), shortfall, &want) || want <= moves.wanted(a.self))
      return std::nullopt;
    return shortfall;
  }

  // " (200 more once its transactions that may still be rejected are final)", or nothing.
  std::string withheldNote(const LocalWrite& a) const {
    std::int64_t w = withheld(a);
    return w > 0 ? fmt::format(" ({} more once its transactions that may still be rejected are final)", w) : "";
  }

  // "; london holds 700, tokyo 20": the other sites with rights, most first.
  static std::string others(const LocalWrite& a) {
    std::vector<std::pair<std::int64_t, SiteId>> holders;
    for (const auto& site : a.state.sites())
      if (site != a.self && a.state.rights(site) > 0) holders.push_back({a.state.rights(site), site});
    if (holders.empty()) return "; no other site holds any";
    std::sort(holders.begin(), holders.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    std::string out = "; ";
    for (std::size_t i = 0; i < holders.size() && i < 3; ++i)
      out += (i ? ", " : "") + a.nameOf(holders[i].second) + (i ? " " : " holds ") + std::to_string(holders[i].first);
    return out;
  }

  Status refuse(const LocalWrite& a, const std::string& why) const {
    return Status::invalidArgument(fmt::format("{}.{} ({}), {} column: {}", a.table, a.column, keyText(a.pk), name(), why));
  }

  std::int64_t bound_;
};

}  // namespace

std::unique_ptr<ColumnResolver> makeBounded(std::string name, std::int64_t bound) {
  return std::make_unique<BoundedColumn>(std::move(name), bound);
}

namespace bounded {

std::optional<std::int64_t> boundOf(std::string_view strategy) {
  if (strategy == "bounded") return 0;
  if (!strategy.starts_with("bounded:")) return std::nullopt;
  std::string_view digits = strategy.substr(8);
  std::int64_t bound = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), bound);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return bound;
}

bool askedAfterRefusal(const Status& refusal) {
  return !refusal.isOk() && refusal.message().find(kAsking) != std::string::npos;
}

Result<std::vector<std::string>> columns(const Site& site, std::string_view table) {
  auto config = site.config(table);
  if (!config) return config.status();
  auto all = site.columns(table);
  if (!all) return all.status();
  std::vector<std::string> out;
  for (const auto& c : *all)
    if (config->overrides.count(c) ? boundOf(config->overrides.at(c)) : boundOf(config->columns)) out.push_back(c);
  return out;
}

namespace {

Status requireBounded(const Site& site, std::string_view table, std::string_view column) {
  auto cols = columns(site, table);
  if (!cols) return cols.status();
  if (std::find(cols->begin(), cols->end(), column) == cols->end())
    return Status::invalidArgument(fmt::format("column \"{}\" of \"{}\" is not a bounded column", column, table));
  return Status::ok();
}

}  // namespace

Result<Dot> give(Site& site, std::string_view table, const Row& pk, std::string_view column, const SiteId& to,
                 std::int64_t amount) {
  if (amount <= 0) return Status::invalidArgument(fmt::format("give wants a positive amount; got {}", amount));
  if (Status s = requireBounded(site, table, column); !s) return s;
  return site.commitOperation(table, pk, column, encodeOp(RightsMove::Kind::kGive, to, amount));
}

Result<Dot> ask(Site& site, std::string_view table, const Row& pk, std::string_view column, std::int64_t amount) {
  if (amount <= 0) return Status::invalidArgument(fmt::format("ask wants a positive amount; got {}", amount));
  if (Status s = requireBounded(site, table, column); !s) return s;
  return site.commitOperation(table, pk, column, encodeOp(RightsMove::Kind::kAsk, site.id(), amount));
}

Result<std::vector<CellRights>> rights(const Site& site, std::string_view table, std::string_view column) {
  if (Status s = requireBounded(site, table, column); !s) return s;
  auto config = site.config(table);
  std::int64_t bound = *boundOf(config->strategyFor(std::string(column)));
  auto cells = site.cellStates(table, column);
  if (!cells) return cells.status();
  std::vector<CellRights> out;
  for (auto& c : *cells) {
    CellRights r{std::move(c.pk), std::move(c.value), bound, {}};
    for (const auto& s : c.state.sites()) r.sites.push_back({s, c.state.rights(s), c.state.outstanding(s)});
    std::stable_sort(r.sites.begin(), r.sites.end(), [](const SiteRights& a, const SiteRights& b) { return a.rights > b.rights; });
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// Whether `self` answers `asker`'s request on a cell: it holds the most rights among the other
// sites (ties: the smaller id), so one site answers each request.
bool answers(const BoundedCounter& state, const SiteId& self, const SiteId& asker) {
  for (const auto& s : state.sites()) {
    if (s == self || s == asker) continue;
    std::int64_t theirs = state.rights(s), mine = state.rights(self);
    if (theirs > mine || (theirs == mine && s < self)) return false;
  }
  return true;
}

}  // namespace

Result<std::size_t> answerRequests(Site& site) {
  std::size_t given = 0;
  for (const auto& table : site.trackedTables()) {
    auto cols = columns(site, table);
    if (!cols) return cols.status();
    for (const auto& column : *cols) {
      auto cells = site.cellStates(table, column);
      if (!cells) return cells.status();
      for (const auto& c : *cells) {
        for (const auto& asker : c.state.sites()) {
          std::int64_t wanted = c.state.outstanding(asker);
          if (asker == site.id() || wanted <= 0 || !answers(c.state, site.id(), asker)) continue;
          std::int64_t amount = std::min(wanted, c.state.rights(site.id()));
          if (amount <= 0) continue;
          auto dot = give(site, table, c.pk, column, asker, amount);
          if (dot) ++given;
          else if (dot.status().code() != Status::Code::kInvalidArgument) return dot.status();
        }
      }
    }
  }
  return given;
}

}  // namespace bounded
}  // namespace parley::resolvers
