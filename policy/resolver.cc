#include "policy/resolver.h"

#include <algorithm>
#include <iterator>

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
  // build_snapshot makes one selectable per endpoint, in the endpoints' order, first.
  const auto index = static_cast<size_t>(&ep - snap.endpoints.data());
  if (index >= snap.endpoints.size() || snap.selectables[index].endpoint != &ep) {
    std::abort();  // not an endpoint of this snapshot: a broken invariant
  }
  return snap.selectables[index];
}

PolicyIndex::PolicyIndex(const Snapshot& snap) : snap_(snap) {
  for (const Policy& p : snap.policies) {
    if (p.applies_to.scope.kind == Scope::Kind::Namespace) {
      by_namespace_[p.applies_to.scope.ns].push_back(&p);
    } else {
      unconfined_.push_back(&p);
    }
  }
}

std::vector<AppliedTier> PolicyIndex::resolve(const Endpoint& ep, Direction dir) const {
  const Selectable& self = selectable_of(snap_, ep);
  static const std::vector<const Policy*> kNone;
  auto it = by_namespace_.find(ep.ns);
  const std::vector<const Policy*>& local = it == by_namespace_.end() ? kNone : it->second;
  // Both lists are in snapshot order (tier, band, order, name): merge them by position.
  std::vector<const Policy*> candidates;
  candidates.reserve(local.size() + unconfined_.size());
  std::ranges::merge(local, unconfined_, std::back_inserter(candidates));
  std::vector<AppliedTier> out;
  for (const Policy* p : candidates) {
    if (!p->has_type(dir) || !selects(snap_, p->applies_to, self)) {
      continue;
    }
    if (out.empty() || out.back().tier->name != p->tier) {
      out.push_back(AppliedTier{snap_.tier(p->tier), {}});
    }
    out.back().policies.push_back(p);
  }
  return out;
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
