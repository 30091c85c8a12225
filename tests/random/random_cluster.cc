// The cluster: ClusterGenerator::cluster, and the objects Impl::run makes before the policies
// (namespaces, nodes, service accounts, pods, network sets, host endpoints, tiers), in order.
#include "tests/random/random_cluster.h"

#include <algorithm>
#include <set>

#include "tests/random/random_cluster_internal.h"

namespace palisade::testing {

using namespace detail;
using policy::IpAddr;

RandomCluster ClusterGenerator::Impl::run() {
  make_namespaces();
  make_nodes();
  make_service_accounts();
  make_pods();
  make_network_sets();
  make_host_endpoints();
  make_tiers();
  make_policies();
  out_.ports.assign(ports_.begin(), ports_.end());
  out_.icmp.assign(icmp_.begin(), icmp_.end());
  out_.dns_names = kDnsNames;
  return std::move(out_);
}

void ClusterGenerator::Impl::make_namespaces() {
  ns_names_ = some(kNamespaces, 2, 4);
  std::ranges::sort(ns_names_);
  for (const std::string& ns : ns_names_) {
    if (chance(0.07)) {
      continue;  // a namespace without its Namespace object: only its name labels
    }
    YAML::Node doc = map_node();
    doc["apiVersion"] = "v1";
    doc["kind"] = "Namespace";
    doc["metadata"] = metadata(ns, "", random_labels(kNsLabels, 0.6));
    emit(doc);
  }
}

void ClusterGenerator::Impl::make_nodes() {
  for (size_t i = 0; i < kNodes.size(); ++i) {
    const std::string v4 = "192.168.0." + std::to_string(10 + i);
    node_v4_[kNodes[i]] = *IpAddr::parse(v4);
    if (i == 1 && chance(0.1)) {
      continue;  // no Node object: only its hostNetwork pods and host endpoints name it
    }
    YAML::Node addresses = seq_node();
    auto address = [&](const std::string& type, const std::string& a) {
      YAML::Node n = map_node();
      n["type"] = type;
      n["address"] = a;
      addresses.push_back(flow_style(n));
      if (type != "Hostname") {
        add_address(*IpAddr::parse(a), Owner::Node);
      }
    };
    address("InternalIP", v4);
    if (chance(0.3)) {
      address("ExternalIP", "172.16.0." + std::to_string(10 + i));
    }
    if (chance(0.2)) {
      address("InternalIP", "fd01::" + std::to_string(10 + i));
    }
    address("Hostname", kNodes[i]);
    YAML::Node doc = map_node();
    doc["apiVersion"] = "v1";
    doc["kind"] = "Node";
    doc["metadata"] = metadata(kNodes[i]);
    doc["status"]["addresses"] = addresses;
    emit(doc);
  }
}

void ClusterGenerator::Impl::make_service_accounts() {
  if (!chance(0.5)) {
    return;
  }
  for (const std::string& ns : ns_names_) {
    for (const std::string& sa : some(kServiceAccounts, 0, 2)) {
      YAML::Node doc = map_node();
      doc["apiVersion"] = "v1";
      doc["kind"] = "ServiceAccount";
      doc["metadata"] = metadata(sa, ns, random_labels(kSaLabels, 0.7));
      emit(doc);
    }
  }
}

void ClusterGenerator::Impl::make_pods() {
  std::set<std::string> used;
  const int n = uni(3, 12);
  // With reuse_ips, the last pod may take an earlier pod's address (a finished pod whose
  // status still shows the address a new pod now has).
  const bool reuse = shape_.reuse_ips && n > 3 && chance(0.5);
  for (int i = 0; i < n; ++i) {
    std::string v4;
    if (reuse && i == n - 1) {
      v4 = pick(std::vector<std::string>(used.begin(), used.end()));
    } else {
      do {
        v4 = "10.1." + std::to_string(uni(0, 3)) + "." + std::to_string(uni(1, 254));
      } while (!used.insert(v4).second);
    }
    // Addresses: IPv4 mostly, dual-stack often, IPv6 alone or none (pending) sometimes.
    const int kind = uni(0, 99);
    std::vector<std::string> addresses;
    if (kind >= 4) {
      if (kind >= 9) {
        addresses.push_back(v4);
      }
      if (kind < 9 || chance(0.35)) {
        addresses.push_back("fd00::" + std::to_string(100 + i));
      }
    }
    YAML::Node doc = map_node();
    doc["apiVersion"] = "v1";
    doc["kind"] = "Pod";
    YAML::Node labels = random_labels(kPodLabels, 0.6);
    const YAML::Node& read = labels;  // a const read does not add the key
    const std::string app = read["app"] ? read["app"].as<std::string>() : "pod";
    doc["metadata"] = metadata(app + "-" + std::to_string(i), pick(ns_names_), labels);
    YAML::Node spec = map_node();
    spec["nodeName"] = pick(kNodes);
    if (chance(0.5)) {
      spec["serviceAccountName"] = pick(kServiceAccounts);
    }
    spec["containers"] = containers();
    doc["spec"] = spec;
    if (!addresses.empty()) {
      YAML::Node status = map_node();
      if (addresses.size() > 1 || chance(0.3)) {
        YAML::Node ips = seq_node();
        for (const std::string& a : addresses) {
          YAML::Node one = map_node();
          one["ip"] = a;
          ips.push_back(flow_style(one));
        }
        status["podIPs"] = ips;
      }
      if (status.size() == 0 || chance(0.5)) {
        status["podIP"] = addresses.front();
      }
      doc["status"] = flow_style(status);
    }
    emit(doc);
    for (const std::string& text : addresses) {
      const IpAddr a = *IpAddr::parse(text);
      for (const RandomCluster::PortHint& np : last_named_) {
        named_port(a, np.protocol, np.port);
      }
      for (int twice = 0; twice < 2; ++twice) {  // pods weigh more than other addresses
        (a.family == 4 ? pod_v4_ : pod_v6_).push_back(a);
        add_address(a, Owner::Endpoint);
      }
    }
  }
  if (chance(0.35)) {  // a hostNetwork pod: not an endpoint, its address is its node's
    const std::string node = pick(kNodes);
    const std::string a =
        chance(0.7) ? node_v4_[node].to_string() : "192.168.0." + std::to_string(uni(20, 29));
    YAML::Node doc = map_node();
    doc["apiVersion"] = "v1";
    doc["kind"] = "Pod";
    doc["metadata"] = metadata("hostnet-0", pick(ns_names_), random_labels(kPodLabels, 0.5));
    doc["spec"] = flow_style(map_node());
    doc["spec"]["nodeName"] = node;
    doc["spec"]["hostNetwork"] = true;
    doc["spec"]["containers"] = containers();
    doc["status"] = flow_style(map_node());
    doc["status"]["podIP"] = a;
    emit(doc);
    add_address(*IpAddr::parse(a), Owner::Node);
  }
}

YAML::Node ClusterGenerator::Impl::containers() {
  last_named_.clear();
  YAML::Node list = seq_node();
  std::vector<PortSpec> specs = some(kNamedPorts, 0, 4);
  // dns/TCP and dns/UDP may share a pod, but one name and protocol only once.
  const int count = specs.size() > 1 && chance(0.5) ? 2 : 1;
  for (int c = 0; c < count; ++c) {
    YAML::Node container = map_node();
    container["name"] = "c" + std::to_string(c);
    container["image"] = "busybox";
    YAML::Node ports = seq_node();
    for (size_t i = static_cast<size_t>(c); i < specs.size(); i += static_cast<size_t>(count)) {
      YAML::Node p = map_node();
      p["name"] = specs[i].name;
      const uint16_t number = pick(specs[i].numbers);
      last_named_.push_back({*policy::parse_protocol(specs[i].protocol), number});
      p["containerPort"] = number;
      if (specs[i].protocol != "TCP" || chance(0.5)) {
        p["protocol"] = specs[i].protocol;
      }
      ports.push_back(flow_style(p));
    }
    if (chance(0.2)) {
      YAML::Node p = map_node();
      p["containerPort"] = 7000;  // unnamed: no policy can name it
      ports.push_back(flow_style(p));
    }
    if (ports.size() > 0) {
      container["ports"] = ports;
    }
    list.push_back(flow_style(container));
  }
  return list;
}

void ClusterGenerator::Impl::make_network_sets() {
  for (const bool global : {false, true}) {
    if (!chance(0.4)) {
      continue;
    }
    for (int i = uni(1, 2); i > 0; --i) {
      YAML::Node doc = map_node();
      doc["apiVersion"] = "projectcalico.org/v3";
      doc["kind"] = global ? "GlobalNetworkSet" : "NetworkSet";
      doc["metadata"] = metadata((global ? "gset-" : "set-") + std::to_string(i),
                                 global ? "" : pick(ns_names_), random_labels(kSetLabels, 0.6));
      YAML::Node nets = seq_node();
      for (int k = uni(1, 3); k > 0; --k) {
        nets.push_back(random_net(random_family()).to_string());
      }
      doc["spec"]["nets"] = flow_style(nets);
      emit(doc);
    }
  }
}

void ClusterGenerator::Impl::make_host_endpoints() {
  if (!chance(0.4)) {
    return;
  }
  for (int i = uni(1, 2); i > 0; --i) {
    const std::string node = pick(kNodes);
    std::vector<IpAddr> hep_ips;
    YAML::Node doc = map_node();
    doc["apiVersion"] = "projectcalico.org/v3";
    doc["kind"] = "HostEndpoint";
    doc["metadata"] =
        metadata("hep-" + node + "-" + std::to_string(i), "", random_labels(kHostLabels, 0.7));
    YAML::Node spec = map_node();
    spec["node"] = node;
    const bool interface = chance(0.7);
    if (interface) {
      spec["interfaceName"] = "eth0";
    }
    if (!interface || chance(0.7)) {
      YAML::Node ips = seq_node();
      ips.push_back(node_v4_[node].to_string());
      if (chance(0.3)) {
        const std::string extra = "192.168.1." + std::to_string(uni(1, 20));
        ips.push_back(extra);
        add_address(*IpAddr::parse(extra), Owner::Endpoint);
        hep_ips.push_back(*IpAddr::parse(extra));
      }
      spec["expectedIPs"] = flow_style(ips);
    }
    add_address(node_v4_[node], Owner::Endpoint);  // expected, or the node's (interface)
    hep_ips.push_back(node_v4_[node]);
    if (chance(0.5)) {
      spec["profiles"] = flow_style(seq_node());
      if (chance(0.3)) {
        spec["profiles"].push_back("kns.default");  // a profile that allows nothing here
      }
      if (chance(0.8)) {
        spec["profiles"].push_back("projectcalico-default-allow");
      }
    }
    if (chance(0.4)) {
      YAML::Node ports = seq_node();
      for (const auto& [name, number] : std::vector<std::pair<std::string, int>>{
               {"http", chance(0.5) ? 80 : 8080}, {"ssh", 22}}) {
        YAML::Node p = map_node();
        p["name"] = name;
        p["port"] = number;
        p["protocol"] = "TCP";
        for (const IpAddr& a : hep_ips) {
          named_port(a, policy::ipproto::kTcp, static_cast<uint16_t>(number));
        }
        ports.push_back(flow_style(p));
      }
      spec["ports"] = ports;
    }
    doc["spec"] = spec;
    emit(doc);
  }
  using namespace policy::ipproto;
  for (const RandomCluster::PortHint& p : std::vector<RandomCluster::PortHint>{{kTcp, 22},
                                                                               {kUdp, 68},
                                                                               {kTcp, 179},
                                                                               {kUdp, 53},
                                                                               {kUdp, 67},
                                                                               {kTcp, 6443},
                                                                               {kTcp, 2379}}) {
    ports_.insert(p);  // failsafe ports
  }
}

void ClusterGenerator::Impl::make_tiers() {
  tiers_ = {"default"};
  if (chance(0.1)) {
    YAML::Node doc = map_node();
    doc["apiVersion"] = "projectcalico.org/v3";
    doc["kind"] = "Tier";
    doc["metadata"] = metadata("default");
    YAML::Node spec = map_node();
    if (chance(0.5)) {
      spec["order"] = 1000000;
    }
    spec["defaultAction"] = chance(0.5) ? "Pass" : "Deny";
    doc["spec"] = flow_style(spec);
    emit(doc);
  }
  // Sometimes 14 tiers besides default, each with a policy: all 15 rte_acl categories
  // for tiers in use (kMaxTiers); else at most 4.
  many_tiers_ = chance(0.05);
  std::vector<std::string> names;
  if (many_tiers_) {
    for (int i = 0; i < 14; ++i) {
      names.push_back("t" + std::to_string(10 + i));
    }
  } else if (chance(0.6)) {
    names =
        some(std::vector<std::string>{"security", "platform", "audit", "app-sec", "zz-late"}, 1, 4);
  }
  for (const std::string& name : names) {
    YAML::Node doc = map_node();
    doc["apiVersion"] = chance(0.8) ? "projectcalico.org/v3" : "crd.projectcalico.org/v1";
    doc["kind"] = "Tier";
    doc["metadata"] = metadata(name);
    YAML::Node spec = map_node();
    switch (uni(0, 6)) {
      case 0:
        break;  // no order: after every ordered tier, default included
      case 1:
        spec["order"] = 100;
        break;
      case 2:
      case 3:
        spec["order"] = 200;  // ties are broken by name
        break;
      case 4:
        spec["order"] = 50.5;
        break;
      case 5:
        spec["order"] = chance(0.5) ? 1500000 : 1000000;  // after default, or tied with it
        break;
      default:
        spec["order"] = 500;
    }
    const int action = uni(0, 2);
    if (action > 0) {
      spec["defaultAction"] = action == 1 ? "Deny" : "Pass";
    }
    doc["spec"] = flow_style(spec);
    emit(doc);
    tiers_.push_back(name);
  }
}

std::string RandomCluster::yaml() const {
  std::string out;
  for (const std::string& o : objects) {
    out += "---\n" + o;
  }
  return out;
}

ClusterGenerator::ClusterGenerator(uint64_t seed, ClusterShape shape) : rng_(seed), shape_(shape) {}

RandomCluster ClusterGenerator::cluster() {
  RandomCluster c = Impl(rng_, shape_).run();
  for (const std::string& a : kExternal4) {
    c.v4.push_back(*IpAddr::parse(a));
  }
  for (const std::string& a : kExternal6) {
    c.v6.push_back(*IpAddr::parse(a));
  }
  return c;
}

}  // namespace palisade::testing
