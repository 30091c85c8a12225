// Snapshot: one immutable, consistent view of every policy input, built from the objects of
// a store. The resolver and the evaluator read it; nothing changes it once built.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/error.h"
#include "policy/model.h"
#include "policy/object.h"

namespace palisade::policy {

// Calico's failsafe ports of host endpoints: let a policy mistake never lock the operator out.
struct FailsafePort {
  uint8_t protocol;
  uint16_t port;
};
struct Failsafe {
  std::vector<FailsafePort> inbound, outbound;
  static Failsafe calico_defaults();
};

// Something a selector can select: a workload endpoint, a host endpoint or a network set,
// with the labels each dialect sees (docs/semantics.md, "Endpoints").
struct Selectable {
  enum class Kind : uint8_t { Workload, Host, NetworkSet } kind = Kind::Workload;
  std::string ns;  // empty: non-namespaced (host endpoints, global network sets)
  std::array<Labels, 3> labels_by_dialect;  // indexed by Dialect
  std::string service_account;
  Labels service_account_labels;
  const Endpoint* endpoint = nullptr;  // Workload, Host
  const NetworkSet* network_set = nullptr;

  const Labels& labels(Dialect d) const { return labels_by_dialect[static_cast<size_t>(d)]; }
  bool owns(const IpAddr& ip) const;
};

struct Snapshot {
  std::map<std::string, Namespace, std::less<>> namespaces;
  std::vector<Endpoint> endpoints;  // workload endpoints, then host endpoints
  std::vector<NetworkSet> network_sets;
  std::map<std::string, Node, std::less<>> nodes;
  std::vector<Tier> tiers;       // in evaluation order; `default` always present
  std::vector<Policy> policies;  // in evaluation order: tier, band, order, name
  // Every endpoint (first, in the order of `endpoints`) and network set, with their labels.
  std::vector<Selectable> selectables;
  // Service accounts' labels by (namespace, name), for serviceAccountSelector.
  std::map<std::pair<std::string, std::string>, Labels, std::less<>> service_accounts;
  Failsafe failsafe = Failsafe::calico_defaults();

  // The endpoint that owns an address (a workload endpoint before a host endpoint).
  const Endpoint* endpoint_at(const IpAddr& ip) const;
  // The node one of whose addresses this is.
  const Node* node_at(const IpAddr& ip) const;
  // A namespace's labels; a namespace with no Namespace object has only its name labels.
  Labels namespace_labels(const std::string& ns) const;
  const Tier* tier(const std::string& name) const;

  // Puts `ep` (a workload endpoint) in place of the workload endpoint ns/name; either may be
  // absent. Every order and link build_snapshot() gives is kept, so the result equals the
  // snapshot built from the changed objects. For a compile session that patches the snapshot
  // it compiled last rather than building it again: moves, but no copies of other endpoints.
  void replace_workload(const std::string& ns, const std::string& name, std::optional<Endpoint> ep);

  Snapshot() = default;
  Snapshot(const Snapshot&) = delete;  // selectables point into the vectors above
  Snapshot& operator=(const Snapshot&) = delete;
  Snapshot(Snapshot&&) = default;
  Snapshot& operator=(Snapshot&&) = default;
};

struct SnapshotBuild {
  std::unique_ptr<Snapshot> snapshot;
  // Objects that decode but cannot take part (a policy in a tier that does not exist):
  // each is left out of the snapshot and reported here.
  std::vector<Error> errors;
};

// The workload endpoint a pod is; nullopt for a pod that is none (finished, host-networked).
std::optional<Endpoint> pod_endpoint(const Pod& pod, const std::string& source);

// The selectable that stands for an endpoint of `snap`, with the labels each dialect sees.
Selectable make_selectable(const Snapshot& snap, const Endpoint& ep);

// Builds a snapshot from the objects in force. The result does not depend on their order.
SnapshotBuild build_snapshot(const std::vector<Object>& objects,
                             const Failsafe& failsafe = Failsafe::calico_defaults());

}  // namespace palisade::policy
