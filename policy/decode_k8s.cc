// networking.k8s.io/v1 NetworkPolicy, lowered into one default-tier policy at order 1000
// (docs/semantics.md, "Kubernetes NetworkPolicy").
#include "policy/decode_kinds.h"

namespace palisade::policy::detail {

namespace {

constexpr double kKubernetesPolicyOrder = 1000;

// One port entry of a rule: its protocol and the destination ports it admits.
struct PortEntry {
  std::optional<uint8_t> protocol;  // nullopt: any (a rule without ports)
  PortList ports;
};

std::vector<PortEntry> read_ports(const YamlReader& rule) {
  auto ports = rule.get("ports");
  std::vector<PortEntry> out;
  if (!ports || ports->items().empty()) {
    out.push_back({});  // missing or empty: every port of every protocol
    return out;
  }
  for (const YamlReader& p : ports->items()) {
    p.allow_only({"protocol", "port", "endPort"});
    PortEntry entry;
    entry.protocol = ipproto::kTcp;
    if (auto proto = p.get("protocol")) {
      const std::string name = proto->str();  // the API's enum: exact, case included
      if (name != "TCP" && name != "UDP" && name != "SCTP") {
        proto->fail("\"" + name + "\" is not TCP, UDP or SCTP");
      }
      entry.protocol = parse_protocol(name);
    }
    auto port = p.get("port");
    auto end_port = p.get("endPort");
    if (port && port->scalar_is_integer()) {
      auto first = static_cast<uint16_t>(port->integer(1, 65535));
      uint16_t last = first;
      if (end_port) {
        last = static_cast<uint16_t>(end_port->integer(1, 65535));
        if (last < first) {
          end_port->fail("endPort " + std::to_string(last) + " is below port " +
                         std::to_string(first));
        }
      }
      entry.ports.ranges.push_back({first, last});
    } else if (port) {
      if (end_port) {
        end_port->fail("endPort needs a numeric port, not the named port \"" + port->str() + "\"");
      }
      entry.ports.names.push_back(port->str());
    } else if (end_port) {
      end_port->fail("endPort needs port");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// A peer of `from`/`to`; nullopt stands for "every peer" (a rule without peers).
std::vector<std::optional<PeerMatch>> read_peers(const YamlReader& rule, std::string_view field,
                                                 const std::string& policy_ns) {
  auto peers = rule.get(field);
  std::vector<std::optional<PeerMatch>> out;
  if (!peers || peers->items().empty()) {
    out.emplace_back(std::nullopt);
    return out;
  }
  for (const YamlReader& p : peers->items()) {
    p.allow_only({"podSelector", "namespaceSelector", "ipBlock"});
    PeerMatch peer;
    auto pod_selector = p.get("podSelector");
    auto ns_selector = p.get("namespaceSelector");
    auto ip_block = p.get("ipBlock");
    if (ip_block) {
      if (pod_selector || ns_selector) {
        p.fail("ipBlock cannot be combined with podSelector or namespaceSelector");
      }
      ip_block->allow_only({"cidr", "except"});
      Cidr cidr = read_cidr(ip_block->at("cidr"));
      peer.nets.push_back(cidr);
      if (auto except = ip_block->get("except")) {
        for (const YamlReader& e : except->items()) {
          Cidr ex = read_cidr(e);
          if (ex.addr.family != cidr.addr.family || ex.prefix_len <= cidr.prefix_len ||
              !cidr.contains(ex.addr)) {
            e.fail(ex.to_string() + " is not strictly inside " + cidr.to_string());
          }
          peer.not_nets.push_back(ex);
        }
      }
    } else if (pod_selector || ns_selector) {
      EndpointSelector sel;
      sel.dialect = Dialect::Kubernetes;
      sel.scope.network_sets = false;
      sel.scope.host_endpoints = false;
      if (pod_selector) {
        sel.selector = read_label_selector(*pod_selector).value_or(Selector());
      }
      if (ns_selector) {
        sel.scope.kind = Scope::Kind::Namespaces;
        sel.scope.namespace_selector = read_label_selector(*ns_selector).value_or(Selector());
      } else {
        sel.scope.kind = Scope::Kind::Namespace;
        sel.scope.ns = policy_ns;
      }
      peer.selector = std::move(sel);
    } else {
      p.fail("a peer needs podSelector, namespaceSelector or ipBlock");
    }
    out.emplace_back(std::move(peer));
  }
  return out;
}

// One Kubernetes rule is the cross product of its peers and its port entries (as Calico
// converts it); every resulting rule keeps the origin of the rule it came from.
std::vector<Rule> read_rules(const YamlReader& spec, Direction dir, const std::string& ns) {
  std::vector<Rule> out;
  auto rules = spec.get(dir == Direction::Ingress ? "ingress" : "egress");
  if (!rules) {
    return out;
  }
  const std::string_view peer_field = dir == Direction::Ingress ? "from" : "to";
  for (const YamlReader& r : rules->items()) {
    r.allow_only({peer_field, "ports"});
    std::vector<std::optional<PeerMatch>> peers = read_peers(r, peer_field, ns);
    std::vector<PortEntry> ports = read_ports(r);
    for (const std::optional<PeerMatch>& peer : peers) {
      for (const PortEntry& port : ports) {
        Rule rule;
        rule.action = Action::Allow;
        rule.origin = r.path();
        if (port.protocol) {
          rule.protocols.push_back(*port.protocol);
        }
        PeerMatch& remote = dir == Direction::Ingress ? rule.source : rule.destination;
        if (peer) {
          remote = *peer;
        }
        rule.destination.ports = port.ports;  // ports are always the destination's
        out.push_back(std::move(rule));
      }
    }
  }
  return out;
}

// What a policy and the isolation held for it in its place share: identity, position and
// the pods it applies to.
Policy k8s_policy_header(const Meta& meta, const YamlReader& spec) {
  Policy p;
  p.kind = PolicyKind::KubernetesNetworkPolicy;
  p.ns = meta.ns;
  p.name = meta.name;
  p.display_name = "knp.default." + meta.name;
  p.tier = "default";
  p.order = kKubernetesPolicyOrder;
  p.source = meta.source;
  p.applies_to.dialect = Dialect::Kubernetes;
  p.applies_to.selector = read_label_selector(spec.at("podSelector")).value_or(Selector());
  p.applies_to.scope = Scope{Scope::Kind::Namespace, meta.ns, Selector(), false, false};
  return p;
}

}  // namespace

std::vector<Policy> decode_k8s_network_policy(const Meta& meta, const YamlReader& spec) {
  spec.allow_only({"podSelector", "policyTypes", "ingress", "egress"});
  Policy p = k8s_policy_header(meta, spec);
  if (!read_policy_types(spec.get("policyTypes"), p)) {
    // The API server's defaulting: Ingress always; Egress when egress rules are present.
    p.types_ingress = true;
    auto egress = spec.get("egress");
    p.types_egress = egress && !egress->items().empty();
  }
  p.ingress = read_rules(spec, Direction::Ingress, meta.ns);
  p.egress = read_rules(spec, Direction::Egress, meta.ns);
  return {std::move(p)};
}

std::vector<Policy> hold_k8s_network_policy(const Meta& meta, const YamlReader& spec) {
  Policy p = k8s_policy_header(meta, spec);
  try {
    if (!read_policy_types(spec.get("policyTypes"), p)) {
      p.types_ingress = true;
      p.types_egress = spec.get("egress").has_value();  // present at all, even unreadable
    }
  } catch (const DecodeFailure&) {
    p.types_ingress = p.types_egress = true;  // types unreadable: both directions
  }
  // No rules: a Kubernetes policy only allows, so isolation is all it could have denied.
  return {std::move(p)};
}

}  // namespace palisade::policy::detail
