#include "policy/set_compiler.h"

#include <algorithm>

namespace palisade::policy {

namespace {

using ipproto::is_icmp;

}  // namespace

std::vector<SetCompiler::IcmpBox> SetCompiler::icmp_boxes(const Rule& rule) {
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

SetCompiler::SetCompiler(const Snapshot& snap, const CompileOptions& options)
    : snap_(snap), options_(options) {
  index_.emplace(snap);
  peers_.emplace(snap, options.dns);
  // Tiers that hold policies get categories 1.. in evaluation order; category 0 is for the
  // exceptions ahead of all policy.
  for (const Tier& t : snap_.tiers) {
    const bool used =
        std::ranges::any_of(snap_.policies, [&](const Policy& p) { return p.tier == t.name; });
    if (!used) {
      continue;
    }
    if (tier_names_.size() == kMaxTiers) {
      error_ = Error{ErrorCode::LimitExceeded,
                     t.source,
                     "Tier " + t.name,
                     {},
                     "more than " + std::to_string(kMaxTiers) +
                         " tiers hold policies (one rte_acl category each, plus one for "
                         "exceptions, of 16)"};
      return;
    }
    tier_category_[t.name] = static_cast<uint8_t>(tier_names_.size() + 1);
    tier_names_.push_back(t.name);
  }
  const auto used = static_cast<uint32_t>(tier_names_.size()) + 1;
  num_categories_ =
      used == 1 ? 1 : (used + kResultsMultiplier - 1) / kResultsMultiplier * kResultsMultiplier;
}

void SetCompiler::endpoints_changed() { peers_.emplace(snap_, options_.dns); }

SetKey SetCompiler::key(const Endpoint& ep, Direction dir) const {
  SetKey out;
  out.direction = dir;
  out.applied = index_->resolve(ep, dir);
  out.profile_allows =
      ep.kind == EndpointKind::Workload ||
      std::ranges::find(ep.profiles, "projectcalico-default-allow") != ep.profiles.end();
  std::string& key = out.text;
  key = std::string(direction_name(dir)) +
        (ep.kind == EndpointKind::Workload ? " workload" : " host") + " node=" + ep.node +
        (out.profile_allows ? " profile=allow" : " profile=deny");
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
  for (const AppliedTier& t : out.applied) {
    key += " " + t.tier->name + ":";
    for (const Policy* p : t.policies) {
      key += std::to_string(p - snap_.policies.data()) + ",";
    }
  }
  return out;
}

uint32_t SetCompiler::add_verdict(VerdictEntry v) {
  out_->verdicts.push_back(v);
  return static_cast<uint32_t>(out_->verdicts.size());
}

Result<SetRules> SetCompiler::rules(const Endpoint& ep, const SetKey& key) {
  SetRules made;
  out_ = &made;
  direction_ = key.direction;
  peers_->record_into(&made.reads);
  const Direction dir = key.direction;
  std::optional<Error> error;
  int32_t priority = kTopPriority;
  // Exceptions: a node's traffic to its own pods; failsafe ports of host endpoints.
  if (dir == Direction::Ingress && ep.kind == EndpointKind::Workload) {
    const AddressSet& node = peers_->node_addresses(ep.node);
    if (!node.empty()) {
      const uint32_t v = add_verdict({VerdictEntry::Kind::Node, 0, -1, -1});
      emit(0, priority--, v, 0, 255, {PeerPiece{node, all_ports()}},
           {PeerPiece{AddressSet::all(), all_ports()}}, std::nullopt);
    }
  }
  if (ep.kind == EndpointKind::Host) {
    const auto& open = dir == Direction::Ingress ? snap_.failsafe.inbound : snap_.failsafe.outbound;
    for (const FailsafePort& fp : open) {
      const uint32_t v = add_verdict({VerdictEntry::Kind::Failsafe, 0, -1, -1});
      PortSet port(65535);
      port.add(fp.port, fp.port);
      emit(0, priority--, v, fp.protocol, fp.protocol, {PeerPiece{AddressSet::all(), all_ports()}},
           {PeerPiece{AddressSet::all(), port}}, std::nullopt);
    }
  }
  for (const AppliedTier& t : key.applied) {
    const uint8_t category = tier_category_.at(t.tier->name);
    const auto tier_index = static_cast<uint16_t>(category - 1);
    priority = kTopPriority;
    for (const Policy* p : t.policies) {
      const auto policy_index = static_cast<int32_t>(p - snap_.policies.data());
      const std::vector<Rule>& rules = p->rules(dir);
      for (size_t i = 0; i < rules.size(); ++i) {
        if (rules[i].action == Action::Log) {
          continue;  // Log decides nothing: it is for flow logs, not for the tables
        }
        if (rules[i].has_l7()) {
          continue;  // admits nothing until an L7 stage judges it (Rule::has_l7)
        }
        const VerdictEntry::Kind kind = rules[i].action == Action::Allow ? VerdictEntry::Kind::Allow
                                        : rules[i].action == Action::Deny
                                            ? VerdictEntry::Kind::Deny
                                            : VerdictEntry::Kind::Pass;
        const uint32_t v = add_verdict({kind, tier_index, policy_index, static_cast<int32_t>(i)});
        const size_t before = made.v4.size() + made.v6.size();
        lower_rule(category, priority--, v, rules[i], ep);
        const size_t expanded = made.v4.size() + made.v6.size() - before;
        if (expanded > options_.max_rules_per_policy_rule && !error) {
          error =
              Error{ErrorCode::LimitExceeded, p->source,
                    p->ns.empty() ? p->name : p->ns + "/" + p->name, rules[i].origin,
                    "this rule expands into " + std::to_string(expanded) + " ACL rules (limit " +
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
      emit(category, kBottomPriority, v, 0, 255, {PeerPiece{AddressSet::all(), all_ports()}},
           {PeerPiece{AddressSet::all(), all_ports()}}, std::nullopt);
    }
  }
  peers_->record_into(nullptr);
  out_ = nullptr;
  // Each rule, protocol and family reads its selectors again: keep one of each.
  auto& selectors = made.reads.selectors;
  const auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
  const auto same_key = [](const auto& a, const auto& b) { return a.first == b.first; };
  std::sort(selectors.begin(), selectors.end(), by_key);
  selectors.erase(std::unique(selectors.begin(), selectors.end(), same_key), selectors.end());
  auto& names = made.reads.port_names;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (error) {
    return *error;
  }
  return made;
}

// One rule of a policy, for the endpoint judged: protocols, then for each protocol range
// the pieces of both sides, then prefixes and port ranges.
void SetCompiler::lower_rule(uint8_t category, int32_t priority, uint32_t verdict, const Rule& rule,
                             const Endpoint& judged) {
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
      lower_for_protocol(category, priority, verdict, rule, judged,
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
      if (ipproto::has_ports(proto) || is_icmp(proto)) {
        lower_for_protocol(category, priority, verdict, rule, judged, proto, proto);
        ++p;
        continue;
      }
      uint32_t last = p;
      while (last + 1 <= range.last && !ipproto::has_ports(static_cast<uint8_t>(last + 1)) &&
             !is_icmp(static_cast<uint8_t>(last + 1))) {
        ++last;
      }
      lower_for_protocol(category, priority, verdict, rule, judged, proto,
                         static_cast<uint8_t>(last));
      p = last + 1;
    }
  }
}

void SetCompiler::lower_for_protocol(uint8_t category, int32_t priority, uint32_t verdict,
                                     const Rule& rule, const Endpoint& judged, uint8_t first,
                                     uint8_t last) {
  const bool ported = first == last && ipproto::has_ports(first);
  const bool icmp = first == last && is_icmp(first);
  if (rule.icmp && !icmp) {
    return;
  }
  const bool ingress = direction_ == Direction::Ingress;
  std::vector<PeerPiece> src = peers_->lower(rule.source, judged, first, ported, false, !ingress);
  std::vector<PeerPiece> dst =
      peers_->lower(rule.destination, judged, first, ported, true, ingress);
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
  emit(category, priority, verdict, first, last, src, dst, boxes, rule.ip_version);
}

void SetCompiler::emit(uint8_t category, int32_t priority, uint32_t verdict, uint8_t proto_first,
                       uint8_t proto_last, const std::vector<PeerPiece>& src,
                       const std::vector<PeerPiece>& dst,
                       const std::optional<std::vector<IcmpBox>>& icmp,
                       std::optional<uint8_t> ip_version) {
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    if (ip_version && *ip_version != family) {
      continue;
    }
    std::vector<AclRule>& rules = family == 4 ? out_->v4 : out_->v6;
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

void append_set(CompiledPolicy& out, uint32_t id, const SetRules& rules) {
  const auto verdict_base = static_cast<uint32_t>(out.verdicts.size() - 1);
  out.verdicts.insert(out.verdicts.end(), rules.verdicts.begin(), rules.verdicts.end());
  for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
    std::vector<AclRule>& into = family == 4 ? out.rules_v4 : out.rules_v6;
    for (AclRule r : family == 4 ? rules.v4 : rules.v6) {
      r.set_id = id;
      r.verdict += verdict_base;
      into.push_back(r);
    }
  }
}

}  // namespace palisade::policy
