// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, with toFQDNs for the DNS test.
#include <algorithm>

#include "tests/random/random_cluster_internal.h"

namespace palisade::testing {

using namespace detail;
using policy::Cidr;

// CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy; with `fqdn`, one whose egress
// names DNS names.
void ClusterGenerator::Impl::cilium_policy(int index, bool fqdn) {
  const bool clusterwide = chance(0.3);
  YAML::Node doc = map_node();
  doc["apiVersion"] = "cilium.io/v2";
  doc["kind"] = clusterwide ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy";
  doc["metadata"] = metadata((fqdn ? "fqdn-" : "cnp-") + std::to_string(index),
                             clusterwide ? "" : pick(ns_names_));
  if (!fqdn && chance(0.05)) {
    YAML::Node specs = seq_node();
    specs.push_back(cilium_spec(false));
    specs.push_back(cilium_spec(false));
    doc["specs"] = specs;
  } else {
    doc["spec"] = cilium_spec(fqdn);
  }
  emit(doc);
}

YAML::Node ClusterGenerator::Impl::cilium_spec(bool fqdn) {
  YAML::Node spec = map_node();
  spec["endpointSelector"] = fqdn && chance(0.5) ? flow_style(map_node()) : cilium_selector(false);
  struct Section {
    const char* name;
    bool ingress, deny;
    double p;
  };
  for (const Section& s :
       {Section{"ingress", true, false, 0.55}, Section{"ingressDeny", true, true, 0.2},
        Section{"egress", false, false, fqdn ? 1.0 : 0.4},
        Section{"egressDeny", false, true, 0.15}}) {
    if (!chance(s.p)) {
      continue;
    }
    YAML::Node rules = seq_node();
    if (!chance(0.05)) {
      for (int k = uni(1, fqdn && !s.ingress && !s.deny ? 2 : 3); k > 0; --k) {
        rules.push_back(cilium_rule(s.ingress, s.deny, fqdn && !s.ingress && !s.deny));
      }
    }
    spec[s.name] = rules;
  }
  if (chance(0.15)) {
    YAML::Node dd = map_node();
    if (chance(0.7)) {
      dd["ingress"] = chance(0.7) ? false : true;
    }
    if (chance(0.7)) {
      dd["egress"] = chance(0.7) ? false : true;
    }
    spec["enableDefaultDeny"] = flow_style(dd);
  }
  if (chance(0.1)) {
    spec["description"] = "generated";
  }
  return spec;
}

YAML::Node ClusterGenerator::Impl::cilium_rule(bool ingress, bool deny, bool fqdn) {
  YAML::Node rule = map_node();
  const std::string from = ingress ? "from" : "to";
  if (chance(fqdn ? 0.15 : 0.4)) {
    YAML::Node list = seq_node();
    for (int k = uni(1, 2); k > 0; --k) {
      list.push_back(cilium_selector(true));
    }
    rule[from + "Endpoints"] = list;
  }
  if (chance(fqdn ? 0.1 : 0.2)) {
    YAML::Node list = seq_node();
    for (int k = uni(1, 2); k > 0; --k) {
      list.push_back(random_net(random_family()).to_string());
    }
    rule[from + "CIDR"] = list;
  }
  if (chance(fqdn ? 0.1 : 0.15)) {
    YAML::Node list = seq_node();
    for (int k = uni(1, 2); k > 0; --k) {
      YAML::Node set = map_node();
      const Cidr c = random_net(random_family());
      set["cidr"] = c.to_string();
      if (chance(0.5)) {
        if (auto e = except_inside(c, false)) {
          set["except"] = flow_style(seq_node());
          set["except"].push_back(e->to_string());
        }
      }
      list.push_back(flow_style(set));
    }
    rule[from + "CIDRSet"] = list;
  }
  if (chance(fqdn ? 0.1 : 0.2)) {
    YAML::Node list = seq_node();
    if (!chance(0.05)) {
      for (const std::string& e :
           some(std::vector<std::string>{"world", "cluster", "host", "remote-node", "all"}, 1, 2)) {
        list.push_back(e);
      }
    }
    rule[from + "Entities"] = list;
  }
  if (!ingress && !deny && (fqdn || chance(0.03))) {
    YAML::Node list = seq_node();
    for (int k = uni(1, 2); k > 0; --k) {
      YAML::Node m = map_node();
      if (chance(0.5)) {
        m["matchName"] = pick(kDnsMatchNames);
      } else {
        m["matchPattern"] = pick(kDnsPatterns);
      }
      list.push_back(flow_style(m));
    }
    rule["toFQDNs"] = list;
  }
  if (chance(fqdn ? 0.3 : 0.5)) {
    YAML::Node to_ports = seq_node();
    for (int k = uni(1, 2); k > 0; --k) {
      to_ports.push_back(cilium_port_rule(ingress, deny));
    }
    rule["toPorts"] = to_ports;
  }
  if (chance(0.1)) {
    YAML::Node fields = seq_node();
    for (int k = uni(1, 2); k > 0; --k) {
      YAML::Node f = map_node();
      const bool v6 = chance(0.4);
      const uint8_t type = pick(kIcmpTypes);
      f["type"] = static_cast<int>(type);
      if (v6 || chance(0.5)) {
        f["family"] = v6 ? "IPv6" : "IPv4";
      }
      icmp_.insert({v6 ? policy::ipproto::kIcmpV6 : policy::ipproto::kIcmp, type, 0});
      fields.push_back(flow_style(f));
    }
    YAML::Node entry = map_node();
    entry["fields"] = fields;
    rule["icmps"] = seq_node();
    rule["icmps"].push_back(entry);
  }
  return flow_style(rule);
}

YAML::Node ClusterGenerator::Impl::cilium_port_rule(bool ingress, bool deny) {
  YAML::Node entry = map_node();
  if (chance(0.15)) {
    if (chance(0.5)) {
      entry["ports"] = seq_node();
    }
    return entry;  // no ports: every port of TCP, UDP and SCTP
  }
  YAML::Node ports = seq_node();
  bool tcp_only = true;
  for (int k = uni(1, 2); k > 0; --k) {
    YAML::Node p = map_node();
    const int proto = uni(0, 5);
    const std::string name = proto == 1   ? "TCP"
                             : proto == 2 ? "UDP"
                             : proto == 3 ? "SCTP"
                                          : "ANY";  // proto 0: missing, which is ANY
    const uint8_t protocol = name == "ANY" ? 0 : *policy::parse_protocol(name);
    if (proto > 0) {
      p["protocol"] = name;
    }
    tcp_only = tcp_only && (name == "TCP" || name == "ANY");
    const int kind = uni(0, 9);
    if (kind < 6) {
      const uint16_t n = port_number(protocol);
      p["port"] = chance(0.5) ? YAML::Node(std::to_string(n)) : YAML::Node(static_cast<int>(n));
      if (chance(0.2)) {
        const int end = std::min(65535, n + pick(std::vector<int>{0, 1, 100}));
        p["endPort"] = end;
        ports_.insert({protocol, static_cast<uint16_t>(end)});
      }
    } else if (kind < 8) {
      p["port"] = port_name(protocol);
    } else if (kind < 9) {
      p["port"] = "0";  // every port
    }
    ports.push_back(flow_style(p));
  }
  entry["ports"] = ports;
  if (!deny && tcp_only && chance(0.08)) {
    YAML::Node http = map_node();
    http["method"] = "GET";
    http["path"] = "/api/.*";
    entry["rules"]["http"] = seq_node();
    entry["rules"]["http"].push_back(flow_style(http));
  } else if (!deny && !ingress && chance(0.04)) {
    YAML::Node dns = map_node();
    dns["matchPattern"] = "*";
    entry["rules"]["dns"] = seq_node();
    entry["rules"]["dns"].push_back(flow_style(dns));
  }
  return flow_style(entry);
}

}  // namespace palisade::testing
