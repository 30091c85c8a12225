// Policies: how many of each dialect, and Kubernetes NetworkPolicy, Calico NetworkPolicy and
// GlobalNetworkPolicy. Cilium's are random_cilium_policies.cc.
#include <algorithm>
#include <cctype>

#include "tests/random/random_cluster_internal.h"

namespace palisade::testing {

using namespace detail;
using policy::Cidr;

void ClusterGenerator::Impl::make_policies() {
  const int mode = uni(0, 5);  // 0-2: one dialect alone; 3-5: mixed
  const int n = uni(2, 9);
  for (int i = 0; i < n; ++i) {
    const int dialect = mode < 3 ? mode : uni(0, 2);
    if (dialect == 0) {
      k8s_policy(i);
    } else if (dialect == 1) {
      calico_policy(i);
    } else {
      cilium_policy(i, false);
    }
  }
  if (many_tiers_) {
    for (size_t t = 1; t < tiers_.size(); ++t) {
      calico_policy(20 + static_cast<int>(t), tiers_[t]);
    }
  }
  if (shape_.fqdn) {
    for (int i = uni(1, 3); i > 0; --i) {
      cilium_policy(100 + i, true);
    }
  }
}

// Kubernetes NetworkPolicy.
void ClusterGenerator::Impl::k8s_policy(int index) {
  YAML::Node doc = map_node();
  doc["apiVersion"] = "networking.k8s.io/v1";
  doc["kind"] = "NetworkPolicy";
  doc["metadata"] = metadata("knp-" + std::to_string(index), pick(ns_names_));
  YAML::Node spec = map_node();
  spec["podSelector"] = label_selector(kPodLabels, 0.3);
  switch (uni(0, 5)) {
    case 0:
    case 1:
      break;  // the API server's defaulting
    case 2:
      spec["policyTypes"] = flow_style(seq_node());
      spec["policyTypes"].push_back("Ingress");
      break;
    case 3:
      spec["policyTypes"] = flow_style(seq_node());
      spec["policyTypes"].push_back("Egress");
      break;
    case 4:
      spec["policyTypes"] = flow_style(seq_node());
      spec["policyTypes"].push_back("Ingress");
      spec["policyTypes"].push_back("Egress");
      break;
    default:
      spec["policyTypes"] = flow_style(seq_node());  // empty: defaulted too
  }
  for (const bool ingress : {true, false}) {
    const int r = uni(0, 9);
    if (r < (ingress ? 2 : 4)) {
      continue;  // missing
    }
    YAML::Node rules = seq_node();
    if (r > 4) {
      for (int k = uni(1, 3); k > 0; --k) {
        rules.push_back(k8s_rule(ingress));
      }
    }
    spec[ingress ? "ingress" : "egress"] = rules;  // r == 4: present and empty
  }
  doc["spec"] = spec;
  emit(doc);
}

YAML::Node ClusterGenerator::Impl::k8s_rule(bool ingress) {
  YAML::Node rule = map_node();
  const int peers = uni(0, 9);
  if (peers >= 3) {
    YAML::Node list = seq_node();
    for (int k = peers == 3 ? 0 : uni(1, 3); k > 0; --k) {
      list.push_back(k8s_peer());
    }
    rule[ingress ? "from" : "to"] = list;
  }
  const int ports = uni(0, 9);
  if (ports >= 4) {
    YAML::Node list = seq_node();
    for (int k = ports == 4 ? 0 : uni(1, 3); k > 0; --k) {
      list.push_back(k8s_port());
    }
    rule["ports"] = list;
  }
  return flow_style(rule);
}

YAML::Node ClusterGenerator::Impl::k8s_peer() {
  YAML::Node peer = map_node();
  switch (uni(0, 4)) {
    case 0:
      peer["podSelector"] = label_selector(kPodLabels, 0.3);
      break;
    case 1:
      peer["namespaceSelector"] = label_selector(namespace_vocab(), 0.3);
      break;
    case 2:
      peer["podSelector"] = label_selector(kPodLabels, 0.3);
      peer["namespaceSelector"] = label_selector(namespace_vocab(), 0.3);
      break;
    default: {
      YAML::Node block = map_node();
      const Cidr c = random_net(random_family());
      block["cidr"] = c.to_string();
      if (chance(0.5)) {
        YAML::Node except = seq_node();
        for (int k = uni(1, 2); k > 0; --k) {
          if (auto e = except_inside(c, true)) {
            except.push_back(e->to_string());
          }
        }
        if (except.size() > 0) {
          block["except"] = except;
        }
      }
      peer["ipBlock"] = block;
    }
  }
  return peer;
}

YAML::Node ClusterGenerator::Impl::k8s_port() {
  YAML::Node port = map_node();
  uint8_t protocol = policy::ipproto::kTcp;
  if (chance(0.6)) {
    const std::string name = pick(std::vector<std::string>{"TCP", "UDP", "SCTP"});
    port["protocol"] = name;
    protocol = *policy::parse_protocol(name);
  }
  const int kind = uni(0, 9);
  if (kind < 6) {
    const uint16_t p = port_number(protocol);
    port["port"] = p;
    if (chance(0.3)) {
      const int end = std::min(65535, p + pick(std::vector<int>{0, 1, 20, 1000}));
      port["endPort"] = end;
      ports_.insert({protocol, static_cast<uint16_t>(end)});
    }
  } else if (kind < 9) {
    port["port"] = port_name(protocol);
  }  // else: no port, every port of the protocol
  return port;
}

// Calico NetworkPolicy or GlobalNetworkPolicy.
void ClusterGenerator::Impl::calico_policy(int index, std::optional<std::string> in_tier) {
  const bool global = chance(0.4);
  const bool crd = chance(0.15);
  const std::string tier = in_tier ? *in_tier : pick(tiers_);
  std::string name = "cal-" + std::to_string(index);
  if (tier != "default") {
    name = tier + "." + name;
  } else if (crd && chance(0.5)) {
    name = "default." + name;
  }
  YAML::Node doc = map_node();
  doc["apiVersion"] = crd ? "crd.projectcalico.org/v1" : "projectcalico.org/v3";
  doc["kind"] = global ? "GlobalNetworkPolicy" : "NetworkPolicy";
  doc["metadata"] = metadata(name, global ? "" : pick(ns_names_));
  YAML::Node spec = map_node();
  if (tier != "default" || chance(0.3)) {
    spec["tier"] = tier;
  }
  if (chance(0.8)) {
    spec["order"] = pick(std::vector<double>{10, 100, 100, 500, 1000, 1000.5, 2000});
  }
  if (chance(0.8)) {
    spec["selector"] = calico_expr(calico_endpoint_vocab());
  }
  if (global && chance(0.3)) {
    spec["namespaceSelector"] = chance(0.2) ? "all()" : calico_expr(namespace_vocab(), 1);
  }
  if (chance(0.1)) {
    spec["serviceAccountSelector"] = calico_expr(kSaLabels, 1);
  }
  switch (uni(0, 4)) {
    case 0:
    case 1:
      break;  // inferred from the rules
    case 2:
      spec["types"] = flow_style(seq_node());
      spec["types"].push_back("Ingress");
      break;
    case 3:
      spec["types"] = flow_style(seq_node());
      spec["types"].push_back("Egress");
      break;
    default:
      spec["types"] = flow_style(seq_node());
      spec["types"].push_back("Ingress");
      spec["types"].push_back("Egress");
  }
  for (const bool ingress : {true, false}) {
    const int n = uni(-1, 3);
    if (n < 0) {
      continue;
    }
    YAML::Node rules = seq_node();
    for (int k = 0; k < n; ++k) {
      rules.push_back(calico_rule());
    }
    spec[ingress ? "ingress" : "egress"] = rules;
  }
  if (global && chance(0.1)) {
    spec["doNotTrack"] = false;
  }
  doc["spec"] = spec;
  emit(doc);
}

YAML::Node ClusterGenerator::Impl::calico_rule() {
  YAML::Node rule = map_node();
  const int a = uni(0, 19);
  rule["action"] = a < 8 ? "Allow" : a < 13 ? "Deny" : a < 17 ? "Pass" : "Log";
  const std::vector<std::string> protos = {"TCP",    "TCP",    "UDP",     "SCTP", "ICMP", "ICMP",
                                           "ICMPv6", "ICMPv6", "UDPLite", "47",   "tcp",  "icmp"};
  std::string proto;
  if (chance(0.65)) {
    proto = pick(protos);
    rule["protocol"] = proto;
  }
  const std::string upper = [&] {
    std::string u = proto;
    std::ranges::transform(u, u.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    return u;
  }();
  const bool icmp4 = upper == "ICMP", icmp6 = upper == "ICMPV6";
  std::optional<int> ip_version;
  if (icmp4 && chance(0.3)) {
    ip_version = 4;
  } else if (icmp6 && chance(0.3)) {
    ip_version = 6;
  } else if (!icmp4 && !icmp6 && chance(0.15)) {
    ip_version = chance(0.6) ? 4 : 6;
  }
  if (chance(0.15)) {
    std::string not_proto = pick(protos);
    std::string nu = not_proto;
    std::ranges::transform(nu, nu.begin(),
                           [](char c) { return static_cast<char>(std::toupper(c)); });
    const bool bad = nu == upper || (ip_version && ((nu == "ICMP" && *ip_version != 4) ||
                                                    (nu == "ICMPV6" && *ip_version != 6)));
    if (!bad) {
      rule["notProtocol"] = not_proto;
    }
  }
  if (ip_version) {
    rule["ipVersion"] = *ip_version;
  }
  if (icmp4 || icmp6) {
    const uint8_t icmp_protocol = icmp4 ? policy::ipproto::kIcmp : policy::ipproto::kIcmpV6;
    auto icmp_match = [&] {
      YAML::Node icmp = map_node();
      const int fields = uni(0, 2);
      const uint8_t type = pick(kIcmpTypes);
      const uint8_t code = pick(kIcmpCodes);
      if (fields >= 1) {
        icmp["type"] = static_cast<int>(type);
      }
      if (fields == 2) {
        icmp["code"] = static_cast<int>(code);
      }
      icmp_.insert({icmp_protocol, type, code});
      return flow_style(icmp);
    };
    const int r = uni(0, 6);
    if (r <= 2 || r == 5) {
      rule["icmp"] = icmp_match();
    }
    if (r == 3 || r == 5) {
      rule["notICMP"] = icmp_match();
    }
  }
  const bool ported = upper == "TCP" || upper == "UDP" || upper == "SCTP";
  const uint8_t protocol = ported ? *policy::parse_protocol(upper) : 0;
  for (const char* side : {"source", "destination"}) {
    if (chance(0.55)) {
      YAML::Node peer = calico_peer(ported, protocol, ip_version);
      if (peer.size() > 0 || chance(0.2)) {
        rule[side] = peer;
      }
    }
  }
  return flow_style(rule);
}

YAML::Node ClusterGenerator::Impl::calico_ports(uint8_t protocol) {
  YAML::Node list = seq_node();
  for (int k = uni(1, 3); k > 0; --k) {
    switch (uni(0, 5)) {
      case 0:
      case 1:
      case 2:
        list.push_back(static_cast<int>(port_number(protocol)));
        break;
      case 3: {
        const auto [lo, hi] = port_range(protocol);
        list.push_back(std::to_string(lo) + ":" + std::to_string(hi));
        break;
      }
      default:
        list.push_back(port_name(protocol));
    }
  }
  return list;
}

YAML::Node ClusterGenerator::Impl::calico_peer(bool ported, uint8_t protocol,
                                               std::optional<int> ip_version) {
  YAML::Node peer = map_node();
  auto family = [&] { return ip_version ? static_cast<uint8_t>(*ip_version) : random_family(); };
  for (const char* field : {"nets", "notNets"}) {
    if (chance(std::string(field) == "nets" ? 0.25 : 0.15)) {
      YAML::Node nets = seq_node();
      for (int k = uni(1, 2); k > 0; --k) {
        nets.push_back(random_net(family()).to_string());
      }
      peer[field] = nets;
    }
  }
  if (chance(0.35)) {
    peer["selector"] = calico_expr(calico_endpoint_vocab());
  }
  if (chance(0.12)) {
    peer["notSelector"] = calico_expr(calico_endpoint_vocab(), 1);
  }
  if (chance(0.15)) {
    const int r = uni(0, 4);
    peer["namespaceSelector"] = r == 0   ? "global()"
                                : r == 1 ? "all()"
                                         : calico_expr(namespace_vocab(), 1);
  }
  if (chance(0.1)) {
    YAML::Node sa = map_node();
    if (chance(0.6)) {
      YAML::Node names = seq_node();
      for (const std::string& n : some(kServiceAccounts, 1, 2)) {
        names.push_back(n);
      }
      sa["names"] = names;
    }
    if (sa.size() == 0 || chance(0.4)) {
      sa["selector"] = calico_expr(kSaLabels, 1);
    }
    peer["serviceAccounts"] = sa;
  }
  if (ported && chance(0.45)) {
    peer["ports"] = calico_ports(protocol);
  }
  if (ported && chance(0.25)) {
    peer["notPorts"] = calico_ports(protocol);
  }
  return peer;
}

}  // namespace palisade::testing
