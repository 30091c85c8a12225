// cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, lowered into
// default-tier policies at order 1000; deny rules form band 0, ahead of every allow
// (docs/semantics.md, "Cilium").
#include <charconv>

#include "policy/decode_kinds.h"

namespace palisade::policy::detail {

namespace {

constexpr double kCiliumPolicyOrder = 1000;
constexpr std::string_view kNamespaceLabel = "io.kubernetes.pod.namespace";

struct Context {
  const Meta& meta;
  bool clusterwide;
};

// Strips a Cilium label source (`k8s:`, `any:`, `container:`), and tells `reserved:` labels
// apart: they name entities, not labels.
std::string strip_source(const std::string& key) {
  for (std::string_view prefix : {"k8s:", "any:", "container:"}) {
    if (key.starts_with(prefix)) {
      return key.substr(prefix.size());
    }
  }
  return key;
}

std::optional<Entity> parse_entity(std::string_view name) {
  if (name == "world" || name == "world-ipv4" || name == "world-ipv6") {
    return Entity::World;
  }
  if (name == "cluster") {
    return Entity::Cluster;
  }
  if (name == "host") {
    return Entity::Host;
  }
  if (name == "remote-node") {
    return Entity::RemoteNode;
  }
  if (name == "all") {
    return Entity::All;
  }
  return std::nullopt;
}

// A CIDR peer (fromCIDR, toCIDR, fromCIDRSet, toCIDRSet) before its prefixes: in Cilium it
// selects only addresses outside the cluster, never an endpoint Cilium manages nor, in the
// default policy-cidr-match-mode, a node. The policy language's docs: "CIDR rules do not
// apply to traffic where both sides of the connection are either managed by Cilium or use an
// IP belonging to a node in the cluster". So the peer is its prefixes within the world entity;
// in the agent's `nodes` mode, within the world and the nodes (host and remote-node).
PeerMatch cidr_peer(const Context& ctx) {
  PeerMatch peer;
  peer.entities = ctx.meta.cilium_cidr_matches_nodes
                      ? std::vector<Entity>{Entity::World, Entity::Host, Entity::RemoteNode}
                      : std::vector<Entity>{Entity::World};
  return peer;
}

// A Cilium EndpointSelector: a label selector whose keys may carry a source prefix. A
// selector of exactly one `reserved:NAME` label selects that entity.
std::variant<EndpointSelector, Entity> read_endpoint_selector(const YamlReader& r,
                                                              const Context& ctx) {
  r.allow_only({"matchLabels", "matchExpressions"});
  Labels match_labels;
  std::optional<Entity> entity;
  if (auto ml = r.get("matchLabels")) {
    for (auto& [key, value] : ml->string_map()) {
      if (key.starts_with("reserved:")) {
        entity = parse_entity(key.substr(9));
        if (!entity) {
          ml->fail("reserved label \"" + key + "\" is not a supported entity",
                   ErrorCode::Unsupported);
        }
        continue;
      }
      match_labels[strip_source(key)] = value;
    }
  }
  std::vector<Selector::Requirement> expressions;
  if (auto me = r.get("matchExpressions")) {
    for (const YamlReader& item : me->items()) {
      item.allow_only({"key", "operator", "values"});
      Selector::Requirement req{strip_source(item.at("key").str()), item.at("operator").str(), {}};
      if (auto values = item.get("values")) {
        req.values = values->strings();
      }
      expressions.push_back(std::move(req));
    }
  }
  if (entity) {
    if (!match_labels.empty() || !expressions.empty()) {
      r.fail("a reserved: label cannot be combined with other labels", ErrorCode::Unsupported);
    }
    return *entity;
  }
  Result<Selector> sel = Selector::from_label_selector(match_labels, expressions);
  if (!sel) {
    r.fail(sel.error().field + ": " + sel.error().message);
  }
  EndpointSelector out;
  out.dialect = Dialect::Cilium;
  out.selector = sel.value();
  out.scope.network_sets = false;
  out.scope.host_endpoints = false;
  // A namespaced policy's selectors stay in its namespace unless they name one.
  if (!ctx.clusterwide && !out.selector.mentions_key(kNamespaceLabel)) {
    out.scope.kind = Scope::Kind::Namespace;
    out.scope.ns = ctx.meta.ns;
  }
  return out;
}

// matchName / matchPattern entries, as toFQDNs and rules.dns both write them.
std::vector<DnsRule> read_dns_rules(const YamlReader& list) {
  std::vector<DnsRule> out;
  for (const YamlReader& item : list.items()) {
    item.allow_only({"matchName", "matchPattern"});
    DnsRule d;
    if (auto n = item.get("matchName")) {
      d.match_name = n->str();
    }
    if (auto p = item.get("matchPattern")) {
      d.match_pattern = p->str();
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<PeerMatch> read_l3(const YamlReader& r, bool ingress, bool deny, const Context& ctx,
                               bool& had_l3) {
  const std::string from = ingress ? "from" : "to";
  std::vector<PeerMatch> out;
  for (const char* unsupported : {"Requires", "Groups", "Nodes", "Services"}) {
    if (auto f = r.get(from + unsupported)) {
      f->fail("is not supported", ErrorCode::Unsupported);
    }
  }
  if (auto endpoints = r.get(from + "Endpoints")) {
    had_l3 = true;
    for (const YamlReader& item : endpoints->items()) {
      PeerMatch peer;
      auto sel = read_endpoint_selector(item, ctx);
      if (auto* entity = std::get_if<Entity>(&sel)) {
        peer.entities = std::vector<Entity>{*entity};
      } else {
        peer.selector = std::get<EndpointSelector>(std::move(sel));
      }
      out.push_back(std::move(peer));
    }
  }
  if (auto cidrs = r.get(from + "CIDR")) {
    had_l3 = true;
    for (const YamlReader& item : cidrs->items()) {
      PeerMatch peer = cidr_peer(ctx);
      peer.nets.push_back(read_cidr(item));
      out.push_back(std::move(peer));
    }
  }
  if (auto sets = r.get(from + "CIDRSet")) {
    had_l3 = true;
    for (const YamlReader& item : sets->items()) {
      item.allow_only({"cidr", "except", "cidrGroupRef"});
      if (auto ref = item.get("cidrGroupRef")) {
        ref->fail("CiliumCIDRGroup references are not supported", ErrorCode::Unsupported);
      }
      PeerMatch peer = cidr_peer(ctx);
      const Cidr cidr = read_cidr(item.at("cidr"));
      peer.nets.push_back(cidr);
      if (auto except = item.get("except")) {
        for (const YamlReader& e : except->items()) {
          const Cidr ex = read_cidr(e);
          if (ex.addr.family != cidr.addr.family || ex.prefix_len < cidr.prefix_len ||
              !cidr.contains(ex.addr)) {
            e.fail(ex.to_string() + " is not inside " + cidr.to_string());
          }
          peer.not_nets.push_back(ex);
        }
      }
      out.push_back(std::move(peer));
    }
  }
  if (auto entities = r.get(from + "Entities")) {
    had_l3 = true;
    PeerMatch peer;
    peer.entities.emplace();
    for (const YamlReader& item : entities->items()) {
      std::optional<Entity> e = parse_entity(item.str());
      if (!e) {
        item.fail("entity \"" + item.str() +
                      "\" is not supported (world, cluster, host, remote-node, all)",
                  ErrorCode::Unsupported);
      }
      peer.entities->push_back(*e);
    }
    if (!peer.entities->empty()) {
      out.push_back(std::move(peer));
    }
  }
  if (!ingress) {
    if (auto fqdns = r.get("toFQDNs")) {
      if (deny) {
        fqdns->fail("toFQDNs is not allowed in egressDeny");
      }
      had_l3 = true;
      PeerMatch peer;
      peer.fqdns = read_dns_rules(*fqdns);
      if (!peer.fqdns->empty()) {
        out.push_back(std::move(peer));
      }
    }
  }
  return out;
}

// The L4 alternatives of a rule: each port of each toPorts entry (with that entry's L7
// rules), and each ICMP field. nullopt: no L4 part, every port.
struct L4 {
  std::vector<uint8_t> protocols;
  PortList ports;
  std::optional<IcmpMatch> icmp;
  std::vector<HttpRule> http;
  std::vector<DnsRule> dns;
};

std::vector<HttpRule> read_http(const YamlReader& r) {
  std::vector<HttpRule> out;
  for (const YamlReader& item : r.items()) {
    item.allow_only({"method", "path", "host", "headers", "headerMatches"});
    HttpRule h;
    if (auto m = item.get("method")) {
      h.method = m->str();
    }
    if (auto p = item.get("path")) {
      h.path = p->str();
    }
    if (auto host = item.get("host")) {
      h.host = host->str();
    }
    if (auto headers = item.get("headers")) {
      h.headers = headers->strings();
    }
    if (auto hm = item.get("headerMatches")) {
      hm->fail("headerMatches is not supported", ErrorCode::Unsupported);
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::optional<std::vector<L4>> read_l4(const YamlReader& r, bool ingress, bool deny) {
  auto to_ports = r.get("toPorts");
  auto icmps = r.get("icmps");
  if (!to_ports && !icmps) {
    return std::nullopt;
  }
  std::vector<L4> out;
  if (to_ports) {
    for (const YamlReader& entry : to_ports->items()) {
      entry.allow_only(
          {"ports", "rules", "serverNames", "listener", "terminatingTLS", "originatingTLS"});
      for (const char* tls : {"serverNames", "listener", "terminatingTLS", "originatingTLS"}) {
        if (auto f = entry.get(tls)) {
          f->fail("is not supported", ErrorCode::Unsupported);
        }
      }
      std::vector<HttpRule> http;
      std::vector<DnsRule> dns;
      if (auto rules = entry.get("rules")) {
        if (deny) {
          rules->fail("L7 rules are not allowed in deny rules");
        }
        rules->allow_only({"http", "dns", "kafka", "l7proto", "l7"});
        for (const char* other : {"kafka", "l7proto", "l7"}) {
          if (auto f = rules->get(other)) {
            f->fail("is not supported", ErrorCode::Unsupported);
          }
        }
        if (auto h = rules->get("http")) {
          http = read_http(*h);
        }
        if (auto d = rules->get("dns")) {
          if (ingress) {
            d->fail("DNS rules are not allowed on ingress");
          }
          dns = read_dns_rules(*d);
        }
      }
      auto ports = entry.get("ports");
      std::vector<YamlReader> port_items = ports ? ports->items() : std::vector<YamlReader>{};
      if (port_items.empty()) {
        out.push_back(L4{{ipproto::kTcp, ipproto::kUdp, ipproto::kSctp}, {}, {}, http, dns});
      }
      for (const YamlReader& p : port_items) {
        p.allow_only({"port", "endPort", "protocol"});
        L4 l4{{}, {}, {}, http, dns};
        std::string proto = p.get("protocol") ? p.at("protocol").str() : "ANY";
        if (proto == "ANY") {
          l4.protocols = {ipproto::kTcp, ipproto::kUdp, ipproto::kSctp};
        } else if (proto == "TCP" || proto == "UDP" || proto == "SCTP") {
          l4.protocols = {*parse_protocol(proto)};
        } else {
          p.at("protocol").fail("\"" + proto + "\" is not TCP, UDP, SCTP or ANY");
        }
        if (!http.empty() && proto != "TCP" && proto != "ANY") {
          p.at("protocol").fail("HTTP rules apply to TCP only, not " + proto);
        }
        if (auto port = p.get("port")) {
          if (port->scalar_is_integer()) {
            auto first = static_cast<uint16_t>(port->integer(0, 65535));
            uint16_t last = first;
            if (auto end = p.get("endPort")) {
              last = static_cast<uint16_t>(end->integer(first, 65535));
            }
            if (first != 0) {  // port 0 means every port
              l4.ports.ranges.push_back({first, last});
            }
          } else {
            l4.ports.names.push_back(port->str());
          }
        }
        out.push_back(std::move(l4));
      }
    }
  }
  if (icmps) {
    for (const YamlReader& entry : icmps->items()) {
      entry.allow_only({"fields"});
      for (const YamlReader& f : entry.at("fields").items()) {
        f.allow_only({"type", "family"});
        std::string family = f.get("family") ? f.at("family").str() : "IPv4";
        if (family != "IPv4" && family != "IPv6") {
          f.at("family").fail("\"" + family + "\" is not IPv4 or IPv6");
        }
        L4 l4;
        l4.protocols = {family == "IPv4" ? ipproto::kIcmp : ipproto::kIcmpV6};
        l4.icmp = IcmpMatch{static_cast<uint8_t>(f.at("type").integer(0, 255)), std::nullopt};
        out.push_back(std::move(l4));
      }
    }
  }
  return out;
}

// One Cilium rule is the cross product of its L3 alternatives and its L4 alternatives.
void lower_rules(const YamlReader& list, bool ingress, bool deny, const Context& ctx,
                 std::vector<Rule>& out) {
  for (const YamlReader& r : list.items()) {
    const std::string from = ingress ? "from" : "to";
    if (ingress) {
      r.allow_only({"fromEndpoints", "fromRequires", "fromCIDR", "fromCIDRSet", "fromEntities",
                    "fromGroups", "fromNodes", "toPorts", "icmps", "authentication"});
    } else {
      r.allow_only({"toEndpoints", "toRequires", "toCIDR", "toCIDRSet", "toEntities", "toGroups",
                    "toNodes", "toFQDNs", "toServices", "toPorts", "icmps", "authentication"});
    }
    if (auto auth = r.get("authentication")) {
      auth->fail("mutual authentication is not supported", ErrorCode::Unsupported);
    }
    bool had_l3 = false;
    std::vector<PeerMatch> peers = read_l3(r, ingress, deny, ctx, had_l3);
    if (!had_l3) {
      peers.emplace_back();  // no L3 part: every peer
    }
    std::optional<std::vector<L4>> l4s = read_l4(r, ingress, deny);
    std::vector<L4> alternatives = l4s ? *l4s : std::vector<L4>{L4{}};
    for (const PeerMatch& peer : peers) {
      for (const L4& l4 : alternatives) {
        Rule rule;
        rule.action = deny ? Action::Deny : Action::Allow;
        rule.origin = r.path();
        rule.protocols = l4.protocols;
        rule.icmp = l4.icmp;
        rule.http = l4.http;
        rule.dns = l4.dns;
        PeerMatch& remote = ingress ? rule.source : rule.destination;
        remote = peer;
        rule.destination.ports = l4.ports;
        out.push_back(std::move(rule));
      }
    }
  }
}

// What a policy and the isolation held for it in its place share: identity, position and
// the endpoints it applies to.
Policy cilium_policy_header(const YamlReader& spec, const Context& ctx) {
  Policy base;
  base.kind = ctx.clusterwide ? PolicyKind::CiliumClusterwideNetworkPolicy
                              : PolicyKind::CiliumNetworkPolicy;
  base.ns = ctx.clusterwide ? std::string() : ctx.meta.ns;
  base.name = ctx.meta.name;
  base.display_name = (ctx.clusterwide ? "ccnp." : "cnp.") + ctx.meta.name;
  base.tier = "default";
  base.order = kCiliumPolicyOrder;
  base.source = ctx.meta.source;
  auto sel = read_endpoint_selector(spec.at("endpointSelector"), ctx);
  if (std::holds_alternative<Entity>(sel)) {
    spec.at("endpointSelector")
        .fail("selecting reserved identities is not supported", ErrorCode::Unsupported);
  }
  base.applies_to = std::get<EndpointSelector>(std::move(sel));
  if (!ctx.clusterwide) {
    base.applies_to.scope.kind = Scope::Kind::Namespace;  // always its own namespace
    base.applies_to.scope.ns = ctx.meta.ns;
  }
  return base;
}

std::vector<Policy> lower_spec(const YamlReader& spec, const Context& ctx) {
  spec.allow_only({"endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress",
                   "egressDeny", "labels", "description", "enableDefaultDeny"});
  if (auto node_selector = spec.get("nodeSelector")) {
    node_selector->fail("host policies (nodeSelector) are not supported", ErrorCode::Unsupported);
  }
  Policy base = cilium_policy_header(spec, ctx);
  auto non_empty = [&](const char* field) {
    auto f = spec.get(field);
    return f && !f->items().empty();
  };
  base.types_ingress = non_empty("ingress") || non_empty("ingressDeny");
  base.types_egress = non_empty("egress") || non_empty("egressDeny");
  base.isolates_ingress = base.types_ingress;
  base.isolates_egress = base.types_egress;
  if (auto dd = spec.get("enableDefaultDeny")) {
    dd->allow_only({"ingress", "egress"});
    if (auto in = dd->get("ingress")) {
      base.isolates_ingress = base.types_ingress && in->boolean();
    }
    if (auto eg = dd->get("egress")) {
      base.isolates_egress = base.types_egress && eg->boolean();
    }
  }
  Policy allow = base;
  Policy deny = base;
  deny.band = 0;
  if (auto f = spec.get("ingress")) {
    lower_rules(*f, true, false, ctx, allow.ingress);
  }
  if (auto f = spec.get("egress")) {
    lower_rules(*f, false, false, ctx, allow.egress);
  }
  if (auto f = spec.get("ingressDeny")) {
    lower_rules(*f, true, true, ctx, deny.ingress);
  }
  if (auto f = spec.get("egressDeny")) {
    lower_rules(*f, false, true, ctx, deny.egress);
  }
  std::vector<Policy> out;
  if (!deny.ingress.empty() || !deny.egress.empty()) {
    out.push_back(std::move(deny));
  }
  out.push_back(std::move(allow));
  return out;
}

}  // namespace

std::vector<Policy> decode_cilium_policy(const Meta& meta, const YamlReader& doc) {
  Context ctx{meta, meta.kind == "CiliumClusterwideNetworkPolicy"};
  std::vector<Policy> out;
  auto spec = doc.get("spec");
  auto specs = doc.get("specs");
  if (!spec && !specs) {
    doc.fail("a Cilium policy needs spec or specs", ErrorCode::MissingField);
  }
  if (spec) {
    out = lower_spec(*spec, ctx);
  }
  if (specs) {
    for (const YamlReader& s : specs->items()) {
      for (Policy& p : lower_spec(s, ctx)) {
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

// The isolation held in place of a rejected Cilium policy: each spec's endpoints isolated in
// the directions the spec names. A direction with deny rules is denied whole, ahead of
// every allow (band 0), since those denies would have overridden any allow.
std::vector<Policy> hold_cilium_policy(const Meta& meta, const YamlReader& doc) {
  Context ctx{meta, meta.kind == "CiliumClusterwideNetworkPolicy"};
  std::vector<YamlReader> specs;
  if (auto spec = doc.get("spec")) {
    specs.push_back(*spec);
  }
  if (auto list = doc.get("specs")) {
    for (const YamlReader& s : list->items()) {
      specs.push_back(s);
    }
  }
  if (specs.empty()) {
    doc.fail("a Cilium policy needs spec or specs", ErrorCode::MissingField);
  }
  std::vector<Policy> out;
  for (const YamlReader& spec : specs) {
    if (auto node_selector = spec.get("nodeSelector")) {
      node_selector->fail("host policies (nodeSelector) are not supported", ErrorCode::Unsupported);
    }
    Policy allow = cilium_policy_header(spec, ctx);
    Policy deny = allow;
    deny.band = 0;
    allow.types_ingress = spec.has("ingress") || spec.has("ingressDeny");
    allow.types_egress = spec.has("egress") || spec.has("egressDeny");
    for (Direction d : {Direction::Ingress, Direction::Egress}) {
      if (spec.has(d == Direction::Ingress ? "ingressDeny" : "egressDeny")) {
        Rule rule;
        rule.action = Action::Deny;
        rule.origin = d == Direction::Ingress ? "spec.ingressDeny" : "spec.egressDeny";
        (d == Direction::Ingress ? deny.ingress : deny.egress).push_back(std::move(rule));
      }
    }
    deny.types_ingress = !deny.ingress.empty();
    deny.types_egress = !deny.egress.empty();
    deny.isolates_ingress = deny.isolates_egress = false;  // the allow half isolates
    if (deny.types_ingress || deny.types_egress) {
      out.push_back(std::move(deny));
    }
    // No rules: isolation alone, whatever enableDefaultDeny said (it may not be readable).
    allow.isolates_ingress = allow.types_ingress;
    allow.isolates_egress = allow.types_egress;
    out.push_back(std::move(allow));
  }
  return out;
}

}  // namespace palisade::policy::detail
