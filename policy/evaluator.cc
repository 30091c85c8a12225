#include "policy/evaluator.h"

#include <algorithm>

#include "policy/dns_name.h"
#include "policy/resolver.h"

namespace palisade::policy {

namespace {

using ipproto::has_ports;
using ipproto::is_icmp;

// Everything a rule needs to know about the flow and who is judging it.
struct MatchContext {
  const Snapshot& snap;
  const Flow& flow;
  const Endpoint& judged;         // whose policy this is
  const Endpoint* src = nullptr;  // endpoints owning the flow's addresses, if any
  const Endpoint* dst = nullptr;
};

bool selector_matches(const MatchContext& ctx, const EndpointSelector& sel, const IpAddr& ip) {
  return std::ranges::any_of(ctx.snap.selectables, [&](const Selectable& s) {
    return s.owns(ip) && selects(ctx.snap, sel, s);
  });
}

bool entity_matches(const MatchContext& ctx, Entity e, const IpAddr& ip) {
  const Endpoint* ep = ctx.snap.endpoint_at(ip);
  const bool workload = ep != nullptr && ep->kind == EndpointKind::Workload;
  const Node* node = ctx.snap.node_at(ip);
  switch (e) {
    case Entity::All:
      return true;
    case Entity::World:
      return !workload && node == nullptr;
    case Entity::Cluster:
      return workload || node != nullptr;
    case Entity::Host:
      return node != nullptr && node->name == ctx.judged.node;
    case Entity::RemoteNode:
      return node != nullptr && node->name != ctx.judged.node;
  }
  return false;
}

bool port_listed(const MatchContext& ctx, const PortList& list, uint16_t port,
                 const Endpoint* owner) {
  if (std::ranges::any_of(list.ranges, [&](const PortRange& r) { return r.contains(port); })) {
    return true;
  }
  if (owner == nullptr) {
    return false;  // a named port only ever resolves on an endpoint
  }
  return std::ranges::any_of(list.names, [&](const std::string& name) {
    return std::ranges::any_of(owner->named_ports, [&](const NamedPort& np) {
      return np.name == name && np.protocol == ctx.flow.protocol && np.port == port;
    });
  });
}

bool peer_matches(const MatchContext& ctx, const PeerMatch& m, const IpAddr& ip, uint16_t port,
                  const Endpoint* owner, bool is_destination) {
  if (m.matches_nothing) {
    return false;
  }
  if (!m.nets.empty() &&
      std::ranges::none_of(m.nets, [&](const Cidr& c) { return c.contains(ip); })) {
    return false;
  }
  if (std::ranges::any_of(m.not_nets, [&](const Cidr& c) { return c.contains(ip); })) {
    return false;
  }
  if (m.selector && !selector_matches(ctx, *m.selector, ip)) {
    return false;
  }
  if (m.not_selector && selector_matches(ctx, *m.not_selector, ip)) {
    return false;
  }
  if (m.entities &&
      std::ranges::none_of(*m.entities, [&](Entity e) { return entity_matches(ctx, e, ip); })) {
    return false;
  }
  if (m.fqdns) {
    if (!is_destination || !ctx.flow.fqdn || std::ranges::none_of(*m.fqdns, [&](const DnsRule& d) {
          return dns_rule_matches(d, *ctx.flow.fqdn);
        })) {
      return false;
    }
  }
  const bool ported = has_ports(ctx.flow.protocol);
  if (!m.ports.empty() && (!ported || !port_listed(ctx, m.ports, port, owner))) {
    return false;
  }
  if (!m.not_ports.empty() && ported && port_listed(ctx, m.not_ports, port, owner)) {
    return false;
  }
  return true;
}

bool icmp_matches(const IcmpMatch& m, const Flow& flow) {
  if (!is_icmp(flow.protocol)) {
    return false;
  }
  // A packet always has a type and code; a flow that names none stands for 0/0.
  if (m.type && flow.icmp_type.value_or(0) != *m.type) {
    return false;
  }
  if (m.code && flow.icmp_code.value_or(0) != *m.code) {
    return false;
  }
  return true;
}

bool rule_matches(const MatchContext& ctx, const Rule& rule) {
  const Flow& flow = ctx.flow;
  if (!rule.protocols.empty() &&
      std::ranges::find(rule.protocols, flow.protocol) == rule.protocols.end()) {
    return false;
  }
  if (std::ranges::find(rule.not_protocols, flow.protocol) != rule.not_protocols.end()) {
    return false;
  }
  if (rule.ip_version && flow.src.family != *rule.ip_version) {
    return false;
  }
  if (rule.icmp && !icmp_matches(*rule.icmp, flow)) {
    return false;
  }
  if (rule.not_icmp && icmp_matches(*rule.not_icmp, flow)) {
    return false;
  }
  if (!peer_matches(ctx, rule.source, flow.src, flow.src_port, ctx.src, false) ||
      !peer_matches(ctx, rule.destination, flow.dst, flow.dst_port, ctx.dst, true)) {
    return false;
  }
  // L7 conditions have no stage to judge them yet: the rule admits no connection, and so
  // no request either (never wider than written; docs/semantics.md, "L7 rules").
  return !rule.has_l7();
}

bool failsafe_open(const std::vector<FailsafePort>& ports, const Flow& flow) {
  return std::ranges::any_of(ports, [&](const FailsafePort& p) {
    return p.protocol == flow.protocol && p.port == flow.dst_port;
  });
}

}  // namespace

std::string Decision::by_name() const {
  switch (by) {
    case By::Rule:
      return tier + "/" + policy->qualified_name();
    case By::EndOfTier:
      return tier + "/(end of tier)";
    case By::Profile:
      return "profile";
    case By::Node:
      return "node";
    case By::Failsafe:
      return "failsafe";
  }
  return "?";
}

std::string Decision::describe() const {
  std::string out = by_name();
  if (by == By::Rule) {
    const Rule& rule = policy->rules(direction)[static_cast<size_t>(rule_index)];
    out += " rule " + std::to_string(rule_index) + " (" + rule.origin + ", " +
           action_name(rule.action) + ")";
  }
  return out;
}

std::optional<Decision> FlowVerdict::deciding() const {
  if (egress && egress->verdict == Verdict::Deny) {
    return egress;
  }
  if (ingress) {
    return ingress;
  }
  return egress;
}

Decision judge(const Snapshot& snap, const Endpoint& ep, Direction dir, const Flow& flow) {
  Decision d;
  d.direction = dir;
  d.endpoint = &ep;
  if (ep.kind == EndpointKind::Host) {
    const auto& open = dir == Direction::Ingress ? snap.failsafe.inbound : snap.failsafe.outbound;
    if (failsafe_open(open, flow)) {
      d.verdict = Verdict::Allow;
      d.by = Decision::By::Failsafe;
      return d;
    }
  }
  MatchContext ctx{snap, flow, ep, snap.endpoint_at(flow.src), snap.endpoint_at(flow.dst)};
  for (const AppliedTier& applied : resolve(snap, ep, dir)) {
    bool passed = false;
    for (const Policy* p : applied.policies) {
      const std::vector<Rule>& rules = p->rules(dir);
      for (size_t i = 0; i < rules.size() && !passed; ++i) {
        if (!rule_matches(ctx, rules[i])) {
          continue;
        }
        switch (rules[i].action) {
          case Action::Log:
            d.logged.push_back(applied.tier->name + "/" + p->qualified_name() + "#" +
                               std::to_string(i));
            continue;
          case Action::Pass:
            passed = true;
            continue;
          case Action::Allow:
          case Action::Deny:
            d.verdict = rules[i].action == Action::Allow ? Verdict::Allow : Verdict::Deny;
            d.by = Decision::By::Rule;
            d.tier = applied.tier->name;
            d.policy = p;
            d.rule_index = static_cast<int>(i);
            return d;
        }
      }
      if (passed) {
        break;
      }
    }
    if (passed) {
      continue;
    }
    const bool isolating =
        std::ranges::any_of(applied.policies, [&](const Policy* p) { return p->isolates(dir); });
    if (isolating && applied.tier->default_action == Action::Deny) {
      d.verdict = Verdict::Deny;
      d.by = Decision::By::EndOfTier;
      d.tier = applied.tier->name;
      return d;
    }
  }
  d.by = Decision::By::Profile;
  if (ep.kind == EndpointKind::Workload) {
    d.verdict = Verdict::Allow;  // the namespace profile
  } else {
    // A host endpoint with no policy is default-deny, unless it takes Calico's allow profile.
    const bool allow_profile =
        std::ranges::find(ep.profiles, "projectcalico-default-allow") != ep.profiles.end();
    d.verdict = allow_profile ? Verdict::Allow : Verdict::Deny;
  }
  return d;
}

FlowVerdict evaluate(const Snapshot& snap, const Flow& flow, const EvalOptions& options) {
  FlowVerdict out;
  const Endpoint* src = snap.endpoint_at(flow.src);
  const Endpoint* dst = snap.endpoint_at(flow.dst);
  auto judged_here = [&](const Endpoint* ep) {
    return ep != nullptr && (!options.node || ep->node == *options.node);
  };
  if (judged_here(src)) {
    out.egress = judge(snap, *src, Direction::Egress, flow);
    if (out.egress->verdict == Verdict::Deny) {
      out.verdict = Verdict::Deny;
      return out;
    }
  }
  if (judged_here(dst)) {
    const Node* from_node = snap.node_at(flow.src);
    if (dst->kind == EndpointKind::Workload && from_node != nullptr &&
        from_node->name == dst->node) {
      Decision d;
      d.verdict = Verdict::Allow;
      d.by = Decision::By::Node;
      d.direction = Direction::Ingress;
      d.endpoint = dst;
      out.ingress = d;
    } else {
      out.ingress = judge(snap, *dst, Direction::Ingress, flow);
    }
    out.verdict = out.ingress->verdict;
  }
  return out;
}

}  // namespace palisade::policy
