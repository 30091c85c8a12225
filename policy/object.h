// Object: one decoded Kubernetes object, ready for the store and the snapshot builder.
#pragma once

#include <compare>
#include <string>
#include <variant>
#include <vector>

#include "policy/model.h"

namespace palisade::policy {

// Identifies an object across versions: Kind, namespace (empty for cluster-scoped kinds), name.
struct ObjectKey {
  std::string kind, ns, name;
  // "NetworkPolicy prod/db-ingress", "Tier security"
  std::string to_string() const { return kind + " " + (ns.empty() ? name : ns + "/" + name); }
  // "NetworkPolicy/prod/db-ingress", "Tier/security" (scenario files' spelling)
  std::string to_path() const { return kind + "/" + (ns.empty() ? name : ns + "/" + name); }
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
