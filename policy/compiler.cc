#include "policy/compiler.h"

#include <algorithm>
#include <map>
#include <set>

#include "policy/peer_lowering.h"
#include "policy/resolver.h"

namespace palisade::policy {

namespace {

bool is_ported(uint8_t p) {
  return p == ipproto::kTcp || p == ipproto::kUdp || p == ipproto::kSctp ||
         p == ipproto::kUdpLite;
}
bool is_icmp(uint8_t p) { return p == ipproto::kIcmp || p == ipproto::kIcmpV6; }

// An ICMP constraint as boxes of (types, codes), in the key's sport and dport fields.
struct IcmpBox {
  PortSet types, codes;
};

std::vector<IcmpBox> icmp_boxes(const Rule& rule) {
  std::vector<IcmpBox> boxes{{all_ports(), all_ports()}};
  auto exact = [](std::optional<uint8_t> v) {
    if (!v) {
      return all_ports();
    }
    PortSet s(65535);
    s.add(*v, *v);
    return s;
  };
  if (rule.icmp) {
    boxes = {{exact(rule.icmp->type), exact(rule.icmp->code)}};
  }
  if (rule.not_icmp) {
    // not (type = t and code = c)  =  type != t, or type = t and code != c.
    const PortSet t = exact(rule.not_icmp->type);
    const PortSet c = exact(rule.not_icmp->code);
    std::vector<IcmpBox> excluded_parts{{t.complement(), all_ports()}};
    if (rule.not_icmp->code) {
      excluded_parts.push_back({t, c.complement()});
    } else if (!rule.not_icmp->type) {
      excluded_parts.clear();  // notICMP {}: every ICMP packet is excluded
    }
    std::vector<IcmpBox> out;
    for (const IcmpBox& b : boxes) {
      for (const IcmpBox& e : excluded_parts) {
        IcmpBox both{b.types.intersect(e.types), b.codes.intersect(e.codes)};
        if (!both.types.empty() && !both.codes.empty()) {
          out.push_back(std::move(both));
        }
      }
    }
    boxes = std::move(out);
  }
  return boxes;
}

class Builder {
 public:
  Builder(const Snapshot& snap, const CompileOptions& options)
      : snap_(snap), options_(options), peers_(snap, options.dns), index_(snap) {}

  Result<CompiledPolicy> run() {
    if (auto e = assign_categories()) {
      return *e;
    }
    for (const Policy& p : snap_.policies) {
      out_.policy_names.push_back(p.qualified_name());
    }
    out_.verdicts.emplace_back();  // index 0: rte_acl's "no match"
    for (const Endpoint& ep : snap_.endpoints) {
      // An address belongs to its first endpoint, on this node or not (as endpoint_at()
      // decides); only the addresses whose owner is judged here are bound.
      std::vector<IpAddr> owned;
      for (const IpAddr& ip : ep.ips) {
        if (bound_.insert(ip).second) {
          owned.push_back(ip);
        }
      }
      if (options_.node && ep.node != *options_.node) {
        continue;
      }
      const uint32_t egress = set_for(ep, Direction::Egress);
      const uint32_t ingress = set_for(ep, Direction::Ingress);
      for (const IpAddr& ip : owned) {
        out_.endpoints.push_back(
            {ip, egress, ingress, ep.ns.empty() ? ep.name : ep.ns + "/" + ep.name});
      }
      if (error_) {
        return *error_;
      }
      for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
        if (out_.rules(family).size() > options_.max_rules) {
          return Error{ErrorCode::LimitExceeded, {}, {}, {},
                       "IPv" + std::to_string(family) + " rules exceed the limit of " +
                           std::to_string(options_.max_rules) + " (at endpoint " + ep.name +
                           ")"};
        }
      }
    }
    std::ranges::sort(out_.endpoints, {}, &EndpointBinding::ip);  // binding() searches
    return std::move(out_);
  }

