// The bounded counter: an integer column that never goes below a bound (0, or MIN with
// `bounded:MIN`) at any site, without coordination at write time and without rejecting
// anything later (escrow; AntidoteDB's bounded counter, Balegas et al. 2015).
//
// The value folds like a PN-counter. Each site holds *rights* in each cell: what it may still
// subtract. A row's insert gives the inserting site value - bound (so tracking a table gives
// the tracking site every row's rights); a site's own increments add to its rights, its
// decrements and the rights it gives away subtract from them. A local write or give that would
// take this site's rights below zero fails at commit, in one line saying what the site may
// still spend and which sites hold more. For any set of transactions a site holds, the rights
// add up to value - bound, so no site ever shows a value below the bound.
//
// Rights move by transactions of their own (give, ask): ordinary replicated transactions, so
// every way of syncing carries them. Where a transaction can still be rejected by another column
// (a reject column or row policy, a constraint), this site counts its own decrements in it
// until it is finally rejected and its own increments only once it is final; a give or an ask
// is a transaction nothing rejects.
//
// answerRequests() is the policy `parley serve` runs: for each cell where a site asked for
// rights it has not received, the site holding the most rights among the others gives what
// was asked, up to what it may spend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/site.hpp"
#include "parley/status.hpp"

namespace parley::resolvers::bounded {

// The bound of a strategy name: "bounded" -> 0, "bounded:MIN" -> MIN; nullopt for any other.
std::optional<std::int64_t> boundOf(std::string_view strategy);
// The bounded columns of a tracked table, in declaration order.
Result<std::vector<std::string>> columns(const Site& site, std::string_view table);

// Gives `amount` (> 0) of this site's rights on the cell to `to`. Refused, in one line, if
// this site may not spend that much.
Result<Dot> give(Site& site, std::string_view table, const Row& pk, std::string_view column, const SiteId& to,
                 std::int64_t amount);
// Asks the other sites for `amount` (> 0) more rights on the cell than this site has received
// so far; a `serve` at another site answers (answerRequests).
Result<Dot> ask(Site& site, std::string_view table, const Row& pk, std::string_view column, std::int64_t amount);

struct SiteRights {
  SiteId site;
  std::int64_t rights = 0;       // what it may still subtract, as this site's fold counts it
  std::int64_t outstanding = 0;  // what it asked for and has not received
};
struct CellRights {
  Row pk;
  Value value;
  std::int64_t bound = 0;
  std::vector<SiteRights> sites;  // every site with an entry, most rights first
};
// Every live row's rights on a bounded column.
Result<std::vector<CellRights>> rights(const Site& site, std::string_view table, std::string_view column);

// Whether a refusal (a failed write's status) says the site asked for what it lacked: a
// refused withdrawal commits, after it is rolled back, a request for the shortfall unless the
// site already asked for that much.
bool askedAfterRefusal(const Status& refusal);

// The policy `serve` runs: answers every request this site should answer (see above).
// Returns how many gives it committed.
Result<std::size_t> answerRequests(Site& site);

}  // namespace parley::resolvers::bounded
