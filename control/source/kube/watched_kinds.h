// The kinds the Kubernetes source lists and watches: everything policy is computed from.
// The deployment's ClusterRole (config/deploy/) must grant get/list/watch on each of them,
// and a test holds the two together.
#pragma once

#include <span>
#include <string>

namespace palisade::control::kube {

struct WatchedKind {
  const char* group;  // "" for the core group
  const char* version;
  const char* resource;  // the plural in the URL
  const char* kind;
  bool namespaced;
  // Core kinds are always served; a CRD's kind may be missing (Calico or Cilium not
  // installed): it is skipped with one log line and looked for again later.
  bool optional;

  std::string api_version() const;  // "v1", "crd.projectcalico.org/v1"
  // The cluster-wide collection: /api/v1/pods, /apis/cilium.io/v2/ciliumnetworkpolicies
  std::string collection_path() const;
  // "pods", "networkpolicies.crd.projectcalico.org" (as kubectl names resources)
  std::string qualified_resource() const;
};

std::span<const WatchedKind> watched_kinds();

}  // namespace palisade::control::kube
