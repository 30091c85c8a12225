#include "tests/dataplane/random_cluster.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

namespace palisade::testing {

using policy::Cidr;
using policy::IpAddr;

namespace {

using Vocab = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Small vocabularies, so that random selectors select some of the random objects.
const Vocab kPodLabels = {{"app", {"web", "api", "db", "cache"}},
                          {"tier", {"front", "back"}},
                          {"env", {"prod", "dev"}},
                          {"team", {"a", "b"}}};
const Vocab kNsLabels = {{"env", {"prod", "dev"}}, {"team", {"a", "b"}}, {"zone", {"x", "y"}}};
const Vocab kSaLabels = {{"role", {"admin", "user"}}, {"team", {"a", "b"}}};
const Vocab kHostLabels = {{"role", {"worker", "edge"}}, {"env", {"prod", "dev"}}};
const Vocab kSetLabels = {
    {"kind", {"external", "partner"}}, {"env", {"prod", "dev"}}, {"app", {"web", "db"}}};

const std::vector<std::string> kNamespaces = {"prod", "dev", "staging", "ops"};
const std::vector<std::string> kNodes = {"node-a", "node-b"};
const std::vector<std::string> kServiceAccounts = {"default", "frontend", "backend", "batch"};

// Named container ports: one name may have different numbers (and protocols) on different
// pods, which is what makes named ports resolve per destination.
struct PortSpec {
  std::string name, protocol;
  std::vector<uint16_t> numbers;
};
const std::vector<PortSpec> kNamedPorts = {
    {"http", "TCP", {80, 8080, 8000}},  {"metrics", "TCP", {9090, 9091}},
    {"dns", "UDP", {53, 5353}},         {"dns", "TCP", {53, 5353}},
    {"diameter", "SCTP", {3868, 3869}}, {"web", "TCP", {443, 8443}},
};
const std::vector<std::string> kPortNames = {"http",     "metrics", "dns", "dns",
                                             "diameter", "web",     "ssh", "nope"};
const std::vector<uint16_t> kPortNumbers = {22,   53,   67,   68,   80,   179,  443,  3868, 5353,
                                            5432, 6379, 6443, 8080, 8443, 9090, 9091, 1,    65535};
const std::vector<std::pair<uint16_t, uint16_t>> kPortRanges = {
    {8000, 8100}, {30000, 32767}, {1, 1024}, {9090, 9091}, {53, 53}, {80, 443}, {0, 65535}};

const std::vector<std::string> kNets4 = {
    "10.0.0.0/8",      "10.1.0.0/16",    "10.1.0.0/24",     "10.1.1.0/24",    "10.1.2.0/23",
    "10.1.3.128/25",   "192.168.0.0/24", "192.168.0.10/32", "192.168.0.0/16", "203.0.113.0/24",
    "198.51.100.0/25", "172.16.0.0/12",  "8.8.8.8/32",      "0.0.0.0/0"};
const std::vector<std::string> kNets6 = {"fd00::/64",     "fd00::/16",       "fd01::/64",
                                         "2001:db8::/32", "2001:db8:1::/48", "::/0"};
const std::vector<std::string> kExternal4 = {"203.0.113.7", "198.51.100.9", "8.8.8.8",
                                             "172.16.5.5"};
const std::vector<std::string> kExternal6 = {"2001:db8::7", "2001:db8:1::9", "fd00::ffff"};

const std::vector<uint8_t> kIcmpTypes = {0, 3, 8, 11, 128, 129, 135};
const std::vector<uint8_t> kIcmpCodes = {0, 1, 4};

const std::vector<std::string> kDnsNames = {
    "api.example.com",  "www.example.com", "example.com", "a.b.example.com", "API.Example.COM",
    "api.example.com.", "api.stripe.com",  "stripe.com",  "api.foo.com",     "x.svc.cluster.local"};
const std::vector<std::string> kDnsMatchNames = {"api.example.com", "www.example.com",
                                                 "stripe.com"};
const std::vector<std::string> kDnsPatterns = {"*.example.com", "*", "api.*.com", "*.stripe.com"};

YAML::Node map_node() { return YAML::Node(YAML::NodeType::Map); }
YAML::Node seq_node() { return YAML::Node(YAML::NodeType::Sequence); }
YAML::Node flow_style(YAML::Node n) {
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}

Cidr masked(const IpAddr& a, int len) {
  return *Cidr::parse(a.to_string() + "/" + std::to_string(len));
}

IpAddr last_in(const Cidr& c) {
  IpAddr a = c.addr;
  for (size_t bit = c.prefix_len; bit < a.width_bits(); ++bit) {
    a.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
  }
  return a;
}

// The address after (or before) this one, wrapping around.
IpAddr step(IpAddr a, int delta) {
  const size_t n = a.family == 4 ? 4 : 16;
  for (size_t i = n; i-- > 0;) {
    const int v = a.bytes[i] + delta;
    a.bytes[i] = static_cast<uint8_t>(v & 0xff);
    if (v >= 0 && v <= 0xff) {
      break;
    }
  }
  return a;
}

}  // namespace

// The state of one generation: what has been made so far, for later objects to refer to.
class ClusterGenerator::Impl {
 public:
  Impl(std::mt19937_64& rng, const ClusterShape& shape) : rng_(rng), shape_(shape) {}

