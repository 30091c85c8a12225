// Calico kinds, under projectcalico.org/v3 and crd.projectcalico.org/v1 (the same schema):
// NetworkPolicy, GlobalNetworkPolicy, Tier, NetworkSet, GlobalNetworkSet, HostEndpoint.
#include <charconv>
#include <limits>

#include "policy/decode_kinds.h"

namespace palisade::policy::detail {

namespace {

bool supports_ports(const std::vector<uint8_t>& protocols) {
  return protocols.size() == 1 && (protocols[0] == ipproto::kTcp || protocols[0] == ipproto::kUdp ||
                                   protocols[0] == ipproto::kSctp);
}

// "80", 80, "8000:9000", or a port name.
PortList read_calico_ports(const YamlReader& r) {
  PortList out;
  for (const YamlReader& item : r.items()) {
    std::string text = item.str();
    size_t colon = text.find(':');
    auto number = [&](std::string_view s) -> std::optional<uint16_t> {
      unsigned v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > 65535) {
        return std::nullopt;
      }
      return static_cast<uint16_t>(v);
    };
    if (colon != std::string::npos) {
      auto first = number(std::string_view(text).substr(0, colon));
      auto last = number(std::string_view(text).substr(colon + 1));
      if (!first || !last || *first > *last) {
        item.fail("\"" + text + "\" is not a port range first:last within 0-65535");
      }
      out.ranges.push_back({*first, *last});
    } else if (auto n = number(text)) {
      out.ranges.push_back({*n, *n});
    } else if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0])) != 0) {
      item.fail("\"" + text + "\" is not a port, a range or a port name");
    } else {
      out.names.push_back(text);
    }
  }
  return out;
}

IcmpMatch read_icmp(const YamlReader& r) {
  r.allow_only({"type", "code"});
  IcmpMatch m;
  if (auto type = r.get("type")) {
    m.type = static_cast<uint8_t>(type->integer(0, 254));
  }
  if (auto code = r.get("code")) {
    if (!m.type) {
      code->fail("code needs type");
    }
    m.code = static_cast<uint8_t>(code->integer(0, 255));
  }
  return m;
}

EndpointSelector scoped_selector(Selector selector, const Meta& meta, bool global_policy) {
  EndpointSelector sel;
  sel.dialect = Dialect::Calico;
  sel.selector = std::move(selector);
  if (global_policy) {
    sel.scope.kind = Scope::Kind::AnyNamespace;
  } else {
    sel.scope.kind = Scope::Kind::Namespace;
    sel.scope.ns = meta.ns;
  }
  return sel;
}

PeerMatch read_entity_rule(const YamlReader& r, const Meta& meta, bool global_policy) {
  r.allow_only({"nets", "notNets", "selector", "notSelector", "namespaceSelector",
                "serviceAccounts", "ports", "notPorts", "services"});
  PeerMatch peer;
  if (auto nets = r.get("nets")) {
    peer.nets = read_cidrs(*nets);
  }
  if (auto not_nets = r.get("notNets")) {
    peer.not_nets = read_cidrs(*not_nets);
  }
  if (auto services = r.get("services")) {
    services->fail("service matches are not supported yet", ErrorCode::Unsupported);
  }
  auto selector = r.get("selector");
  auto ns_selector = r.get("namespaceSelector");
  auto service_accounts = r.get("serviceAccounts");
  std::optional<Selector> ns_sel;
  if (ns_selector) {
    ns_sel = read_calico_selector(*ns_selector);
  }
  auto with_namespace = [&](EndpointSelector sel) {
    if (ns_sel) {
      if (ns_sel->is_global()) {
        sel.scope.kind = Scope::Kind::NonNamespaced;
      } else {
        sel.scope.kind = Scope::Kind::Namespaces;
        sel.scope.namespace_selector = *ns_sel;
      }
    }
    return sel;
  };
  auto not_selector = r.get("notSelector");
  // libcalico-go (updateprocessors/rules.go, getEndpointSelector) scopes a rule's selector to
  // the namespace "as soon as _any_ of the selector fields are used, including NotSelector":
  // with only notSelector, the selector becomes `projectcalico.org/namespace == '<ns>'` in a
  // namespaced policy, so the rule matches that namespace's endpoints the notSelector does not
  // select, and no other address. A global policy has no namespace to scope to: there
  // notSelector alone matches every address it does not select.
  const bool scoped_by_not_selector = not_selector && !global_policy;
  if (selector || ns_selector || service_accounts || scoped_by_not_selector) {
    EndpointSelector sel = with_namespace(scoped_selector(
        selector ? read_calico_selector(*selector) : Selector(), meta, global_policy));
    if (service_accounts) {
      service_accounts->allow_only({"names", "selector"});
      if (auto names = service_accounts->get("names")) {
        sel.service_account_names = names->strings();
      }
      if (auto sa_sel = service_accounts->get("selector")) {
        sel.service_account_selector = read_calico_selector(*sa_sel);
      }
    }
    peer.selector = std::move(sel);
  }
  if (not_selector) {
    peer.not_selector =
        with_namespace(scoped_selector(read_calico_selector(*not_selector), meta, global_policy));
  }
  if (auto ports = r.get("ports")) {
    peer.ports = read_calico_ports(*ports);
  }
  if (auto not_ports = r.get("notPorts")) {
    peer.not_ports = read_calico_ports(*not_ports);
  }
  return peer;
}

