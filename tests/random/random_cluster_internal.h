// Internal to the random cluster generator (random_cluster.h): the vocabularies it draws
// from, and ClusterGenerator::Impl, the state of one generation. Impl's members are defined by
// job: random_values.cc (metadata, labels, addresses, nets, ports, selectors),
// random_cluster.cc (the cluster's objects), random_policies.cc (Kubernetes and Calico
// policies) and random_cilium_policies.cc (Cilium policies). Flows are random_flows.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "policy/ip.h"
#include "tests/random/random_cluster.h"

namespace palisade::testing::detail {

using Vocab = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Small vocabularies, so that random selectors select some of the random objects.
inline const Vocab kPodLabels = {{"app", {"web", "api", "db", "cache"}},
                                 {"tier", {"front", "back"}},
                                 {"env", {"prod", "dev"}},
                                 {"team", {"a", "b"}}};
inline const Vocab kNsLabels = {
    {"env", {"prod", "dev"}}, {"team", {"a", "b"}}, {"zone", {"x", "y"}}};
inline const Vocab kSaLabels = {{"role", {"admin", "user"}}, {"team", {"a", "b"}}};
inline const Vocab kHostLabels = {{"role", {"worker", "edge"}}, {"env", {"prod", "dev"}}};
inline const Vocab kSetLabels = {
    {"kind", {"external", "partner"}}, {"env", {"prod", "dev"}}, {"app", {"web", "db"}}};

inline const std::vector<std::string> kNamespaces = {"prod", "dev", "staging", "ops"};
inline const std::vector<std::string> kNodes = {"node-a", "node-b"};
inline const std::vector<std::string> kServiceAccounts = {"default", "frontend", "backend",
                                                          "batch"};

// Named container ports: one name may have different numbers (and protocols) on different
// pods, which is what makes named ports resolve per destination.
struct PortSpec {
  std::string name, protocol;
  std::vector<uint16_t> numbers;
};
inline const std::vector<PortSpec> kNamedPorts = {
    {"http", "TCP", {80, 8080, 8000}},  {"metrics", "TCP", {9090, 9091}},
    {"dns", "UDP", {53, 5353}},         {"dns", "TCP", {53, 5353}},
    {"diameter", "SCTP", {3868, 3869}}, {"web", "TCP", {443, 8443}},
};
inline const std::vector<std::string> kPortNames = {"http",     "metrics", "dns", "dns",
                                                    "diameter", "web",     "ssh", "nope"};
inline const std::vector<uint16_t> kPortNumbers = {
    22, 53, 67, 68, 80, 179, 443, 3868, 5353, 5432, 6379, 6443, 8080, 8443, 9090, 9091, 1, 65535};
inline const std::vector<std::pair<uint16_t, uint16_t>> kPortRanges = {
    {8000, 8100}, {30000, 32767}, {1, 1024}, {9090, 9091}, {53, 53}, {80, 443}, {0, 65535}};

inline const std::vector<std::string> kNets4 = {
    "10.0.0.0/8",      "10.1.0.0/16",    "10.1.0.0/24",     "10.1.1.0/24",    "10.1.2.0/23",
    "10.1.3.128/25",   "192.168.0.0/24", "192.168.0.10/32", "192.168.0.0/16", "203.0.113.0/24",
    "198.51.100.0/25", "172.16.0.0/12",  "8.8.8.8/32",      "0.0.0.0/0"};
inline const std::vector<std::string> kNets6 = {"fd00::/64",     "fd00::/16",       "fd01::/64",
                                                "2001:db8::/32", "2001:db8:1::/48", "::/0"};
inline const std::vector<std::string> kExternal4 = {"203.0.113.7", "198.51.100.9", "8.8.8.8",
                                                    "172.16.5.5"};
inline const std::vector<std::string> kExternal6 = {"2001:db8::7", "2001:db8:1::9", "fd00::ffff"};

inline const std::vector<uint8_t> kIcmpTypes = {0, 3, 8, 11, 128, 129, 135};
inline const std::vector<uint8_t> kIcmpCodes = {0, 1, 4};

inline const std::vector<std::string> kDnsNames = {
    "api.example.com",  "www.example.com", "example.com", "a.b.example.com", "API.Example.COM",
    "api.example.com.", "api.stripe.com",  "stripe.com",  "api.foo.com",     "x.svc.cluster.local"};
inline const std::vector<std::string> kDnsMatchNames = {"api.example.com", "www.example.com",
                                                        "stripe.com"};
inline const std::vector<std::string> kDnsPatterns = {"*.example.com", "*", "api.*.com",
                                                      "*.stripe.com"};

inline YAML::Node map_node() { return YAML::Node(YAML::NodeType::Map); }
inline YAML::Node seq_node() { return YAML::Node(YAML::NodeType::Sequence); }
inline YAML::Node flow_style(YAML::Node n) {
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}

}  // namespace palisade::testing::detail

