#include "policy/peer_lowering.h"

#include <algorithm>
#include <set>

#include "policy/dns_name.h"
#include "policy/resolver.h"

namespace palisade::policy {

namespace {

std::string cache_key(const EndpointSelector& sel) {
  std::string key = std::to_string(static_cast<int>(sel.dialect)) + "|" +
                    std::to_string(static_cast<int>(sel.scope.kind)) + "|" + sel.scope.ns + "|" +
                    sel.scope.namespace_selector.to_string() + "|" +
                    (sel.scope.network_sets ? "n" : "-") + (sel.scope.host_endpoints ? "h" : "-") +
                    "|" + sel.selector.to_string() + "|";
  for (const std::string& n : sel.service_account_names) {
    key += n + ",";
  }
  key += "|" + (sel.service_account_selector ? sel.service_account_selector->to_string() : "-");
  return key;
}

PortSet numeric(const PortList& list) {
  PortSet s(65535);
  for (const PortRange& r : list.ranges) {
    s.add(r.first, r.last);
  }
  return s;
}

// The numbers a name has on one endpoint, for one protocol.
PortSet resolve(const std::vector<std::string>& names, const Endpoint& ep, uint8_t protocol) {
  PortSet s(65535);
  for (const NamedPort& np : ep.named_ports) {
    if (np.protocol == protocol && std::ranges::find(names, np.name) != names.end()) {
      s.add(np.port, np.port);
    }
  }
  return s;
}

bool has_any(const std::vector<std::string>& names, const Endpoint& ep, uint8_t protocol) {
  return std::ranges::any_of(ep.named_ports, [&](const NamedPort& np) {
    return np.protocol == protocol && std::ranges::find(names, np.name) != names.end();
  });
}

}  // namespace

PortSet all_ports() { return PortSet::all(65535); }

PeerLowering::PeerLowering(const Snapshot& snap, std::vector<std::pair<IpAddr, std::string>> dns)
    : snap_(snap), dns_(std::move(dns)) {
  std::set<IpAddr> taken;  // an address belongs to the first node that has it, as node_at()
  std::vector<IpAddr> node_ips;
  for (const auto& [name, node] : snap.nodes) {
    std::vector<IpAddr> mine;
    for (const IpAddr& ip : node.addresses) {
      if (taken.insert(ip).second) {
        mine.push_back(ip);
      }
    }
    node_ips.insert(node_ips.end(), mine.begin(), mine.end());
    node_sets_[name] = AddressSet::of_many(mine);
  }
  nodes_ = AddressSet::of_many(node_ips);
}

void PeerLowering::index_endpoints() {
  if (endpoints_indexed_) {
    return;
  }
  endpoints_indexed_ = true;
  // An address belongs to the first endpoint that has it, as endpoint_at() decides.
  std::set<IpAddr> claimed;
  std::vector<IpAddr> pod_ips;
  for (const Endpoint& ep : snap_.endpoints) {
    std::vector<IpAddr> mine;
    for (const IpAddr& ip : ep.ips) {
      if (claimed.insert(ip).second) {
        mine.push_back(ip);
      }
    }
    if (ep.kind == EndpointKind::Workload) {
      pod_ips.insert(pod_ips.end(), mine.begin(), mine.end());
    }
    const size_t index = owned_.size();
    owned_.emplace_back(&ep, AddressSet::of_many(mine));
    for (const NamedPort& np : ep.named_ports) {
      std::vector<size_t>& owners = by_port_name_[np.name];
      if (owners.empty() || owners.back() != index) {
        owners.push_back(index);
      }
    }
  }
  pods_ = AddressSet::of_many(pod_ips);
}

void PeerLowering::index_selectables() {
  if (selectables_indexed_) {
    return;
  }
  selectables_indexed_ = true;
  for (const Selectable& s : snap_.selectables) {
    all_selectables_.push_back(&s);
    selectables_by_ns_[s.ns].push_back(&s);
  }
}

const AddressSet& PeerLowering::node_addresses(const std::string& node) const {
  auto it = node_sets_.find(node);
  return it == node_sets_.end() ? empty_ : it->second;
}

const AddressSet& PeerLowering::selector_set(const EndpointSelector& sel) {
  std::string key = cache_key(sel);
  if (reads_ != nullptr) {
    reads_->selectors.emplace_back(key, &sel);
  }
  auto it = selector_cache_.find(key);
  if (it != selector_cache_.end()) {
    return it->second;
  }
  index_selectables();
  std::vector<IpAddr> ips;
  std::vector<Cidr> nets;
  // A selector confined to a namespace need only look at that namespace's selectables.
  static const std::vector<const Selectable*> kNone;
  const std::vector<const Selectable*>* candidates = &all_selectables_;
  if (sel.scope.kind == Scope::Kind::Namespace) {
    auto it = selectables_by_ns_.find(sel.scope.ns);
    candidates = it == selectables_by_ns_.end() ? &kNone : &it->second;
  }
  for (const Selectable* candidate : *candidates) {
    const Selectable& s = *candidate;
    if (!selects(snap_, sel, s)) {
      continue;
    }
    if (s.endpoint != nullptr) {
      ips.insert(ips.end(), s.endpoint->ips.begin(), s.endpoint->ips.end());
    } else {
      nets.insert(nets.end(), s.network_set->nets.begin(), s.network_set->nets.end());
    }
  }
  return selector_cache_.emplace(std::move(key), AddressSet::of_many(ips, nets)).first->second;
}

AddressSet PeerLowering::entity_set(Entity e, const Endpoint& judged) {
  if (e == Entity::World || e == Entity::Cluster) {
    index_endpoints();
    if (reads_ != nullptr) {
      reads_->pod_addresses = true;
    }
  }
  switch (e) {
    case Entity::All:
      return AddressSet::all();
    case Entity::World:
      return pods_.unite(nodes_).complement();
    case Entity::Cluster:
      return pods_.unite(nodes_);
    case Entity::Host:
      return node_addresses(judged.node);
    case Entity::RemoteNode:
      return nodes_.subtract(node_addresses(judged.node));
  }
  return {};
}

AddressSet PeerLowering::address_part(const PeerMatch& m, const Endpoint& judged,
                                      bool is_destination) {
  AddressSet a = AddressSet::all();
  if (m.matches_nothing) {
    return {};
  }
  if (!m.nets.empty()) {
    AddressSet nets;
    for (const Cidr& c : m.nets) {
      nets.add(c);
    }
    a = a.intersect(nets);
  }
  for (const Cidr& c : m.not_nets) {
    a = a.subtract(AddressSet::of(c));
  }
  if (m.selector) {
    a = a.intersect(selector_set(*m.selector));
  }
  if (m.not_selector) {
    a = a.subtract(selector_set(*m.not_selector));
  }
  if (m.entities) {
    AddressSet any;
    for (Entity e : *m.entities) {
      any = any.unite(entity_set(e, judged));
    }
    a = a.intersect(any);
  }
  if (m.fqdns) {
    if (!is_destination) {
      return {};
    }
    AddressSet answered;
    for (const auto& answer : dns_) {
      const std::string& name = answer.second;
      if (std::ranges::any_of(*m.fqdns,
                              [&](const DnsRule& d) { return dns_rule_matches(d, name); })) {
        answered.add(answer.first);
      }
    }
    a = a.intersect(answered);
  }
  return a;
}

std::vector<PeerPiece> PeerLowering::lower(const PeerMatch& m, const Endpoint& judged,
                                           uint8_t protocol, bool ported, bool is_destination,
                                           bool judged_side) {
  AddressSet a = address_part(m, judged, is_destination);
  if (a.empty()) {
    return {};
  }
  const bool has_ports = !m.ports.empty();
  if (!ported) {
    // Port constraints never hold for a protocol without ports; notPorts exclude nothing.
    if (has_ports) {
      return {};
    }
    return {PeerPiece{std::move(a), all_ports()}};
  }
  const PortSet wanted = has_ports ? numeric(m.ports) : all_ports();
  const PortSet excluded = numeric(m.not_ports);
  std::vector<std::string> names = m.ports.names;
  names.insert(names.end(), m.not_ports.names.begin(), m.not_ports.names.end());
  std::vector<PeerPiece> pieces;
  if (judged_side) {
    PortSet ports = has_ports ? wanted.unite(resolve(m.ports.names, judged, protocol)) : wanted;
    ports = ports.subtract(excluded.unite(resolve(m.not_ports.names, judged, protocol)));
    if (!ports.empty()) {
      pieces.push_back({std::move(a), std::move(ports)});
    }
    return pieces;
  }
  AddressSet rest = a;
  if (!names.empty()) {
    // A name resolves on the endpoint that owns the packet's address on this side; only the
    // endpoints that declare one of the names can differ from the rest.
    index_endpoints();
    std::set<size_t> candidates;
    for (const std::string& name : names) {
      if (reads_ != nullptr) {
        reads_->port_names.push_back(name);
      }
      if (auto it = by_port_name_.find(name); it != by_port_name_.end()) {
        candidates.insert(it->second.begin(), it->second.end());
      }
    }
    for (size_t index : candidates) {
      const auto& [ep, owned] = owned_[index];
      if (!has_any(names, *ep, protocol)) {
        continue;
      }
      AddressSet mine = a.intersect(owned);
      if (mine.empty()) {
        continue;
      }
      rest = rest.subtract(mine);
      PortSet ports = has_ports ? wanted.unite(resolve(m.ports.names, *ep, protocol)) : wanted;
      ports = ports.subtract(excluded.unite(resolve(m.not_ports.names, *ep, protocol)));
      if (!ports.empty()) {
        pieces.push_back({std::move(mine), std::move(ports)});
      }
    }
  }
  PortSet ports = wanted.subtract(excluded);
  if (!rest.empty() && !ports.empty()) {
    pieces.push_back({std::move(rest), std::move(ports)});
  }
  return pieces;
}

}  // namespace palisade::policy
