// VerdictTable: what the tier walk (dataplane/hot/tier_walk.h) reads of a compiled policy,
// reduced to a byte per verdict entry and per policy set: whether the entry allows, denies
// or passes to the next tier, and whether each set's profile allows when no tier decides.
// Built on the control thread with its generation; the compiled engine and benchmarks walk
// through it too, so that every engine walks tiers with the one function the workers run.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/hot/tier_walk.h"
#include "policy/compiled_policy.h"

namespace palisade::dataplane {

class VerdictTable {
 public:
  explicit VerdictTable(const policy::CompiledPolicy& policy);
  // A walk over classify results of `categories` values per key.
  TierWalk walk(uint32_t categories) const {
    return {actions_.data(), profile_allows_.data(), categories};
  }
  // The policy's own number of categories.
  TierWalk walk() const { return walk(categories_); }

 private:
  std::vector<TierAction> actions_;
  std::vector<uint8_t> profile_allows_;
  uint32_t categories_ = 1;
};

}  // namespace palisade::dataplane
