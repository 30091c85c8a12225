// Where an address is, as a burst asks: the policy sets of the endpoint that owns it and, for
// a pod behind one of this node's ports, that port. Reads one generation's EndpointIndex
// (made and owned by dataplane/endpoint_table), a burst of addresses at a time: IPv4 in an
// rte_lpm of /32 routes (two memory reads a lookup), IPv6 in an rte_hash.
#pragma once

#include <rte_byteorder.h>
#include <rte_hash.h>
#include <rte_lpm.h>

#include <cstdint>

namespace palisade::dataplane {

// An address's policy sets and, for a pod on one of this node's ports, that port.
struct EndpointSets {
  static constexpr uint16_t kRemote = 0xffff;  // not behind a local port: route to the uplink
  uint32_t egress = 0, ingress = 0;            // 0: not an endpoint judged here
  uint16_t port = kRemote;
};

// One generation's endpoint tables, read-only while it is published.
struct EndpointIndex {
  const rte_lpm* v4 = nullptr;         // next hop: index into sets
  const rte_hash* v6 = nullptr;        // data: both set ids and the port (pack_sets)
  const EndpointSets* sets = nullptr;  // IPv4 answers
};

// Set ids must fit in 24 bits: the IPv6 hash's data word holds egress and ingress (24 bits
// each) and the port.
inline constexpr uint32_t kMaxSetId = (1u << 24) - 1;
inline void* pack_sets(const EndpointSets& s) {
  return reinterpret_cast<void*>((uint64_t{s.egress} << 40) | (uint64_t{s.ingress} << 16) | s.port);
}
inline EndpointSets unpack_sets(void* data) {
  const auto v = reinterpret_cast<uint64_t>(data);
  return {static_cast<uint32_t>(v >> 40), static_cast<uint32_t>(v >> 16) & kMaxSetId,
          static_cast<uint16_t>(v)};
}

// n addresses (network order; IPv6: 16 bytes each) to their sets, at most
// RTE_HASH_LOOKUP_BULK_MAX per call; each answer in out[i], or where out[i] points (a
// worker's per-packet state, with no copy in between).
void lookup_v4(const EndpointIndex& index, const rte_be32_t* const* addrs, uint32_t n,
               EndpointSets* out) noexcept;
void lookup_v4(const EndpointIndex& index, const rte_be32_t* const* addrs, uint32_t n,
               EndpointSets* const* out) noexcept;
void lookup_v6(const EndpointIndex& index, const uint8_t* const* addrs, uint32_t n,
               EndpointSets* out) noexcept;
void lookup_v6(const EndpointIndex& index, const uint8_t* const* addrs, uint32_t n,
               EndpointSets* const* out) noexcept;

}  // namespace palisade::dataplane
