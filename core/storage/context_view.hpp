// ContextView: a transaction's full causal context as the fold reads it, without a copy of it.
//
// A full context names every site of the cluster (1,000 entries at 1,000 sites), and an
// origin's consecutive transactions mostly share it: each one's is the previous one's with the
// origin's own entry advanced and the few entries its encoding carried raised. So the contexts
// that causal::complete hands out are a full vector shared between consecutive transactions of
// one origin (`base`, never changed once shared) and the few entries above it (`above`): a
// completion costs the entries the transaction carried, not the size of the cluster
// (core/causal_context.hpp). A view of a whole vector (the local commit's, a re-fold's) is one
// too. Copies share the base.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>

#include "parley/crdt/version_vector.hpp"

namespace parley {

class ContextView {
 public:
  ContextView() = default;
  // A view of `full`, which must outlive it. Implicit: the fold takes whole vectors too.
  ContextView(const VersionVector& full) : base_(&full) {}  // NOLINT(google-explicit-constructor)

  // The view of `base` with `above` raised over it (each entry of `above` at least base's),
  // keeping this view's storage.
  void assign(std::shared_ptr<const VersionVector> base, const VersionVector& above) {
    base_ = base.get();
    owner_ = std::move(base);
    above_ = above;
  }

  // The view of `base` with `above` raised over it, copied whole into this view's storage: for
  // small vectors, where a copy costs less than two lookups per dot the fold asks about.
  void assignWhole(const VersionVector& base, const VersionVector& above) {
    base_ = nullptr;
    owner_.reset();
    above_ = base;
    for (const auto& [site, seq] : above.entries()) above_.set(site, seq);
  }

  std::uint64_t get(const SiteId& site) const {
    std::uint64_t a = above_.empty() ? 0 : above_.get(site);
    return a ? a : (base_ ? base_->get(site) : 0);
  }
  bool contains(const Dot& dot) const { return get(dot.site) >= dot.seq; }
  bool containsAll(std::span<const Dot> dots) const {
    return std::all_of(dots.begin(), dots.end(), [this](const Dot& d) { return contains(d); });
  }

  // The whole vector (a copy: O(sites)).
  VersionVector full() const {
    VersionVector out = base_ ? *base_ : VersionVector{};
    for (const auto& [site, seq] : above_.entries()) out.set(site, seq);
    return out;
  }
  const VersionVector& above() const { return above_; }
  // Lets go of the base (keeping this view's storage for the next assign).
  void release() {
    base_ = nullptr;
    owner_.reset();
  }

 private:
  const VersionVector* base_ = nullptr;
  std::shared_ptr<const VersionVector> owner_;  // keeps base_ alive when the view shares it
  VersionVector above_;
};

}  // namespace parley
