// What the cluster's objects and rules are made of: metadata and labels, addresses and nets
// (remembered for flows), ports, and the selectors of the three dialects.
#include <algorithm>

#include "tests/random/random_cluster_internal.h"

namespace palisade::testing {

using namespace detail;
using policy::Cidr;
using policy::IpAddr;

namespace {

Cidr masked(const IpAddr& a, int len) {
  return *Cidr::parse(a.to_string() + "/" + std::to_string(len));
}

}  // namespace

void ClusterGenerator::Impl::emit(const YAML::Node& doc) {
  YAML::Emitter e;
  e << doc;
  out_.objects.push_back(std::string(e.c_str()) + "\n");
}

YAML::Node ClusterGenerator::Impl::metadata(const std::string& name, const std::string& ns,
                                            const YAML::Node& labels) {
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

YAML::Node ClusterGenerator::Impl::random_labels(const Vocab& vocab, double p) {
  YAML::Node labels = map_node();
  for (const auto& [key, values] : vocab) {
    if (chance(p)) {
      labels[key] = pick(values);
    }
  }
  return labels;
}

void ClusterGenerator::Impl::add_address(const IpAddr& a, Owner owner) {
  (a.family == 4 ? out_.v4 : out_.v6).push_back(a);
  if (owner == Owner::Endpoint) {
    (a.family == 4 ? out_.endpoints_v4 : out_.endpoints_v6).push_back(a);
  } else if (owner == Owner::Node) {
    (a.family == 4 ? out_.nodes_v4 : out_.nodes_v6).push_back(a);
  }
}

IpAddr ClusterGenerator::Impl::random_in(const Cidr& c) {
  IpAddr a = c.addr;
  for (size_t bit = c.prefix_len; bit < a.width_bits(); ++bit) {
    if (chance(0.5)) {
      a.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
    }
  }
  return a;
}

Cidr ClusterGenerator::Impl::random_net(uint8_t family) {
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

uint8_t ClusterGenerator::Impl::random_family() { return chance(0.8) ? 4 : 6; }

// A prefix inside `c`, strictly longer when `strict`; around a known address when one is
// inside, so that excepts cut out endpoints.
std::optional<Cidr> ClusterGenerator::Impl::except_inside(const Cidr& c, bool strict) {
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

// A port number for a rule of this protocol (0: TCP, UDP or SCTP), remembered for flows.
uint16_t ClusterGenerator::Impl::port_number(uint8_t protocol) {
  const uint16_t p = pick(kPortNumbers);
  ports_.insert({protocol, p});
  return p;
}

std::pair<uint16_t, uint16_t> ClusterGenerator::Impl::port_range(uint8_t protocol) {
  auto r = pick(kPortRanges);
  ports_.insert({protocol, r.first});
  ports_.insert({protocol, r.second});
  return r;
}

// A port name for a rule of this protocol (0: any): mostly one that endpoints declare for
// it, so that names resolve.
std::string ClusterGenerator::Impl::port_name(uint8_t protocol) {
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

void ClusterGenerator::Impl::named_port(const IpAddr& a, uint8_t protocol, uint16_t port) {
  out_.named_ports[a].push_back({protocol, port});
}

std::string ClusterGenerator::Impl::quoted_values(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    out += (out.empty() ? "'" : ", '") + v + "'";
  }
  return "{" + out + "}";
}

std::string ClusterGenerator::Impl::calico_term(const Vocab& vocab) {
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

std::string ClusterGenerator::Impl::calico_expr(const Vocab& vocab, int depth) {
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

Vocab ClusterGenerator::Impl::calico_endpoint_vocab() {
  Vocab v = kPodLabels;
  v.insert(v.end(), kSetLabels.begin(), kSetLabels.end());
  v.insert(v.end(), kHostLabels.begin(), kHostLabels.end());
  v.push_back({"projectcalico.org/namespace", ns_names_});
  v.push_back({"projectcalico.org/orchestrator", {"k8s"}});
  v.push_back({"projectcalico.org/serviceaccount", kServiceAccounts});
  return v;
}

Vocab ClusterGenerator::Impl::namespace_vocab() {
  Vocab v = kNsLabels;
  v.push_back({"projectcalico.org/name", ns_names_});
  v.push_back({"kubernetes.io/metadata.name", ns_names_});
  return v;
}

// A Kubernetes LabelSelector.
YAML::Node ClusterGenerator::Impl::label_selector(const Vocab& vocab, double p_empty) {
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
YAML::Node ClusterGenerator::Impl::cilium_selector(bool peer) {
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
    const std::string op = pick(std::vector<std::string>{"In", "NotIn", "Exists", "DoesNotExist"});
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

}  // namespace palisade::testing
