#include "policy/snapshot.h"

#include <algorithm>
#include <memory>

namespace palisade::policy {

namespace {

// Missing order sorts after every order, as Calico's PolKVLess does (missing = +Inf).
bool order_less(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) {
    return a.has_value();
  }
  return a.has_value() && *a < *b;
}

Labels calico_labels(const Endpoint& ep) {
  Labels out = ep.labels;
  if (ep.kind == EndpointKind::Workload) {
    out["projectcalico.org/namespace"] = ep.ns;
    out["projectcalico.org/orchestrator"] = "k8s";
    if (!ep.service_account.empty()) {
      out["projectcalico.org/serviceaccount"] = ep.service_account;
    }
  }
  return out;
}

Labels cilium_labels(const Endpoint& ep, const Labels& ns_labels) {
  Labels out = ep.labels;
  out["io.kubernetes.pod.namespace"] = ep.ns;
  out["io.cilium.k8s.policy.cluster"] = "default";
  if (!ep.service_account.empty()) {
    out["io.cilium.k8s.policy.serviceaccount"] = ep.service_account;
  }
  for (const auto& [k, v] : ns_labels) {
    out["io.cilium.k8s.namespace.labels." + k] = v;
  }
  return out;
}

}  // namespace

Failsafe Failsafe::calico_defaults() {
  using namespace ipproto;
  return Failsafe{
      {{kTcp, 22},
       {kUdp, 68},
       {kTcp, 179},
       {kTcp, 2379},
       {kTcp, 2380},
       {kTcp, 5473},
       {kTcp, 6443},
       {kTcp, 6666},
       {kTcp, 6667}},
      {{kUdp, 53},
       {kUdp, 67},
       {kTcp, 179},
       {kTcp, 2379},
       {kTcp, 2380},
       {kTcp, 5473},
       {kTcp, 6443},
       {kTcp, 6666},
       {kTcp, 6667}},
  };
}

bool Selectable::owns(const IpAddr& ip) const {
  if (endpoint != nullptr) {
    return std::ranges::find(endpoint->ips, ip) != endpoint->ips.end();
  }
  return std::ranges::any_of(network_set->nets, [&](const Cidr& c) { return c.contains(ip); });
}

const Endpoint* Snapshot::endpoint_at(const IpAddr& ip) const {
  for (const Endpoint& ep : endpoints) {  // workload endpoints come first
    if (std::ranges::find(ep.ips, ip) != ep.ips.end()) {
      return &ep;
    }
  }
  return nullptr;
}

const Node* Snapshot::node_at(const IpAddr& ip) const {
  for (const auto& [name, node] : nodes) {
    if (std::ranges::find(node.addresses, ip) != node.addresses.end()) {
      return &node;
    }
  }
  return nullptr;
}

Labels Snapshot::namespace_labels(const std::string& ns) const {
  auto it = namespaces.find(ns);
  Labels out = it == namespaces.end() ? Labels{} : it->second.labels;
  out.emplace("kubernetes.io/metadata.name", ns);
  out.emplace("projectcalico.org/name", ns);
  return out;
}

const Tier* Snapshot::tier(const std::string& name) const {
  auto it = std::ranges::find(tiers, name, &Tier::name);
  return it == tiers.end() ? nullptr : &*it;
}

std::optional<Endpoint> pod_endpoint(const Pod& pod, const std::string& source) {
  if (pod.finished || pod.host_network) {
    return std::nullopt;  // an ended pod is no endpoint, as in Calico: its address is released
  }
  Endpoint ep;
  ep.kind = EndpointKind::Workload;
  ep.ns = pod.ns;
  ep.name = pod.name;
  ep.node = pod.node;
  ep.labels = pod.labels;
  ep.service_account = pod.service_account;
  ep.ips = pod.ips;
  ep.named_ports = pod.named_ports;
  ep.port_annotation = pod.port_annotation;
  ep.source = source;
  return ep;
}

Selectable make_selectable(const Snapshot& snap, const Endpoint& ep) {
  Selectable s;
  s.kind = ep.kind == EndpointKind::Workload ? Selectable::Kind::Workload : Selectable::Kind::Host;
  s.ns = ep.ns;
  s.endpoint = &ep;
  s.service_account = ep.service_account;
  if (auto it = snap.service_accounts.find(std::pair{ep.ns, ep.service_account});
      it != snap.service_accounts.end()) {
    s.service_account_labels = it->second;
  }
  s.labels_by_dialect[size_t(Dialect::Kubernetes)] = ep.labels;
  s.labels_by_dialect[size_t(Dialect::Calico)] = calico_labels(ep);
  s.labels_by_dialect[size_t(Dialect::Cilium)] =
      ep.kind == EndpointKind::Workload ? cilium_labels(ep, snap.namespace_labels(ep.ns))
                                        : ep.labels;
  return s;
}

void Snapshot::replace_workload(const std::string& ns, const std::string& name,
                                std::optional<Endpoint> ep) {
  const auto workloads_end = std::ranges::partition_point(
      endpoints, [](const Endpoint& e) { return e.kind == EndpointKind::Workload; });
  const auto at = std::lower_bound(
      endpoints.begin(), workloads_end, std::tie(ns, name),
      [](const Endpoint& e, const auto& id) { return std::tie(e.ns, e.name) < id; });
  const auto index = at - endpoints.begin();
  const bool present = at != workloads_end && at->ns == ns && at->name == name;
  if (present && ep) {
    *at = std::move(*ep);
    selectables[size_t(index)] = make_selectable(*this, *at);
  } else if (present) {
    endpoints.erase(at);
    selectables.erase(selectables.begin() + index);
  } else if (ep) {
    endpoints.insert(at, std::move(*ep));
    selectables.insert(selectables.begin() + index, Selectable{});
    selectables[size_t(index)] = make_selectable(*this, endpoints[size_t(index)]);
  }
  // Inserting or erasing moved the endpoints: every selectable points at its own again.
  for (size_t i = 0; i < endpoints.size(); ++i) {
    selectables[i].endpoint = &endpoints[i];
  }
}