Rule read_rule(const YamlReader& r, const Meta& meta, bool global_policy) {
  r.allow_only({"action", "protocol", "notProtocol", "icmp", "notICMP", "ipVersion", "source",
                "destination", "http", "metadata"});
  Rule rule;
  rule.origin = r.path();
  std::string action = r.at("action").str();
  if (action == "Allow") {
    rule.action = Action::Allow;
  } else if (action == "Deny") {
    rule.action = Action::Deny;
  } else if (action == "Pass") {
    rule.action = Action::Pass;
  } else if (action == "Log") {
    rule.action = Action::Log;
  } else {
    r.at("action").fail("\"" + action + "\" is not Allow, Deny, Pass or Log");
  }
  if (auto proto = r.get("protocol")) {
    rule.protocols.push_back(read_protocol(*proto));
  }
  if (auto proto = r.get("notProtocol")) {
    rule.not_protocols.push_back(read_protocol(*proto));
  }
  if (auto version = r.get("ipVersion")) {
    int64_t v = version->integer(4, 6);
    if (v == 5) {
      version->fail("must be 4 or 6");
    }
    rule.ip_version = static_cast<uint8_t>(v);
  }
  for (const char* field : {"icmp", "notICMP"}) {
    auto icmp = r.get(field);
    if (!icmp) {
      continue;
    }
    bool icmp_protocol = rule.protocols.size() == 1 && (rule.protocols[0] == ipproto::kIcmp ||
                                                        rule.protocols[0] == ipproto::kIcmpV6);
    if (!icmp_protocol) {
      icmp->fail("needs protocol ICMP or ICMPv6");
    }
    (std::string(field) == "icmp" ? rule.icmp : rule.not_icmp) = read_icmp(*icmp);
  }
  for (const char* field : {"protocol", "notProtocol"}) {
    const std::vector<uint8_t>& p =
        std::string(field) == "protocol" ? rule.protocols : rule.not_protocols;
    if (!p.empty() && rule.ip_version &&
        ((p[0] == ipproto::kIcmp && *rule.ip_version != 4) ||
         (p[0] == ipproto::kIcmpV6 && *rule.ip_version != 6))) {
      r.at(field).fail(protocol_name(p[0]) + " needs ipVersion " +
                       (p[0] == ipproto::kIcmp ? "4" : "6"));
    }
  }
  if (auto http = r.get("http")) {
    http->fail("Calico application-layer http matches are not supported", ErrorCode::Unsupported);
  }
  if (auto source = r.get("source")) {
    rule.source = read_entity_rule(*source, meta, global_policy);
  }
  if (auto destination = r.get("destination")) {
    rule.destination = read_entity_rule(*destination, meta, global_policy);
  }
  // Calico's validation: ports only with a protocol that has them.
  for (const char* side : {"source", "destination"}) {
    const PeerMatch& peer = std::string(side) == "source" ? rule.source : rule.destination;
    for (const char* field : {"ports", "notPorts"}) {
      const PortList& ports = std::string(field) == "ports" ? peer.ports : peer.not_ports;
      if (!ports.empty() && !supports_ports(rule.protocols)) {
        r.at(side).at(field).fail(
            "ports need protocol TCP, UDP or SCTP on the rule (protocol is " +
            (rule.protocols.empty() ? std::string("not set") : protocol_name(rule.protocols[0])) +
            ")");
      }
    }
    for (const char* field : {"nets", "notNets"}) {
      const std::vector<Cidr>& nets = std::string(field) == "nets" ? peer.nets : peer.not_nets;
      for (const Cidr& net : nets) {
        if (rule.ip_version && net.addr.family != *rule.ip_version) {
          r.at(side).at(field).fail(net.to_string() + " is not an IPv" +
                                    std::to_string(*rule.ip_version) + " net (ipVersion)");
        }
      }
    }
  }
  return rule;
}

