// The tier walk: from one classify result (the first rule that matched in each category, 0
// where none did) to a verdict. Category 0 holds what comes before all policy (a node's
// traffic to its own pods, host endpoints' failsafe ports), category 1 + i the i-th tier in
// evaluation order. The first category with a match that allows or denies decides; a Pass
// (a rule's, or a tier's default action) goes on to the next tier; when no category decides,
// the endpoint's profile does.
//
// The walk reads a VerdictTable (made by dataplane/verdict_table from the compiled policy),
// which reduces each verdict entry to what the walk needs of it.
#pragma once

#include <cstdint>

namespace palisade::dataplane {

enum class TierAction : uint8_t { Allow, Deny, Pass };

struct TierWalk {
  const TierAction* actions = nullptr;      // by verdict entry; [0] unused (rte_acl: no match)
  const uint8_t* profile_allows = nullptr;  // by policy set id - 1
  uint32_t categories = 1;                  // results per classify key
};

struct Outcome {
  bool allow = true;
  uint32_t verdict = 0;  // the deciding verdict entry; 0: the set's profile decided
};

inline Outcome walk(const TierWalk& w, uint32_t set_id, const uint32_t* results) noexcept {
  for (uint32_t c = 0; c < w.categories; ++c) {
    const uint32_t v = results[c];
    if (v == 0) {
      continue;  // no rule of this tier matched, and the tier does not apply: no opinion
    }
    switch (w.actions[v]) {
      case TierAction::Allow:
        return {true, v};
      case TierAction::Deny:
        return {false, v};
      case TierAction::Pass:
        continue;
    }
  }
  return {w.profile_allows[set_id - 1] != 0, 0};
}

}  // namespace palisade::dataplane
