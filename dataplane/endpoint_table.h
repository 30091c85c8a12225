// EndpointTable: from an address to the policy sets of the endpoint that owns it, looked up a
// burst at a time: IPv4 in an rte_lpm of /32 routes (two memory reads a lookup, and the same
// structure the routed model forwards with), IPv6 in an rte_hash. Built from a
// CompiledPolicy with its tables; immutable once built, so workers read it without locks.
// The rte_lpm comes from a pool and goes back to it when the table is destroyed (after its
// generation's grace period): see dataplane/lpm_pool.h for why.
#pragma once

#include <cstdint>
#include <memory>

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_lpm.h>

#include <vector>

#include "dataplane/lpm_pool.h"
#include "policy/compiled_policy.h"
#include "policy/error.h"

namespace palisade::dataplane {

// An address's policy sets and, for a pod on one of this node's ports, that port.
struct EndpointSets {
  static constexpr uint16_t kRemote = 0xffff;  // not behind a local port: route to the uplink
  uint32_t egress = 0, ingress = 0;  // 0: not an endpoint judged here
  uint16_t port = kRemote;
};

// A local pod's address and the port it is behind.
struct LocalRoute {
  policy::IpAddr ip;
  uint16_t port = 0;
};

class EndpointTable {
 public:
  // Set ids must fit in 24 bits (the IPv6 table packs both ids and the port in one word).
  static policy::Result<std::unique_ptr<EndpointTable>> build(
      const policy::CompiledPolicy& p, const std::vector<LocalRoute>& local = {});
  ~EndpointTable();
  EndpointTable(const EndpointTable&) = delete;
  EndpointTable& operator=(const EndpointTable&) = delete;

  // n IPv4 addresses (network order) to their sets; at most RTE_HASH_LOOKUP_BULK_MAX per call.
  void lookup_v4(const rte_be32_t* const* addrs, uint32_t n, EndpointSets* out) const;
  // n IPv6 addresses (16 bytes each, network order).
  void lookup_v6(const uint8_t* const* addrs, uint32_t n, EndpointSets* out) const;
  // The same, each answer written where out[i] points (a worker's per-packet state), with no
  // copy in between.
  void lookup_v4(const rte_be32_t* const* addrs, uint32_t n, EndpointSets* const* out) const;
  void lookup_v6(const uint8_t* const* addrs, uint32_t n, EndpointSets* const* out) const;
  EndpointSets lookup(const policy::IpAddr& ip) const;

 private:
  EndpointTable() = default;
  template <typename Out>
  void lookup_v4_into(const rte_be32_t* const* addrs, uint32_t n, Out out) const;
  template <typename Out>
  void lookup_v6_into(const uint8_t* const* addrs, uint32_t n, Out out) const;
  std::unique_ptr<PooledLpm> lpm_;  // IPv4 /32 routes, from the pool (dataplane/lpm_pool.h)
  rte_lpm* v4_ = nullptr;           // lpm_'s table; next hop: index into sets_
  rte_hash* v6_ = nullptr;   // data: both set ids
  std::vector<EndpointSets> sets_;
};

}  // namespace palisade::dataplane
