// EndpointTable: from an address to the policy sets of the endpoint that owns it, looked up a
// burst at a time: IPv4 in an rte_lpm of /32 routes (two memory reads a lookup, and the same
// structure the routed model forwards with), IPv6 in an rte_hash. Built from a
// CompiledPolicy with its tables; immutable once built, so workers read it without locks.
// The rte_lpm comes from a pool and goes back to it when the table is destroyed (after its
// generation's grace period): see dataplane/lpm_pool.h for why.
#pragma once

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_lpm.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/hot/endpoint_lookup.h"
#include "dataplane/lpm_pool.h"
#include "policy/compiled_policy.h"
#include "policy/error.h"

namespace palisade::dataplane {

// A local pod's address and the port it is behind.
struct LocalRoute {
  policy::IpAddr ip;
  uint16_t port = 0;
};

class EndpointTable {
 public:
  // Set ids must fit in 24 bits (kMaxSetId: the IPv6 table packs both ids and the port).
  static policy::Result<std::unique_ptr<EndpointTable>> build(
      const policy::CompiledPolicy& p, const std::vector<LocalRoute>& local = {});
  ~EndpointTable();
  EndpointTable(const EndpointTable&) = delete;
  EndpointTable& operator=(const EndpointTable&) = delete;

  // What workers read (dataplane/hot/endpoint_lookup.h looks addresses up in it).
  const EndpointIndex& index() const { return index_; }
  // One address, for the control thread and tests.
  EndpointSets lookup(const policy::IpAddr& ip) const;

 private:
  EndpointTable() = default;
  std::unique_ptr<PooledLpm> lpm_;  // IPv4 /32 routes, from the pool (dataplane/lpm_pool.h)
  rte_hash* v6_ = nullptr;          // owned
  std::vector<EndpointSets> sets_;  // IPv4 answers, by the lpm's next hop
  EndpointIndex index_;
};

}  // namespace palisade::dataplane
