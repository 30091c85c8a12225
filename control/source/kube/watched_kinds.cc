#include "control/source/kube/watched_kinds.h"

namespace palisade::control::kube {

namespace {

constexpr const char* kCalico = "crd.projectcalico.org";
constexpr const char* kCilium = "cilium.io";

// Staged Calico kinds are watched so that they are reported (the decoder names them as not
// enforced) rather than unseen.
constexpr WatchedKind kKinds[] = {
    {"", "v1", "namespaces", "Namespace", false, false},
    {"", "v1", "pods", "Pod", true, false},
    {"", "v1", "serviceaccounts", "ServiceAccount", true, false},
    {"", "v1", "nodes", "Node", false, false},
    {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, false},
    {kCalico, "v1", "tiers", "Tier", false, true},
    {kCalico, "v1", "networkpolicies", "NetworkPolicy", true, true},
    {kCalico, "v1", "globalnetworkpolicies", "GlobalNetworkPolicy", false, true},
    {kCalico, "v1", "networksets", "NetworkSet", true, true},
    {kCalico, "v1", "globalnetworksets", "GlobalNetworkSet", false, true},
    {kCalico, "v1", "hostendpoints", "HostEndpoint", false, true},
    {kCalico, "v1", "stagednetworkpolicies", "StagedNetworkPolicy", true, true},
    {kCalico, "v1", "stagedglobalnetworkpolicies", "StagedGlobalNetworkPolicy", false, true},
    {kCalico, "v1", "stagedkubernetesnetworkpolicies", "StagedKubernetesNetworkPolicy", true, true},
    {kCilium, "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", true, true},
    {kCilium, "v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", false,
     true},
};

}  // namespace

std::string WatchedKind::api_version() const {
  return *group == '\0' ? std::string(version) : std::string(group) + "/" + version;
}

std::string WatchedKind::collection_path() const {
  return (*group == '\0' ? std::string("/api/") : "/apis/" + std::string(group) + "/") + version +
         "/" + resource;
}

std::string WatchedKind::qualified_resource() const {
  return *group == '\0' ? std::string(resource) : std::string(resource) + "." + group;
}

std::span<const WatchedKind> watched_kinds() { return kKinds; }

}  // namespace palisade::control::kube