  RandomCluster run() {
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

 private:
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

  void emit(const YAML::Node& doc) {
    YAML::Emitter e;
    e << doc;
    out_.objects.push_back(std::string(e.c_str()) + "\n");
  }

  YAML::Node metadata(const std::string& name, const std::string& ns = "",
                      const YAML::Node& labels = YAML::Node()) {
    YAML::Node m = map_node();
    m["name"] = name;
    if (!ns.empty()) {
      m["namespace"] = ns;
    }
    if (labels && labels.size() > 0) {
      m["labels"] = labels;
    }
    return flow_style(m);
  }

  YAML::Node random_labels(const Vocab& vocab, double p) {
    YAML::Node labels = map_node();
    for (const auto& [key, values] : vocab) {
      if (chance(p)) {
        labels[key] = pick(values);
      }
    }
    return labels;
  }

  // --- addresses and nets -------------------------------------------------------------
  enum class Owner { Other, Endpoint, Node };
  void add_address(const IpAddr& a, Owner owner = Owner::Other) {
    (a.family == 4 ? out_.v4 : out_.v6).push_back(a);
    if (owner == Owner::Endpoint) {
      (a.family == 4 ? out_.endpoints_v4 : out_.endpoints_v6).push_back(a);
    } else if (owner == Owner::Node) {
      (a.family == 4 ? out_.nodes_v4 : out_.nodes_v6).push_back(a);
    }
  }

  IpAddr random_in(const Cidr& c) {
    IpAddr a = c.addr;
    for (size_t bit = c.prefix_len; bit < a.width_bits(); ++bit) {
      if (chance(0.5)) {
        a.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
      }
    }
    return a;
  }

  Cidr random_net(uint8_t family) {
    Cidr c;
    const std::vector<IpAddr>& known = family == 4 ? pod_v4_ : pod_v6_;
    if (!known.empty() && chance(0.35)) {
      c = masked(pick(known), family == 4 ? uni(16, 32) : uni(64, 128));
    } else {
      c = *Cidr::parse(pick(family == 4 ? kNets4 : kNets6));
    }
    out_.nets.push_back(c);
    return c;
  }
  uint8_t random_family() { return chance(0.8) ? 4 : 6; }

  // A prefix inside `c`, strictly longer when `strict`; around a known address when one is
  // inside, so that excepts cut out endpoints.
  std::optional<Cidr> except_inside(const Cidr& c, bool strict) {
    const int width = static_cast<int>(c.addr.width_bits());
    const int lo = c.prefix_len + (strict ? 1 : 0);
    if (lo > width) {
      return std::nullopt;
    }
    const int len = uni(lo, std::min(width, c.prefix_len + 8));
    std::vector<IpAddr> inside;
    for (const IpAddr& a : c.addr.family == 4 ? out_.v4 : out_.v6) {
      if (c.contains(a)) {
        inside.push_back(a);
      }
    }
    const IpAddr at = !inside.empty() && chance(0.6) ? pick(inside) : random_in(c);
    Cidr e = masked(at, std::max(len, static_cast<int>(c.prefix_len)));
    out_.nets.push_back(e);
    return e;
  }

  // --- ports and selectors ------------------------------------------------------------
  // A port number for a rule of this protocol (0: TCP, UDP or SCTP), remembered for flows.
  uint16_t port_number(uint8_t protocol) {
    const uint16_t p = pick(kPortNumbers);
    ports_.insert({protocol, p});
    return p;
  }
  std::pair<uint16_t, uint16_t> port_range(uint8_t protocol) {
    auto r = pick(kPortRanges);
    ports_.insert({protocol, r.first});
    ports_.insert({protocol, r.second});
    return r;
  }
  // A port name for a rule of this protocol (0: any): mostly one that endpoints declare for
  // it, so that names resolve.
  std::string port_name(uint8_t protocol) {
    std::vector<std::string> fitting;
    for (const PortSpec& spec : kNamedPorts) {
      if (protocol == 0 || *policy::parse_protocol(spec.protocol) == protocol) {
        fitting.push_back(spec.name);
      }
    }
    if (protocol == 0 || protocol == policy::ipproto::kTcp) {
      fitting.push_back("ssh");  // host endpoints' ports
    }
    return chance(0.8) ? pick(fitting) : pick(kPortNames);
  }
  void named_port(const IpAddr& a, uint8_t protocol, uint16_t port) {
    out_.named_ports[a].push_back({protocol, port});
  }

  std::string quoted_values(const std::vector<std::string>& values) {
    std::string out;
    for (const std::string& v : values) {
      out += (out.empty() ? "'" : ", '") + v + "'";
    }
    return "{" + out + "}";
  }

  std::string calico_term(const Vocab& vocab) {
    const auto& [key, values] = pick(vocab);
    const std::string v = pick(values);
    switch (uni(0, 10)) {
      case 0:
      case 1:
        return key + " == '" + v + "'";
      case 2:
        return key + " != '" + v + "'";
      case 3:
        return key + " in " + quoted_values(some(values, 1, 2));
      case 4:
        return key + " not in " + quoted_values(some(values, 1, 2));
      case 5:
        return "has(" + key + ")";
      case 6:
        return "!has(" + key + ")";
      case 7:
        return key + " starts with '" + v.substr(0, static_cast<size_t>(uni(1, 2))) + "'";
      case 8:
        return key + " ends with '" + v.substr(v.size() - 1) + "'";
      case 9:
        return key + " contains '" + v.substr(v.size() / 2, 1) + "'";
      default:
        return "all()";
    }
  }

  std::string calico_expr(const Vocab& vocab, int depth = 2) {
    if (depth == 0 || chance(0.55)) {
      return calico_term(vocab);
    }
    switch (uni(0, 2)) {
      case 0:
        return calico_expr(vocab, depth - 1) + " && " + calico_expr(vocab, depth - 1);
      case 1:
        return "(" + calico_expr(vocab, depth - 1) + " || " + calico_expr(vocab, depth - 1) + ")";
      default:
        return "!(" + calico_expr(vocab, depth - 1) + ")";
    }
  }

  Vocab calico_endpoint_vocab() {
    Vocab v = kPodLabels;
    v.insert(v.end(), kSetLabels.begin(), kSetLabels.end());
    v.insert(v.end(), kHostLabels.begin(), kHostLabels.end());
    v.push_back({"projectcalico.org/namespace", ns_names_});
    v.push_back({"projectcalico.org/orchestrator", {"k8s"}});
    v.push_back({"projectcalico.org/serviceaccount", kServiceAccounts});
    return v;
  }
  Vocab namespace_vocab() {
    Vocab v = kNsLabels;
    v.push_back({"projectcalico.org/name", ns_names_});
    v.push_back({"kubernetes.io/metadata.name", ns_names_});
    return v;
  }

  // A Kubernetes LabelSelector.
  YAML::Node label_selector(const Vocab& vocab, double p_empty) {
    YAML::Node sel = map_node();
    if (chance(p_empty)) {
      return flow_style(sel);
    }
    YAML::Node labels = map_node();
    for (int i = uni(0, 2); i > 0; --i) {
      const auto& [key, values] = pick(vocab);
      labels[key] = pick(values);
    }
    if (labels.size() > 0 || chance(0.2)) {
      sel["matchLabels"] = labels;
    }
    if (chance(0.4)) {
      YAML::Node exprs = seq_node();
      for (int i = uni(1, 2); i > 0; --i) {
        const auto& [key, values] = pick(vocab);
        YAML::Node e = map_node();
        e["key"] = key;
        const std::string op =
            pick(std::vector<std::string>{"In", "NotIn", "Exists", "DoesNotExist"});
        e["operator"] = op;
        if (op == "In" || op == "NotIn") {
          YAML::Node vs = seq_node();
          for (const std::string& v : some(values, 1, 2)) {
            vs.push_back(v);
          }
          e["values"] = vs;
        }
        exprs.push_back(e);
      }
      sel["matchExpressions"] = exprs;
    }
    return flow_style(sel);
  }

  // A Cilium EndpointSelector: label keys with or without a source, the namespace label,
  // namespace labels, service accounts; for peers, sometimes reserved:host.
  YAML::Node cilium_selector(bool peer) {
    YAML::Node sel = map_node();
    if (peer && chance(0.08)) {
      YAML::Node ml = map_node();
      ml["reserved:host"] = "";
      sel["matchLabels"] = ml;
      return flow_style(sel);
    }
    if (chance(0.2)) {
      return flow_style(sel);
    }
    YAML::Node ml = map_node();
    for (int i = uni(0, 2); i > 0; --i) {
      const auto& [key, values] = pick(kPodLabels);
      ml[pick(std::vector<std::string>{"", "", "", "k8s:", "any:"}) + key] = pick(values);
    }
    if (chance(0.25)) {
      ml[pick(std::vector<std::string>{"", "k8s:"}) + "io.kubernetes.pod.namespace"] =
          pick(ns_names_);
    }
    if (chance(0.1)) {
      const auto& [key, values] = pick(kNsLabels);
      ml["io.cilium.k8s.namespace.labels." + key] = pick(values);
    }
    if (chance(0.05)) {
      ml["io.cilium.k8s.policy.serviceaccount"] = pick(kServiceAccounts);
    }
    if (ml.size() > 0) {
      sel["matchLabels"] = ml;
    }
    if (chance(0.2)) {
      YAML::Node e = map_node();
      const bool ns_key = chance(0.3);
      const auto& [key, values] = pick(kPodLabels);
      e["key"] = ns_key ? std::string("io.kubernetes.pod.namespace") : key;
      const std::string op =
          pick(std::vector<std::string>{"In", "NotIn", "Exists", "DoesNotExist"});
      e["operator"] = op;
      if (op == "In" || op == "NotIn") {
        YAML::Node vs = seq_node();
        for (const std::string& v : some(ns_key ? ns_names_ : values, 1, 2)) {
          vs.push_back(v);
        }
        e["values"] = vs;
      }
      YAML::Node exprs = seq_node();
      exprs.push_back(e);
      sel["matchExpressions"] = exprs;
    }
    return flow_style(sel);
  }

  // --- cluster objects ----------------------------------------------------------------
  void make_namespaces() {
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

  void make_nodes() {
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

  void make_service_accounts() {
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

  void make_pods() {
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

  YAML::Node containers() {
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

  void make_network_sets() {
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

  void make_host_endpoints() {
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

  void make_tiers() {
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
      names = some(std::vector<std::string>{"security", "platform", "audit", "app-sec", "zz-late"},
                   1, 4);
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

  // --- policies -----------------------------------------------------------------------
  void make_policies() {
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
  void k8s_policy(int index) {
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

  YAML::Node k8s_rule(bool ingress) {
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

  YAML::Node k8s_peer() {
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

  YAML::Node k8s_port() {
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
  void calico_policy(int index, std::optional<std::string> in_tier = std::nullopt) {
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

  YAML::Node calico_rule() {
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
      std::ranges::transform(u, u.begin(),
                             [](char c) { return static_cast<char>(std::toupper(c)); });
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

  YAML::Node calico_ports(uint8_t protocol) {
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

  YAML::Node calico_peer(bool ported, uint8_t protocol, std::optional<int> ip_version) {
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

  // CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy; with `fqdn`, one whose egress
  // names DNS names.
  void cilium_policy(int index, bool fqdn) {
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

  YAML::Node cilium_spec(bool fqdn) {
    YAML::Node spec = map_node();
    spec["endpointSelector"] =
        fqdn && chance(0.5) ? flow_style(map_node()) : cilium_selector(false);
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

  YAML::Node cilium_rule(bool ingress, bool deny, bool fqdn) {
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
             some(std::vector<std::string>{"world", "cluster", "host", "remote-node", "all"}, 1,
                  2)) {
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

  YAML::Node cilium_port_rule(bool ingress, bool deny) {
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

policy::Flow ClusterGenerator::flow(const RandomCluster& c) {
  using namespace policy::ipproto;
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); };
  auto chance = [&](double p) { return std::bernoulli_distribution(p)(rng_); };
  auto pick = [&](const auto& v) -> const auto& {
    return v[static_cast<size_t>(uni(0, static_cast<int>(v.size()) - 1))];
  };
  const bool v6 = !c.v6.empty() && chance(0.25);
  const uint8_t family = v6 ? 6 : 4;
  std::vector<Cidr> nets;
  for (const Cidr& n : c.nets) {
    if (n.addr.family == family) {
      nets.push_back(n);
    }
  }
  const std::vector<IpAddr>& endpoints = v6 ? c.endpoints_v6 : c.endpoints_v4;
  const std::vector<IpAddr>& node_addresses = v6 ? c.nodes_v6 : c.nodes_v4;
  enum class From { Endpoint, Node, Anywhere };
  auto address = [&](From from) -> IpAddr {
    if (from == From::Endpoint && !endpoints.empty()) {
      return pick(endpoints);
    }
    if (from == From::Node && !node_addresses.empty()) {
      return pick(node_addresses);
    }
    const int r = uni(0, 99);
    if (r < 65 || nets.empty()) {
      return pick(v6 ? c.v6 : c.v4);
    }
    if (r < 95) {  // inside a net, at its ends, or just outside it
      const Cidr& n = pick(nets);
      switch (uni(0, 4)) {
        case 0:
          return n.addr;
        case 1:
          return last_in(n);
        case 2:
          return step(last_in(n), 1);
        case 3:
          return step(n.addr, -1);
        default: {
          IpAddr a = n.addr;
          for (size_t bit = n.prefix_len; bit < a.width_bits(); ++bit) {
            if (chance(0.5)) {
              a.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
            }
          }
          return a;
        }
      }
    }
    IpAddr a = v6 ? *IpAddr::parse("2001:db8::") : IpAddr{};
    for (size_t i = v6 ? 8 : 0; i < (v6 ? 16u : 4u); ++i) {
      a.bytes[i] = static_cast<uint8_t>(uni(0, 255));
    }
    return a;
  };
  auto near = [&](int port) -> uint16_t {  // the port, or one of its neighbours
    return static_cast<uint16_t>(
        std::clamp(port + pick(std::vector<int>{-1, 0, 0, 0, 1}), 0, 65535));
  };
  auto any_port = [&]() -> uint16_t {
    const int r = uni(0, 99);
    if (r < 60 && !c.ports.empty()) {
      return near(pick(c.ports).port);
    }
    if (r < 70) {
      return pick(std::vector<uint16_t>{0, 1, 65535});
    }
    return static_cast<uint16_t>(uni(1, 65535));
  };
  auto ported = [](uint8_t p) { return p == kTcp || p == kUdp || p == kSctp || p == kUdpLite; };

  policy::Flow f;
  // Mostly flows with an endpoint on one side at least, some between endpoints and nodes
  // (node exceptions, host and remote-node entities); the rest from anywhere.
  // With toFQDNs policies, mostly pods' egress to anywhere: where DNS names matter.
  const int from = uni(0, 99);
  const From src = from < (shape_.fqdn ? 80 : 45)   ? From::Endpoint
                   : from < (shape_.fqdn ? 85 : 55) ? From::Node
                                                    : From::Anywhere;
  const int to = uni(0, 99) + (shape_.fqdn ? 25 : 0);
  const From dst = src != From::Endpoint ? (to < 85 ? From::Endpoint : From::Anywhere)
                   : to < 45             ? From::Endpoint
                   : to < 60             ? From::Node
                                         : From::Anywhere;
  f.src = address(src);
  f.dst = address(dst);
  // Protocol and ports: aimed at what the rules and the destination's named ports say, or
  // anything.
  const auto named = c.named_ports.find(f.dst);
  const int r = uni(0, 99);
  if (r < 20 && named != c.named_ports.end()) {
    const RandomCluster::PortHint& h = pick(named->second);
    // Sometimes the number under another protocol: a name resolves per protocol.
    f.protocol = chance(0.7) ? h.protocol : pick(std::vector<uint8_t>{kTcp, kUdp, kSctp});
    f.dst_port = chance(0.8) ? h.port : near(h.port);
  } else if (r < 50 && !c.ports.empty()) {
    const RandomCluster::PortHint& h = pick(c.ports);
    f.protocol = h.protocol != 0 ? h.protocol : pick(std::vector<uint8_t>{kTcp, kUdp, kSctp});
    f.dst_port = near(h.port);
  } else if (r < 65 && !c.icmp.empty()) {
    const RandomCluster::IcmpHint& h = pick(c.icmp);
    f.protocol = chance(0.8) ? h.protocol : (v6 ? kIcmpV6 : kIcmp);
    f.icmp_type = chance(0.85) ? h.type : static_cast<uint8_t>(h.type + 1);
    f.icmp_code = chance(0.6) ? h.code : static_cast<uint8_t>(uni(0, 4));
  } else {
    const int p = uni(0, 99);
    if (p < 35) {
      f.protocol = kTcp;
    } else if (p < 57) {
      f.protocol = kUdp;
    } else if (p < 65) {
      f.protocol = kSctp;
    } else if (p < 80) {
      f.protocol = v6 ? kIcmpV6 : kIcmp;
    } else if (p < 83) {
      f.protocol = v6 ? kIcmp : kIcmpV6;  // the other family's
    } else if (p < 87) {
      f.protocol = kUdpLite;
    } else if (p < 95) {
      f.protocol = 47;  // GRE: no ports
    } else {
      f.protocol = static_cast<uint8_t>(uni(0, 255));
    }
    if (f.protocol == kIcmp || f.protocol == kIcmpV6) {
      f.icmp_type = static_cast<uint8_t>(uni(0, 255));
      f.icmp_code = static_cast<uint8_t>(uni(0, 255));
    } else if (ported(f.protocol)) {
      f.dst_port = any_port();
    } else if (chance(0.5)) {
      // A protocol without ports: whatever the key's port fields hold must not matter.
      f.src_port = static_cast<uint16_t>(uni(0, 65535));
      f.dst_port = static_cast<uint16_t>(uni(0, 65535));
    }
  }
  if (ported(f.protocol)) {
    // Source ports: Calico rules name them too, by number or by the source's port names.
    const auto src_named = c.named_ports.find(f.src);
    const int s = uni(0, 99);
    if (s < 10 && src_named != c.named_ports.end()) {
      f.src_port = pick(src_named->second).port;
    } else if (s < 35) {
      f.src_port = any_port();
    } else {
      f.src_port = static_cast<uint16_t>(uni(1024, 65535));
    }
  }
  if (shape_.fqdn && !c.dns_names.empty() && chance(0.7)) {
    f.fqdn = pick(c.dns_names);
  }
  return f;
}

std::string describe(const policy::Flow& f) {
  const bool icmp = f.protocol == policy::ipproto::kIcmp || f.protocol == policy::ipproto::kIcmpV6;
  std::string out = policy::protocol_name(f.protocol) + " " + f.src.to_string();
  if (!icmp) {
    out += " sport " + std::to_string(f.src_port);
  }
  out += " -> " + f.dst.to_string();
  if (icmp) {
    out += " type " + (f.icmp_type ? std::to_string(*f.icmp_type) : std::string("-")) + " code " +
           (f.icmp_code ? std::to_string(*f.icmp_code) : std::string("-"));
  } else {
    out += " dport " + std::to_string(f.dst_port);
  }
  if (f.fqdn) {
    out += " fqdn " + *f.fqdn;
  }
  return out;
}

}  // namespace palisade::testing