 private:
  // Tiers that hold policies get categories 1.. in evaluation order; category 0 is for the
  // exceptions ahead of all policy.
  std::optional<Error> assign_categories() {
    for (const Tier& t : snap_.tiers) {
      const bool used = std::ranges::any_of(snap_.policies,
                                            [&](const Policy& p) { return p.tier == t.name; });
      if (!used) {
        continue;
      }
      if (out_.tier_names.size() == kMaxTiers) {
        return Error{ErrorCode::LimitExceeded, t.source, "Tier " + t.name, {},
                     "more than " + std::to_string(kMaxTiers) +
                         " tiers hold policies (one rte_acl category each, plus one for "
                         "exceptions, of 16)"};
      }
      tier_category_[t.name] = static_cast<uint8_t>(out_.tier_names.size() + 1);
      out_.tier_names.push_back(t.name);
    }
    const uint32_t used = static_cast<uint32_t>(out_.tier_names.size()) + 1;
    out_.num_categories =
        used == 1 ? 1 : (used + kResultsMultiplier - 1) / kResultsMultiplier * kResultsMultiplier;
    return std::nullopt;
  }

  uint32_t set_for(const Endpoint& ep, Direction dir) {
    std::vector<AppliedTier> applied = index_.resolve(ep, dir);
    const bool profile_allows =
        ep.kind == EndpointKind::Workload ||
        std::ranges::find(ep.profiles, "projectcalico-default-allow") != ep.profiles.end();
    std::string key = std::string(direction_name(dir)) +
                      (ep.kind == EndpointKind::Workload ? " workload" : " host") + " node=" +
                      ep.node + (profile_allows ? " profile=allow" : " profile=deny");
    // Names on the endpoint's own side of a packet resolve on the endpoint: they are part of
    // what its rule list depends on.
    std::vector<std::string> ports;
    for (const NamedPort& np : ep.named_ports) {
      ports.push_back(np.name + "/" + std::to_string(np.protocol) + "=" + std::to_string(np.port));
    }
    std::ranges::sort(ports);
    key += " ports=";
    for (const std::string& p : ports) {
      key += p + ",";
    }
    for (const AppliedTier& t : applied) {
      key += " " + t.tier->name + ":";
      for (const Policy* p : t.policies) {
        key += std::to_string(p - snap_.policies.data()) + ",";
      }
    }
    auto [it, inserted] = set_ids_.emplace(key, static_cast<uint32_t>(out_.sets.size() + 1));
    if (inserted) {
      out_.sets.push_back(PolicySet{it->second, dir, profile_allows, key});
      emit_set(it->second, ep, dir, applied);
    }
    return it->second;
  }

  uint32_t add_verdict(VerdictEntry v) {
    out_.verdicts.push_back(v);
    return static_cast<uint32_t>(out_.verdicts.size() - 1);
  }