SnapshotBuild build_snapshot(const std::vector<Object>& objects, const Failsafe& failsafe) {
  auto snap = std::make_unique<Snapshot>();
  SnapshotBuild out;
  snap->failsafe = failsafe;
  auto& service_accounts = snap->service_accounts;
  std::vector<Endpoint> hosts;
  std::vector<const Object*> policy_objects;

  auto node = [&](const std::string& name) -> Node& {
    Node& n = snap->nodes[name];
    n.name = name;
    return n;
  };
  auto add_address = [](Node& n, const IpAddr& ip) {
    if (std::ranges::find(n.addresses, ip) == n.addresses.end()) {
      n.addresses.push_back(ip);
    }
  };

  for (const Object& obj : objects) {
    std::visit(
        [&](const auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, Namespace>) {
            snap->namespaces[body.name] = body;
          } else if constexpr (std::is_same_v<T, ServiceAccount>) {
            service_accounts[{body.ns, body.name}] = body.labels;
          } else if constexpr (std::is_same_v<T, Node>) {
            Node& n = node(body.name);
            n.labels = body.labels;
            for (const IpAddr& ip : body.addresses) {
              add_address(n, ip);
            }
          } else if constexpr (std::is_same_v<T, Pod>) {
            if (body.host_network && !body.finished && !body.node.empty()) {
              // Not an endpoint: its traffic is its node's traffic.
              for (const IpAddr& ip : body.ips) {
                add_address(node(body.node), ip);
              }
            }
            if (std::optional<Endpoint> ep = pod_endpoint(body, obj.source)) {
              snap->endpoints.push_back(std::move(*ep));
            }
          } else if constexpr (std::is_same_v<T, Endpoint>) {
            hosts.push_back(body);
          } else if constexpr (std::is_same_v<T, NetworkSet>) {
            snap->network_sets.push_back(body);
          } else if constexpr (std::is_same_v<T, Tier>) {
            snap->tiers.push_back(body);
          } else if constexpr (std::is_same_v<T, std::vector<Policy>>) {
            policy_objects.push_back(&obj);
          }
        },
        obj.body);
  }

  // Host endpoints: their expected IPs are their node's addresses; one with none (an
  // interface-only host endpoint) takes the node's addresses.
  for (Endpoint& h : hosts) {
    for (const IpAddr& ip : h.ips) {
      add_address(node(h.node), ip);
    }
  }
  for (Endpoint& h : hosts) {
    if (h.ips.empty()) {
      h.ips = node(h.node).addresses;
    }
  }
  auto by_identity = [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  };
  std::ranges::sort(snap->endpoints, by_identity);
  std::ranges::sort(hosts, by_identity);
  snap->endpoints.insert(snap->endpoints.end(), hosts.begin(), hosts.end());
  std::ranges::sort(snap->network_sets, [](const NetworkSet& a, const NetworkSet& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });

  if (snap->tier("default") == nullptr) {
    snap->tiers.push_back(Tier{"default", kDefaultTierOrder, Action::Deny, "(implicit)"});
  }
  for (Tier& t : snap->tiers) {
    if (t.name == "default") {
      t.order = kDefaultTierOrder;
    }
  }
  std::ranges::sort(snap->tiers, [](const Tier& a, const Tier& b) {
    if (a.order != b.order) {
      return order_less(a.order, b.order);
    }
    return a.name < b.name;
  });

  for (const Object* obj : policy_objects) {
    const auto& lowered = std::get<std::vector<Policy>>(obj->body);
    if (!lowered.empty() && snap->tier(lowered.front().tier) == nullptr) {
      out.errors.push_back(Error{
          ErrorCode::NotFound, obj->source, obj->key.to_string(), "spec.tier",
          "tier \"" + lowered.front().tier + "\" does not exist; the policy is not in force"});
      continue;
    }
    snap->policies.insert(snap->policies.end(), lowered.begin(), lowered.end());
  }
  std::vector<std::string> tier_rank;
  for (const Tier& t : snap->tiers) {
    tier_rank.push_back(t.name);
  }
  auto rank = [&](const std::string& tier) {
    return std::ranges::find(tier_rank, tier) - tier_rank.begin();
  };
  std::ranges::stable_sort(snap->policies, [&](const Policy& a, const Policy& b) {
    if (a.tier != b.tier) {
      return rank(a.tier) < rank(b.tier);
    }
    if (a.band != b.band) {
      return a.band < b.band;
    }
    if (a.order != b.order) {
      return order_less(a.order, b.order);
    }
    return a.qualified_name() < b.qualified_name();
  });

  for (const Endpoint& ep : snap->endpoints) {
    snap->selectables.push_back(make_selectable(*snap, ep));
  }
  for (const NetworkSet& set : snap->network_sets) {
    Selectable s;
    s.kind = Selectable::Kind::NetworkSet;
    s.ns = set.ns;
    s.network_set = &set;
    Labels calico = set.labels;
    if (!set.ns.empty()) {
      calico["projectcalico.org/namespace"] = set.ns;
    }
    s.labels_by_dialect[size_t(Dialect::Calico)] = std::move(calico);
    snap->selectables.push_back(std::move(s));
  }
  out.snapshot = std::move(snap);
  return out;
}

}  // namespace palisade::policy
