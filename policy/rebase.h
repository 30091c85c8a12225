// Rebase: a freshly compiled policy expressed against a base policy whose rte_acl tables are
// already built, so that an update rebuilds tables only for the policy sets that differ.
//
// A policy set's meaning is its rule list (with the verdicts they lead to), its direction and
// its profile, not its id: two sets with equal contents classify every packet alike. So each
// set of the fresh policy whose contents equal a set of the base takes that base set's id, and
// its rules are already in the base tables; every other set gets a new id past the base's,
// and only their rules go into a small overlay table (CompiledPolicy::overlay_first_set).
// The overlay is always the difference from the base, never a chain of updates: it stays as
// small as what changed since the base was built, however many updates came between.
//
// Contents are matched by a 64-bit hash and then compared in full, so a hash collision can
// cost a reuse, never a wrong verdict.
//
// Thread: a BaseIndex is immutable once built; rebase() may run on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "policy/compiled_policy.h"

namespace palisade::policy {

struct RebaseStats {
  uint32_t reused_sets = 0;   // fresh sets whose rules are already in the base tables
  uint32_t overlay_sets = 0;  // fresh sets that need the overlay
  size_t overlay_rules = 0;   // rules of both families in the overlay
};

class BaseIndex {
 public:
  // `base` is a policy compiled in full (overlay_first_set == 0) whose tables are built.
  explicit BaseIndex(std::shared_ptr<const CompiledPolicy> base);

  // The fresh policy with each set either mapped onto an equal base set or numbered from
  // overlay_first_set = (base sets + 1) on. The result holds the base's rules, sets and
  // verdicts unchanged at their indexes (sets no endpoint uses any more included), followed
  // by the overlay's, so a full build of it classifies like base tables plus overlay.
  // nullopt when the fresh policy cannot share the base's tables: its tiers (categories)
  // differ.
  std::optional<CompiledPolicy> rebase(const CompiledPolicy& fresh, RebaseStats* stats) const;

  const CompiledPolicy& base() const { return *base_; }
  size_t base_rules() const { return base_->rules_v4.size() + base_->rules_v6.size(); }

 private:
  struct Lists;  // each base set's rules, and the hashes of the policy names
  std::shared_ptr<const CompiledPolicy> base_;
  std::shared_ptr<const Lists> lists_;
  std::unordered_multimap<uint64_t, uint32_t> sets_by_hash_;  // contents hash -> base set id
};

}  // namespace palisade::policy
