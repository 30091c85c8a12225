#include "policy/compiled_policy.h"

#include <algorithm>

namespace palisade::policy {

const EndpointBinding* CompiledPolicy::binding(const IpAddr& ip) const {
  auto it = std::ranges::lower_bound(endpoints, ip, {}, &EndpointBinding::ip);
  return it != endpoints.end() && it->ip == ip ? &*it : nullptr;
}

std::string CompiledPolicy::by_name(uint32_t verdict) const {
  if (verdict == 0) {
    return "profile";
  }
  const VerdictEntry& v = verdicts[verdict];
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
