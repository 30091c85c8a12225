#include "policy/compiled_policy.h"

#include <algorithm>

namespace palisade::policy {

const EndpointBinding* CompiledPolicy::binding(const IpAddr& ip) const {
  auto it = std::ranges::lower_bound(endpoints, ip, {}, &EndpointBinding::ip);
  return it != endpoints.end() && it->ip == ip ? &*it : nullptr;
}

CompiledPolicy::Outcome CompiledPolicy::walk(uint32_t set_id, const uint32_t* results) const {
  for (uint32_t c = 0; c < num_categories; ++c) {
    const uint32_t v = results[c];
    if (v == 0) {
      continue;  // no rule of this tier matched, and the tier does not apply: no opinion
    }
    switch (verdicts[v].kind) {
      case VerdictEntry::Kind::Allow:
      case VerdictEntry::Kind::Node:
      case VerdictEntry::Kind::Failsafe:
        return {true, v};
      case VerdictEntry::Kind::Deny:
      case VerdictEntry::Kind::EndOfTierDeny:
        return {false, v};
      case VerdictEntry::Kind::Pass:
      case VerdictEntry::Kind::EndOfTierPass:
        continue;
    }
  }
  return {sets[set_id - 1].profile_allows, 0};
}

std::string CompiledPolicy::by_name(const Outcome& o) const {
  if (o.verdict == 0) {
    return "profile";
  }
  const VerdictEntry& v = verdicts[o.verdict];
  switch (v.kind) {
    case VerdictEntry::Kind::Node:
      return "node";
    case VerdictEntry::Kind::Failsafe:
      return "failsafe";
    case VerdictEntry::Kind::EndOfTierDeny:
    case VerdictEntry::Kind::EndOfTierPass:
      return tier_names[v.tier] + "/(end of tier)";
    default:
      return tier_names[v.tier] + "/" + policy_names[static_cast<size_t>(v.policy)];
  }
}

}  // namespace palisade::policy