  void emit_set(uint32_t set, const Endpoint& ep, Direction dir,
                const std::vector<AppliedTier>& applied) {
    direction_ = dir;
    int32_t priority = kTopPriority;
    // Exceptions: a node's traffic to its own pods; failsafe ports of host endpoints.
    if (dir == Direction::Ingress && ep.kind == EndpointKind::Workload) {
      const AddressSet& node = peers_.node_addresses(ep.node);
      if (!node.empty()) {
        const uint32_t v = add_verdict({VerdictEntry::Kind::Node, 0, -1, -1});
        emit(set, 0, priority--, v, 0, 255, {PeerPiece{node, all_ports()}},
             {PeerPiece{AddressSet::all(), all_ports()}}, std::nullopt);
      }
    }
    if (ep.kind == EndpointKind::Host) {
      const auto& open = dir == Direction::Ingress ? snap_.failsafe.inbound : snap_.failsafe.outbound;
      for (const FailsafePort& fp : open) {
        const uint32_t v = add_verdict({VerdictEntry::Kind::Failsafe, 0, -1, -1});
        PortSet port(65535);
        port.add(fp.port, fp.port);
        emit(set, 0, priority--, v, fp.protocol, fp.protocol,
             {PeerPiece{AddressSet::all(), all_ports()}}, {PeerPiece{AddressSet::all(), port}},
             std::nullopt);
      }
    }
    for (const AppliedTier& t : applied) {
      const uint8_t category = tier_category_.at(t.tier->name);
      const uint16_t tier_index = static_cast<uint16_t>(category - 1);
      priority = kTopPriority;
      for (const Policy* p : t.policies) {
        const auto policy_index = static_cast<int32_t>(p - snap_.policies.data());
        const std::vector<Rule>& rules = p->rules(dir);
        for (size_t i = 0; i < rules.size(); ++i) {
          if (rules[i].action == Action::Log) {
            continue;  // Log decides nothing: it is for flow logs, not for the tables
          }
          const VerdictEntry::Kind kind = rules[i].action == Action::Allow ? VerdictEntry::Kind::Allow
                                          : rules[i].action == Action::Deny ? VerdictEntry::Kind::Deny
                                                                            : VerdictEntry::Kind::Pass;
          const uint32_t v = add_verdict({kind, tier_index, policy_index, static_cast<int32_t>(i)});
          const size_t before = out_.rules_v4.size() + out_.rules_v6.size();
          lower_rule(set, category, priority--, v, rules[i], ep);
          const size_t made = out_.rules_v4.size() + out_.rules_v6.size() - before;
          if (made > options_.max_rules_per_policy_rule && !error_) {
            error_ = Error{ErrorCode::LimitExceeded, p->source,
                           p->ns.empty() ? p->name : p->ns + "/" + p->name, rules[i].origin,
                           "this rule expands into " + std::to_string(made) +
                               " ACL rules (limit " +
                               std::to_string(options_.max_rules_per_policy_rule) +
                               "); negations on both sides (notSelector, notNets) multiply"};
          }
        }
      }
      const bool isolating =
          std::ranges::any_of(t.policies, [&](const Policy* p) { return p->isolates(dir); });
      if (isolating) {
        const VerdictEntry::Kind kind = t.tier->default_action == Action::Pass
                                            ? VerdictEntry::Kind::EndOfTierPass
                                            : VerdictEntry::Kind::EndOfTierDeny;
        const uint32_t v = add_verdict({kind, tier_index, -1, -1});
        // Lowest priority of the category: it matches only when no rule of the tier did.
        emit(set, category, kBottomPriority, v, 0, 255, {PeerPiece{AddressSet::all(), all_ports()}},
             {PeerPiece{AddressSet::all(), all_ports()}}, std::nullopt);
      }
    }
  }

  // One rule of a policy, for the endpoint judged: protocols, then for each protocol range
  // the pieces of both sides, then prefixes and port ranges.
  void lower_rule(uint32_t set, uint8_t category, int32_t priority, uint32_t verdict,
                  const Rule& rule, const Endpoint& judged) {
    IntervalSet<uint32_t> protos(255);
    if (rule.protocols.empty()) {
      protos = IntervalSet<uint32_t>::all(255);
    }
    for (uint8_t p : rule.protocols) {
      protos.add(p, p);
    }
    for (uint8_t p : rule.not_protocols) {
      IntervalSet<uint32_t> one(255);
      one.add(p, p);
      protos = protos.subtract(one);
    }
    if (rule.icmp) {
      IntervalSet<uint32_t> icmp(255);
      icmp.add(ipproto::kIcmp, ipproto::kIcmp);
      icmp.add(ipproto::kIcmpV6, ipproto::kIcmpV6);
      protos = protos.intersect(icmp);
    }
    const auto has_port_terms = [](const PeerMatch& m) {
      return !m.ports.empty() || !m.not_ports.empty();
    };
    if (!has_port_terms(rule.source) && !has_port_terms(rule.destination) && !rule.icmp &&
        !rule.not_icmp) {
      // Nothing depends on the protocol beyond its value: whole ranges.
      for (const auto& range : protos.intervals()) {
        lower_for_protocol(set, category, priority, verdict, rule, judged,
                           static_cast<uint8_t>(range.first), static_cast<uint8_t>(range.last));
      }
      return;
    }
    // Split the protocol ranges where the treatment changes: ported protocols one by one (a
    // name may resolve differently per protocol), ICMP ones one by one, the rest in ranges.
    for (const auto& range : protos.intervals()) {
      uint32_t p = range.first;
      while (p <= range.last) {
        const auto proto = static_cast<uint8_t>(p);
        if (is_ported(proto) || is_icmp(proto)) {
          lower_for_protocol(set, category, priority, verdict, rule, judged, proto, proto);
          ++p;
          continue;
        }
        uint32_t last = p;
        while (last + 1 <= range.last && !is_ported(static_cast<uint8_t>(last + 1)) &&
               !is_icmp(static_cast<uint8_t>(last + 1))) {
          ++last;
        }
        lower_for_protocol(set, category, priority, verdict, rule, judged, proto,
                           static_cast<uint8_t>(last));
        p = last + 1;
      }
    }
  }