// What a policy and the isolation held for it in its place share: identity, and the
// endpoints it applies to. Position (tier, order) is read by each.
Policy calico_policy_header(const Meta& meta, const YamlReader& spec) {
  const bool global_policy = meta.kind == "GlobalNetworkPolicy";
  Policy p;
  p.kind = global_policy ? PolicyKind::CalicoGlobalNetworkPolicy : PolicyKind::CalicoNetworkPolicy;
  p.ns = global_policy ? std::string() : meta.ns;
  p.name = meta.name;
  p.display_name = meta.name;
  p.source = meta.source;
  p.applies_to =
      scoped_selector(spec.get("selector") ? read_calico_selector(spec.at("selector")) : Selector(),
                      meta, global_policy);
  p.applies_to.scope.network_sets = false;
  p.applies_to.scope.host_endpoints = global_policy;
  if (auto ns_selector = spec.get("namespaceSelector"); ns_selector && global_policy) {
    Selector sel = read_calico_selector(*ns_selector);
    if (sel.is_global()) {
      ns_selector->fail(
          "global() selects non-namespaced peers in rules; a policy's "
          "namespaceSelector selects namespaces");
    } else if (!sel.is_all()) {
      p.applies_to.scope.kind = Scope::Kind::Namespaces;
      p.applies_to.scope.namespace_selector = sel;
      p.applies_to.scope.host_endpoints = false;
    }
  }
  if (auto sa_selector = spec.get("serviceAccountSelector")) {
    p.applies_to.service_account_selector = read_calico_selector(*sa_selector);
  }
  return p;
}

// Calico's inference when `types` is missing: Egress alone when only egress rules exist,
// both when both do, otherwise Ingress.
void infer_calico_types(Policy& p, bool has_ingress, bool has_egress) {
  p.types_egress = has_egress;
  p.types_ingress = has_ingress || !has_egress;
}

}  // namespace

std::vector<Policy> decode_calico_policy(const Meta& meta, const YamlReader& spec) {
  const bool global_policy = meta.kind == "GlobalNetworkPolicy";
  if (global_policy) {
    spec.allow_only({"order", "tier", "selector", "namespaceSelector", "serviceAccountSelector",
                     "types", "ingress", "egress", "doNotTrack", "preDNAT", "applyOnForward",
                     "performanceHints"});
  } else {
    spec.allow_only({"order", "tier", "selector", "serviceAccountSelector", "types", "ingress",
                     "egress", "performanceHints"});
  }
  std::string tier = "default";
  if (auto t = spec.get("tier")) {
    tier = t->str();
  }
  std::optional<double> order;
  if (auto o = spec.get("order")) {
    order = o->number();
  }
  for (const char* field : {"doNotTrack", "preDNAT"}) {
    if (auto flag = spec.get(field); flag && flag->boolean()) {
      flag->fail("untracked and pre-DNAT policies are not supported", ErrorCode::Unsupported);
    }
  }
  Policy p = calico_policy_header(meta, spec);
  p.tier = tier;
  p.order = order;
  if (auto ingress = spec.get("ingress")) {
    for (const YamlReader& r : ingress->items()) {
      p.ingress.push_back(read_rule(r, meta, global_policy));
    }
  }
  if (auto egress = spec.get("egress")) {
    for (const YamlReader& r : egress->items()) {
      p.egress.push_back(read_rule(r, meta, global_policy));
    }
  }
  if (!read_policy_types(spec.get("types"), p)) {
    infer_calico_types(p, !p.ingress.empty(), !p.egress.empty());
  }
  return {std::move(p)};
}

