#include "policy/compiler.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "policy/set_compiler.h"

namespace palisade::policy {

Result<CompiledPolicy> compile(const Snapshot& snap, const CompileOptions& options) {
  SetCompiler sets(snap, options);
  if (sets.error()) {
    return *sets.error();
  }
  CompiledPolicy out;
  out.tier_names = sets.tier_names();
  out.num_categories = sets.num_categories();
  for (const Policy& p : snap.policies) {
    out.policy_names.push_back(p.qualified_name());
  }
  out.verdicts.emplace_back();  // index 0: rte_acl's "no match"
  std::unordered_map<std::string, uint32_t> set_ids;
  auto set_for = [&](const Endpoint& ep, Direction dir) -> Result<uint32_t> {
    SetKey key = sets.key(ep, dir);
    auto [it, inserted] = set_ids.emplace(key.text, static_cast<uint32_t>(out.sets.size() + 1));
    if (inserted) {
      Result<SetRules> rules = sets.rules(ep, key);
      if (!rules) {
        return rules.error();
      }
      out.sets.push_back(PolicySet{it->second, dir, key.profile_allows, key.text});
      append_set(out, it->second, *rules);
    }
    return it->second;
  };
  std::set<IpAddr> bound;
  for (const Endpoint& ep : snap.endpoints) {
    // An address belongs to its first endpoint, on this node or not (as endpoint_at()
    // decides); only the addresses whose owner is judged here are bound.
    std::vector<IpAddr> owned;
    for (const IpAddr& ip : ep.ips) {
      if (bound.insert(ip).second) {
        owned.push_back(ip);
      }
    }
    if (options.node && ep.node != *options.node) {
      continue;
    }
    const Result<uint32_t> egress = set_for(ep, Direction::Egress);
    if (!egress) {
      return egress.error();
    }
    const Result<uint32_t> ingress = set_for(ep, Direction::Ingress);
    if (!ingress) {
      return ingress.error();
    }
    for (const IpAddr& ip : owned) {
      out.endpoints.push_back(
          {ip, *egress, *ingress, ep.ns.empty() ? ep.name : ep.ns + "/" + ep.name});
    }
    if (auto e = check_rule_limit(out, options, "at endpoint " + ep.name)) {
      return *e;
    }
  }
  std::ranges::sort(out.endpoints, {}, &EndpointBinding::ip);  // binding() searches
  return out;
}

std::optional<Error> check_rule_limit(const CompiledPolicy& p, const CompileOptions& options,
                                      const std::string& where) {
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    if (p.rules(family).size() > options.max_rules) {
      return Error{ErrorCode::LimitExceeded,
                   {},
                   {},
                   {},
                   "IPv" + std::to_string(family) + " rules exceed the limit of " +
                       std::to_string(options.max_rules) + " (" + where + ")"};
    }
  }
  return std::nullopt;
}

}  // namespace palisade::policy
