// Object: one decoded Kubernetes object, ready for the store and the snapshot builder.
#pragma once

#include <compare>
#include <string>
#include <variant>
#include <vector>

#include "policy/model.h"

namespace palisade::policy {

// Identifies an object across versions: Kind, namespace (empty for cluster-scoped kinds), name,
// and the API group of kinds from Calico ("projectcalico.org", both of its API versions) and
// Cilium ("cilium.io"). The group is part of the identity because Kubernetes and Calico both
// have a namespaced NetworkPolicy: one of each with the same name are two objects.
struct ObjectKey {
  std::string kind, ns, name;
  std::string group;  // empty for core and networking.k8s.io kinds
  // "NetworkPolicy prod/db-ingress", "NetworkPolicy.projectcalico.org prod/db", "Tier security"
  std::string to_string() const { return display_kind() + " " + scoped_name(); }
  // "NetworkPolicy/prod/db-ingress", "Tier/security" (scenario files' spelling, which names
  // kinds without their group)
  std::string to_path() const { return kind + "/" + scoped_name(); }
  // The kind, qualified by its group (as kubectl spells it) only where the kind alone is
  // ambiguous: Calico's NetworkPolicy.
  std::string display_kind() const {
    return kind == "NetworkPolicy" && !group.empty() ? kind + "." + group : kind;
  }
  std::string scoped_name() const { return ns.empty() ? name : ns + "/" + name; }
  auto operator<=>(const ObjectKey&) const = default;
};

// A kind Palisade reads but does not enforce on (Deployment, Service, ...): kept so that it
// is reported, never dropped in silence.
struct IgnoredKind {
  std::string reason;
};

// A HostEndpoint is an Endpoint of kind Host; a policy object may lower into several
// internal policies (a Cilium policy's deny rules form their own band).
using ObjectBody = std::variant<Namespace, Pod, ServiceAccount, Node, Tier, NetworkSet, Endpoint,
                                std::vector<Policy>, IgnoredKind>;

struct Object {
  ObjectKey key;
  std::string api_version;
  std::string source;  // file:line, or "api"
  ObjectBody body;
};

}  // namespace palisade::policy
