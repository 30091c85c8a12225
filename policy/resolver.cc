#include "policy/resolver.h"

#include <algorithm>

#include "policy/error.h"

namespace palisade::policy {

bool selects(const Snapshot& snap, const EndpointSelector& sel, const Selectable& s) {
  const Scope& scope = sel.scope;
  if (s.kind == Selectable::Kind::NetworkSet && !scope.network_sets) {
    return false;
  }
  if (s.kind == Selectable::Kind::Host && !scope.host_endpoints) {
    return false;
  }
  switch (scope.kind) {
    case Scope::Kind::AnyNamespace:
      break;
    case Scope::Kind::Namespace:
      if (s.ns.empty() || s.ns != scope.ns) {
        return false;
      }
      break;
    case Scope::Kind::Namespaces:
      if (s.ns.empty() || !scope.namespace_selector.matches(snap.namespace_labels(s.ns))) {
        return false;
      }
      break;
    case Scope::Kind::NonNamespaced:
      if (!s.ns.empty()) {
        return false;
      }
      break;
  }
  if (!sel.selector.matches(s.labels(sel.dialect))) {
    return false;
  }
  if (!sel.service_account_names.empty() || sel.service_account_selector) {
    if (s.kind != Selectable::Kind::Workload) {
      return false;
    }
    if (!sel.service_account_names.empty() &&
        std::ranges::find(sel.service_account_names, s.service_account) ==
            sel.service_account_names.end()) {
      return false;
    }
    if (sel.service_account_selector &&
        !sel.service_account_selector->matches(s.service_account_labels)) {
      return false;
    }
  }
  return true;
}

const Selectable& selectable_of(const Snapshot& snap, const Endpoint& ep) {
  auto it = std::ranges::find(snap.selectables, &ep, &Selectable::endpoint);
  if (it == snap.selectables.end()) {
    std::abort();  // every endpoint of a snapshot has its selectable: a broken invariant
  }
  return *it;
}

std::vector<AppliedTier> resolve(const Snapshot& snap, const Endpoint& ep, Direction dir) {
  const Selectable& self = selectable_of(snap, ep);
  std::vector<AppliedTier> out;
  for (const Tier& tier : snap.tiers) {
    AppliedTier applied{&tier, {}};
    for (const Policy& p : snap.policies) {
      if (p.tier == tier.name && p.has_type(dir) && selects(snap, p.applies_to, self)) {
        applied.policies.push_back(&p);
      }
    }
    if (!applied.policies.empty()) {
      out.push_back(std::move(applied));
    }
  }
  return out;
}

}  // namespace palisade::policy
