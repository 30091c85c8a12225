// CompiledPolicy: what the compiler makes of a snapshot. Plain data, independent of DPDK:
// ACL rules for each address family, the verdict table their userdata indexes, the policy
// sets and the endpoint bindings. dataplane/acl_tables builds rte_acl contexts from it.
//
// Tiers map onto rte_acl categories: category 0 holds the exceptions that come before all
// policy (a node's traffic to its own pods, failsafe ports of host endpoints), category
// 1 + i the i-th tier in evaluation order that has policies. One classify call per packet
// and direction then yields every tier's first match; the packet path walks the tiers on them
// (dataplane/hot/tier_walk.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/ip.h"
#include "policy/model.h"

namespace palisade::policy {

// rte_acl's limit (RTE_ACL_MAX_CATEGORIES): one category per tier plus the exceptions.
inline constexpr uint32_t kMaxCategories = 16;
inline constexpr uint32_t kMaxTiers = kMaxCategories - 1;
// rte_acl returns the number of categories in multiples of RTE_ACL_RESULTS_MULTIPLIER (4).
inline constexpr uint32_t kResultsMultiplier = 4;
// rte_acl priorities are in [RTE_ACL_MIN_PRIORITY (1), RTE_ACL_MAX_PRIORITY]; the first rule
// gets the highest, the end of a tier the lowest.
inline constexpr int32_t kTopPriority = 0x1FFFFFFF;
inline constexpr int32_t kBottomPriority = 1;

struct AclRule {
  uint32_t set_id = 0;  // exact: the policy set of the endpoint judged
  uint8_t proto_first = 0, proto_last = 255;
  Cidr src, dst;           // of the rule's family
  PortRange sport, dport;  // for ICMP: type and code
  uint8_t category = 0;
  int32_t priority = 0;  // higher wins within the category
  uint32_t verdict = 0;  // index into CompiledPolicy::verdicts; never 0 (rte_acl's "none")
};

struct VerdictEntry {
  enum class Kind : uint8_t { Allow, Deny, Pass, EndOfTierDeny, EndOfTierPass, Node, Failsafe };
  Kind kind = Kind::Allow;
  uint16_t tier = 0;    // index into tier_names (rules and end of tier)
  int32_t policy = -1;  // index into policy_names
  int32_t rule = -1;    // index among the policy's rules of the direction
};

struct PolicySet {
  uint32_t id = 0;
  Direction direction = Direction::Ingress;
  bool profile_allows = true;  // what happens when no tier decides
  std::string key;             // what makes it distinct (for stats and debugging)
};

struct EndpointBinding {
  IpAddr ip;
  uint32_t egress_set = 0, ingress_set = 0;
  std::string name;  // namespace/pod or host endpoint name
};

struct CompiledPolicy {
  std::vector<AclRule> rules_v4, rules_v6;
  std::vector<VerdictEntry> verdicts;      // [0] is unused: rte_acl reports no match as 0
  std::vector<PolicySet> sets;             // sets[id - 1]
  std::vector<EndpointBinding> endpoints;  // sorted by address
  std::vector<std::string> tier_names;     // category c > 0 is tier_names[c - 1]
  std::vector<std::string> policy_names;
  uint32_t num_categories = 1;  // 1 or a multiple of kResultsMultiplier
  // 0: one table holds every set's rules. Otherwise the policy was rebased onto a base whose
  // tables are built (policy/rebase.h): sets with ids from overlay_first_set on have their
  // rules in an overlay table, the others in the base's.
  uint32_t overlay_first_set = 0;

  const std::vector<AclRule>& rules(uint8_t family) const {
    return family == 4 ? rules_v4 : rules_v6;
  }
  const EndpointBinding* binding(const IpAddr& ip) const;

  // How `by` names the verdict entry that decided (0: the set's profile): TIER/POLICY,
  // TIER/(end of tier), node, failsafe, profile. The tier walk itself is the packet path's
  // (dataplane/hot/tier_walk.h).
  std::string by_name(uint32_t verdict) const;
};

}  // namespace palisade::policy