  void lower_for_protocol(uint32_t set, uint8_t category, int32_t priority, uint32_t verdict,
                          const Rule& rule, const Endpoint& judged, uint8_t first, uint8_t last) {
    const bool ported = first == last && is_ported(first);
    const bool icmp = first == last && is_icmp(first);
    if (rule.icmp && !icmp) {
      return;
    }
    const bool ingress = direction_ == Direction::Ingress;
    std::vector<PeerPiece> src = peers_.lower(rule.source, judged, first, ported, false, !ingress);
    std::vector<PeerPiece> dst = peers_.lower(rule.destination, judged, first, ported, true, ingress);
    if (src.empty() || dst.empty()) {
      return;
    }
    std::optional<std::vector<IcmpBox>> boxes;
    if (icmp && (rule.icmp || rule.not_icmp)) {
      boxes = icmp_boxes(rule);
      if (boxes->empty()) {
        return;
      }
    }
    emit(set, category, priority, verdict, first, last, src, dst, boxes, rule.ip_version);
  }

  void emit(uint32_t set, uint8_t category, int32_t priority, uint32_t verdict, uint8_t proto_first,
            uint8_t proto_last, const std::vector<PeerPiece>& src,
            const std::vector<PeerPiece>& dst, const std::optional<std::vector<IcmpBox>>& icmp,
            std::optional<uint8_t> ip_version = std::nullopt) {
    for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
      if (ip_version && *ip_version != family) {
        continue;
      }
      std::vector<AclRule>& rules = family == 4 ? out_.rules_v4 : out_.rules_v6;
      for (const PeerPiece& s : src) {
        const std::vector<Cidr> src_prefixes = s.addresses.prefixes(family);
        if (src_prefixes.empty()) {
          continue;
        }
        for (const PeerPiece& d : dst) {
          const std::vector<Cidr> dst_prefixes = d.addresses.prefixes(family);
          // Ports of each side, or for ICMP the (type, code) boxes in the same two fields.
          std::vector<std::pair<PortSet, PortSet>> port_pairs;
          if (icmp) {
            for (const IcmpBox& b : *icmp) {
              port_pairs.emplace_back(b.types, b.codes);
            }
          } else {
            port_pairs.emplace_back(s.ports, d.ports);
          }
          for (const Cidr& sp : src_prefixes) {
            for (const Cidr& dp : dst_prefixes) {
              for (const auto& [sports, dports] : port_pairs) {
                for (const auto& sr : sports.intervals()) {
                  for (const auto& dr : dports.intervals()) {
                    AclRule r;
                    r.set_id = set;
                    r.proto_first = proto_first;
                    r.proto_last = proto_last;
                    r.src = sp;
                    r.dst = dp;
                    r.sport = {static_cast<uint16_t>(sr.first), static_cast<uint16_t>(sr.last)};
                    r.dport = {static_cast<uint16_t>(dr.first), static_cast<uint16_t>(dr.last)};
                    r.category = category;
                    r.priority = priority;
                    r.verdict = verdict;
                    rules.push_back(r);
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  const Snapshot& snap_;
  const CompileOptions& options_;
  PeerLowering peers_;
  PolicyIndex index_;
  CompiledPolicy out_;
  std::set<IpAddr> bound_;
  std::optional<Error> error_;  // the first limit crossed while emitting
  Direction direction_ = Direction::Ingress;  // of the set being emitted
  std::map<std::string, uint8_t, std::less<>> tier_category_;
  std::map<std::string, uint32_t, std::less<>> set_ids_;
};

}  // namespace

Result<CompiledPolicy> compile(const Snapshot& snap, const CompileOptions& options) {
  return Builder(snap, options).run();
}

}  // namespace palisade::policy
