#include "perf/cluster.h"

#include <string>

#include "policy/decode.h"

namespace palisade::perf {

namespace {

policy::Object decode(const std::string& yaml) {
  return policy::decode_document(YAML::Load(yaml), policy::DecodeOptions{"bench", true})
      .object.value();
}

std::string pod_yaml(const std::string& ns, int index, int serial) {
  return "{apiVersion: v1, kind: Pod, metadata: {name: p" + std::to_string(index) +
         ", namespace: " + ns + ", labels: {app: a" + std::to_string(index % 4) +
         "}}, spec: {nodeName: node-a, containers: [{name: c, ports: [{name: metrics, "
         "containerPort: 9090}]}]}, status: {podIP: 10." +
         std::to_string(serial >> 16) + "." + std::to_string((serial >> 8) & 0xff) + "." +
         std::to_string(serial & 0xff) + "}}";
}

}  // namespace

std::vector<policy::Object> make_cluster(const ClusterSize& size) {
  std::vector<policy::Object> out;
  for (const std::string& yaml : make_cluster_yaml(size)) {
    out.push_back(decode(yaml));
  }
  return out;
}

std::vector<std::string> make_cluster_yaml(const ClusterSize& size) {
  std::vector<std::string> out;
  const int namespaces = std::max(1, size.pods / 20);
  const int per_namespace = std::max(1, size.policies / namespaces);
  out.push_back(
      ("{apiVersion: v1, kind: Namespace, metadata: {name: monitoring, labels: "
       "{role: monitoring}}}"));
  out.push_back((pod_yaml("monitoring", 0, 1)));
  out.push_back(
      ("{apiVersion: projectcalico.org/v3, kind: Tier, metadata: {name: "
       "security}, spec: {order: 100}}"));
  out.push_back(
      ("{apiVersion: projectcalico.org/v3, kind: GlobalNetworkPolicy, metadata: "
       "{name: security.threats}, spec: {tier: security, order: 1, selector: "
       "all(), ingress: [{action: Deny, source: {nets: [198.51.100.0/24, "
       "203.0.113.0/24]}}, {action: Pass}], egress: [{action: Deny, "
       "destination: {nets: [198.51.100.0/24]}}, {action: Pass}]}}"));
  out.push_back(
      ("{apiVersion: projectcalico.org/v3, kind: GlobalNetworkPolicy, metadata: "
       "{name: allow-dns}, spec: {order: 10, selector: all(), types: [Egress], "
       "egress: [{action: Allow, protocol: UDP, destination: {ports: [53], "
       "nets: [10.96.0.10/32]}}]}}"));
  int serial = 256;
  for (int n = 0; n < namespaces; ++n) {
    const std::string ns = "ns" + std::to_string(n);
    out.push_back(("{apiVersion: v1, kind: Namespace, metadata: {name: " + ns +
                   ", labels: {team: t" + std::to_string(n % 10) + "}}}"));
    for (int p = 0; p < 20 && n * 20 + p < size.pods; ++p) {
      out.push_back((pod_yaml(ns, p, serial++)));
    }
    out.push_back(
        ("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: "
         "{name: default-deny, namespace: " +
         ns +
         "}, spec: {podSelector: {}, "
         "policyTypes: [Ingress, Egress]}}"));
    for (int k = 1; k < per_namespace; ++k) {
      const std::string app = "a" + std::to_string(k % 4);
      const std::string from = "a" + std::to_string((k + 3) % 4);
      out.push_back(
          ("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: allow-" +
           std::to_string(k) + ", namespace: " + ns +
           "}, spec: {podSelector: {matchLabels: "
           "{app: " +
           app + "}}, ingress: [{from: [{podSelector: {matchLabels: {app: " + from +
           "}}}], ports: [{port: " + std::to_string(8000 + k) +
           "}]}, {from: [{namespaceSelector: "
           "{matchLabels: {role: monitoring}}}], ports: [{port: metrics}]}], egress: [{to: "
           "[{podSelector: {}}]}]}}"));
    }
  }
  return out;
}

policy::Object changed_policy(int serial) {
  return decode(
      "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: "
      "allow-1, namespace: ns0}, spec: {podSelector: {matchLabels: {app: a1}}, "
      "ingress: [{from: [{podSelector: {matchLabels: {app: a0}}}], ports: [{port: " +
      std::to_string(20000 + serial % 40000) + "}]}]}}");
}

policy::Object added_policy(int serial) {
  return decode(
      "{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: "
      "added-" +
      std::to_string(serial) +
      ", namespace: ns0}, spec: {podSelector: "
      "{matchLabels: {app: a1}}, ingress: [{from: [{podSelector: {matchLabels: "
      "{app: a0}}}], ports: [{port: " +
      std::to_string(20000 + serial % 40000) + "}]}]}}");
}

policy::Object extra_pod(int serial, const std::string& ns) {
  return decode(pod_yaml(ns, 1000 + serial, 0xfe00 + serial));
}

}  // namespace palisade::perf
