// Peer lowering: one side of a rule (its PeerMatch) becomes address sets with the ports each
// admits. This is where symbolic selectors become addresses: a selector is the addresses of
// the endpoints and network sets it selects, `notSelector`, `notNets` and `except` are exact
// differences, entities are address sets of the cluster and its nodes, and named ports split
// the addresses by the endpoint that owns them, since each may give the name its own number.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/address_set.h"
#include "policy/interval_set.h"
#include "policy/snapshot.h"

namespace palisade::policy {

using PortSet = IntervalSet<uint32_t>;  // over [0, 65535]
PortSet all_ports();

struct PeerPiece {
  AddressSet addresses;
  PortSet ports;
};

// What the rules of one policy set read from the snapshot's endpoints, recorded while they
// are lowered, so that a compile session knows which sets a changed pod can change
// (policy/compile_session.h).
struct PeerReads {
  // Selector sets (selector, notSelector), by their cache key: a pod that one selects, before
  // or after a change, changes the set's addresses.
  std::vector<std::pair<std::string, const EndpointSelector*>> selectors;
  // Port names resolved on peer endpoints: a pod that declares one may give it a number.
  std::vector<std::string> port_names;
  // Entities made of every pod's address (cluster, world).
  bool pod_addresses = false;
};

// Address sets computed once per snapshot and shared by every rule that needs them. The
// indexes over endpoints and selectables are built on first use, so that a session that
// lowers a few sets after a pod changed does not pay for the whole cluster's.
class PeerLowering {
 public:
  // dns: the addresses DNS answers gave, with the names asked (for toFQDNs).
  PeerLowering(const Snapshot& snap, std::vector<std::pair<IpAddr, std::string>> dns);

  // The pieces of one side of a rule, for the endpoint being judged and one protocol (named
  // ports resolve per protocol). Empty: the side matches nothing. `ported` is whether the
  // protocol has ports (else port constraints cannot match and the side has none).
  // `judged_side`: this side's address is always the judged endpoint's (the destination of
  // an ingress, the source of an egress), so its names resolve on the judged endpoint alone
  // rather than on every endpoint that declares them.
  std::vector<PeerPiece> lower(const PeerMatch& m, const Endpoint& judged, uint8_t protocol,
                               bool ported, bool is_destination, bool judged_side);

  const AddressSet& node_addresses(const std::string& node) const;

  // Where lower() records what it reads until the next call; nullptr: nowhere.
  void record_into(PeerReads* reads) { reads_ = reads; }

 private:
  void index_endpoints();
  void index_selectables();
  const AddressSet& selector_set(const EndpointSelector& sel);
  AddressSet entity_set(Entity e, const Endpoint& judged);
  AddressSet address_part(const PeerMatch& m, const Endpoint& judged, bool is_destination);

  const Snapshot& snap_;
  std::vector<std::pair<IpAddr, std::string>> dns_;
  AddressSet pods_, nodes_, empty_;
  std::map<std::string, AddressSet, std::less<>> node_sets_;  // addresses node_at() gives each
  // Owner of each endpoint address, as endpoint_at() decides it (workloads first).
  std::vector<std::pair<const Endpoint*, AddressSet>> owned_;
  std::map<std::string, AddressSet, std::less<>> selector_cache_;
  std::map<std::string, std::vector<size_t>, std::less<>> by_port_name_;  // into owned_
  std::vector<const Selectable*> all_selectables_;
  bool endpoints_indexed_ = false, selectables_indexed_ = false;
  PeerReads* reads_ = nullptr;
  std::map<std::string, std::vector<const Selectable*>, std::less<>> selectables_by_ns_;
};

}  // namespace palisade::policy
