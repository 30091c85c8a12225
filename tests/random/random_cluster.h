// Random clusters for the differential test: namespaces, pods, nodes, host endpoints,
// network sets, tiers and policies of the three dialects, as YAML text, each object valid for
// the strict decoder; and random flows drawn from what the cluster and its rules name.
//
// Deterministic: one seed gives the same cluster and the same flows (std::mt19937_64 and
// libstdc++'s distributions), so that a failure's seed reproduces it.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "policy/evaluator.h"
#include "policy/ip.h"

namespace palisade::testing {

struct ClusterShape {
  // Cilium egress policies with toFQDNs, and names for the flows to carry (the DNS test).
  bool fqdn = false;
  // Two pods with one address (Kubernetes keeps a finished pod's podIP while a new pod has
  // it): the address belongs to the first by namespace/name, on whichever node.
  bool reuse_ips = true;
};

struct RandomCluster {
  std::vector<std::string> objects;  // one YAML document each
  // Where flows come from, per family: pod, node, host endpoint and external addresses.
  std::vector<policy::IpAddr> v4, v6;
  // The addresses of endpoints alone (pods, host endpoints), so that most flows meet policy.
  std::vector<policy::IpAddr> endpoints_v4, endpoints_v6;
  // Node addresses (Node objects, hostNetwork pods): the host and remote-node entities, and
  // world's complement.
  std::vector<policy::IpAddr> nodes_v4, nodes_v6;
  std::vector<policy::Cidr> nets;  // every net the objects name
  // Ports that rules name (and the ends of their ranges), with their protocol; protocol 0
  // stands for any of TCP, UDP and SCTP.
  struct PortHint {
    uint8_t protocol;
    uint16_t port;
    auto operator<=>(const PortHint&) const = default;
  };
  std::vector<PortHint> ports;
  // Named ports of each endpoint address, by protocol and number.
  std::map<policy::IpAddr, std::vector<PortHint>> named_ports;
  struct IcmpHint {
    uint8_t protocol, type, code;
    auto operator<=>(const IcmpHint&) const = default;
  };
  std::vector<IcmpHint> icmp;          // ICMP types and codes rules name
  std::vector<std::string> dns_names;  // names for toFQDNs flows

  // The objects as one multi-document stream.
  std::string yaml() const;
};

class ClusterGenerator {
 public:
  explicit ClusterGenerator(uint64_t seed, ClusterShape shape = {});

  RandomCluster cluster();
  // A flow between two addresses of one family, with a protocol and ports or ICMP type and
  // code drawn mostly from what the rules name. With ClusterShape::fqdn, some carry a name.
  policy::Flow flow(const RandomCluster& c);

 private:
  class Impl;
  std::mt19937_64 rng_;
  ClusterShape shape_;
};

// "TCP 10.1.0.5:40000 -> 10.1.2.7:80", "ICMP 10.1.0.5 -> 8.8.8.8 type 8 code 0 fqdn x".
std::string describe(const policy::Flow& f);

}  // namespace palisade::testing