namespace palisade::testing {

// The state of one generation: what has been made so far, for later objects to refer to.
class ClusterGenerator::Impl {
 public:
  Impl(std::mt19937_64& rng, const ClusterShape& shape) : rng_(rng), shape_(shape) {}

  RandomCluster run();

 private:
  using Cidr = policy::Cidr;
  using IpAddr = policy::IpAddr;
  using Vocab = detail::Vocab;

  // --- randomness ---------------------------------------------------------------------
  int uni(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uni(0, static_cast<int>(v.size()) - 1))];
  }
  template <typename T>
  std::vector<T> some(std::vector<T> v, int lo, int hi) {
    std::shuffle(v.begin(), v.end(), rng_);
    v.resize(static_cast<size_t>(std::min<int>(uni(lo, hi), static_cast<int>(v.size()))));
    return v;
  }

  // --- metadata, labels, addresses, nets, ports and selectors (random_values.cc) -------
  enum class Owner { Other, Endpoint, Node };
  void emit(const YAML::Node& doc);
  YAML::Node metadata(const std::string& name, const std::string& ns = "",
                      const YAML::Node& labels = YAML::Node());
  YAML::Node random_labels(const Vocab& vocab, double p);
  void add_address(const IpAddr& a, Owner owner = Owner::Other);
  IpAddr random_in(const Cidr& c);
  Cidr random_net(uint8_t family);
  uint8_t random_family();
  std::optional<Cidr> except_inside(const Cidr& c, bool strict);
  uint16_t port_number(uint8_t protocol);
  std::pair<uint16_t, uint16_t> port_range(uint8_t protocol);
  std::string port_name(uint8_t protocol);
  void named_port(const IpAddr& a, uint8_t protocol, uint16_t port);
  std::string quoted_values(const std::vector<std::string>& values);
  std::string calico_term(const Vocab& vocab);
  std::string calico_expr(const Vocab& vocab, int depth = 2);
  Vocab calico_endpoint_vocab();
  Vocab namespace_vocab();
  YAML::Node label_selector(const Vocab& vocab, double p_empty);
  YAML::Node cilium_selector(bool peer);

  // --- cluster objects (random_cluster.cc) --------------------------------------------
  void make_namespaces();
  void make_nodes();
  void make_service_accounts();
  void make_pods();
  YAML::Node containers();
  void make_network_sets();
  void make_host_endpoints();
  void make_tiers();

  // --- Kubernetes and Calico policies (random_policies.cc) ----------------------------
  void make_policies();
  void k8s_policy(int index);
  YAML::Node k8s_rule(bool ingress);
  YAML::Node k8s_peer();
  YAML::Node k8s_port();
  void calico_policy(int index, std::optional<std::string> in_tier = std::nullopt);
  YAML::Node calico_rule();
  YAML::Node calico_ports(uint8_t protocol);
  YAML::Node calico_peer(bool ported, uint8_t protocol, std::optional<int> ip_version);

  // --- Cilium policies (random_cilium_policies.cc) ------------------------------------
  void cilium_policy(int index, bool fqdn);
  YAML::Node cilium_spec(bool fqdn);
  YAML::Node cilium_rule(bool ingress, bool deny, bool fqdn);
  YAML::Node cilium_port_rule(bool ingress, bool deny);

  std::mt19937_64& rng_;
  const ClusterShape& shape_;
  RandomCluster out_;
  std::vector<std::string> ns_names_, tiers_;
  bool many_tiers_ = false;
  std::map<std::string, IpAddr> node_v4_;
  std::vector<IpAddr> pod_v4_, pod_v6_;
  std::set<RandomCluster::PortHint> ports_;
  std::set<RandomCluster::IcmpHint> icmp_;
  std::vector<RandomCluster::PortHint> last_named_;  // of the pod being made
};

}  // namespace palisade::testing