std::vector<Policy> hold_calico_policy(const Meta& meta, const YamlReader& spec) {
  Policy p = calico_policy_header(meta, spec);
  // Its place: the tier it names, at its order. An order that cannot be read puts it first
  // in the tier, so that nothing of the tier decides before it. A tier that cannot be read
  // is the default tier's.
  try {
    if (auto tier = spec.get("tier")) {
      p.tier = tier->str();
    }
  } catch (const DecodeFailure&) {
    p.tier = "default";
  }
  try {
    if (auto order = spec.get("order")) {
      p.order = order->number();
    }
  } catch (const DecodeFailure&) {
    p.order = -std::numeric_limits<double>::infinity();
  }
  try {
    if (!read_policy_types(spec.get("types"), p)) {
      auto has_rules = [&](const char* field) {
        auto f = spec.get(field);
        return f && (!f->is_sequence() || !f->items().empty());
      };
      infer_calico_types(p, has_rules("ingress"), has_rules("egress"));
    }
  } catch (const DecodeFailure&) {
    p.types_ingress = p.types_egress = true;  // types unreadable: both directions
  }
  // A Calico policy may deny and pass as well as allow: in its place, everything it could
  // decide is denied, so no later policy or tier can allow what it might have denied.
  for (Direction d : {Direction::Ingress, Direction::Egress}) {
    if (p.has_type(d)) {
      Rule deny;
      deny.action = Action::Deny;
      deny.origin = d == Direction::Ingress ? "spec.ingress" : "spec.egress";
      (d == Direction::Ingress ? p.ingress : p.egress).push_back(std::move(deny));
    }
  }
  return {std::move(p)};
}

Tier decode_calico_tier(const Meta& meta, const YamlReader& spec) {
  spec.allow_only({"order", "defaultAction"});
  Tier t{meta.name, std::nullopt, Action::Deny, meta.source};
  if (auto order = spec.get("order")) {
    t.order = order->number();
  }
  if (auto action = spec.get("defaultAction")) {
    std::string a = action->str();
    if (a == "Pass") {
      t.default_action = Action::Pass;
    } else if (a != "Deny") {
      action->fail("\"" + a + "\" is not Deny or Pass");
    }
  }
  if (meta.name == "default" && t.order && *t.order != kDefaultTierOrder) {
    spec.at("order").fail("the default tier's order is fixed at 1000000");
  }
  return t;
}

NetworkSet decode_calico_network_set(const Meta& meta, const YamlReader& spec) {
  spec.allow_only({"nets", "allowedEgressDomains"});
  NetworkSet set{
      meta.kind == "GlobalNetworkSet" ? std::string() : meta.ns, meta.name, meta.labels, {}};
  if (auto nets = spec.get("nets")) {
    set.nets = read_cidrs(*nets);
  }
  if (auto domains = spec.get("allowedEgressDomains")) {
    domains->fail("domain network sets are not supported", ErrorCode::Unsupported);
  }
  return set;
}

Endpoint decode_calico_host_endpoint(const Meta& meta, const YamlReader& spec) {
  spec.allow_only({"node", "interfaceName", "expectedIPs", "profiles", "ports"});
  Endpoint ep;
  ep.kind = EndpointKind::Host;
  ep.name = meta.name;
  ep.labels = meta.labels;
  ep.source = meta.source;
  ep.node = spec.at("node").str();
  if (auto ips = spec.get("expectedIPs")) {
    for (const YamlReader& item : ips->items()) {
      std::string text = item.str();
      std::optional<IpAddr> ip = IpAddr::parse(text);
      if (!ip) {
        item.fail(text + " is not an IP address");
      }
      ep.ips.push_back(*ip);
    }
  }
  if (!spec.has("interfaceName") && ep.ips.empty()) {
    spec.fail("a host endpoint needs interfaceName or expectedIPs", ErrorCode::MissingField);
  }
  if (auto profiles = spec.get("profiles")) {
    ep.profiles = profiles->strings();
  }
  if (auto ports = spec.get("ports")) {
    for (const YamlReader& p : ports->items()) {
      p.allow_only({"name", "port", "protocol"});
      NamedPort np;
      np.name = p.at("name").str();
      np.port = static_cast<uint16_t>(p.at("port").integer(1, 65535));
      np.protocol = read_protocol(p.at("protocol"));
      ep.named_ports.push_back(std::move(np));
    }
  }
  return ep;
}

}  // namespace palisade::policy::detail
