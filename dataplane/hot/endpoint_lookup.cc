#include "dataplane/hot/endpoint_lookup.h"

namespace palisade::dataplane {

namespace {

// Where answer i goes: out + i, or *(out + i).
EndpointSets& at(EndpointSets* out, uint32_t i) { return out[i]; }
EndpointSets& at(EndpointSets* const* out, uint32_t i) { return *out[i]; }

template <typename Out>
void lookup_v4_into(const EndpointIndex& index, const rte_be32_t* const* addrs, uint32_t n,
                    Out out) noexcept {
  uint32_t ips[RTE_HASH_LOOKUP_BULK_MAX];
  uint32_t hops[RTE_HASH_LOOKUP_BULK_MAX];
  for (uint32_t i = 0; i < n; ++i) {
    ips[i] = rte_be_to_cpu_32(*addrs[i]);
  }
  rte_lpm_lookup_bulk(index.v4, ips, hops, n);
  for (uint32_t i = 0; i < n; ++i) {
    at(out, i) =
        (hops[i] & RTE_LPM_LOOKUP_SUCCESS) != 0 ? index.sets[hops[i] & 0x00ffffff] : EndpointSets{};
  }
}

template <typename Out>
void lookup_v6_into(const EndpointIndex& index, const uint8_t* const* addrs, uint32_t n,
                    Out out) noexcept {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  rte_hash_lookup_bulk_data(index.v6,
                            const_cast<const void**>(reinterpret_cast<const void* const*>(addrs)),
                            n, &hits, data);
  for (uint32_t i = 0; i < n; ++i) {
    at(out, i) = (hits >> i) & 1 ? unpack_sets(data[i]) : EndpointSets{};
  }
}

}  // namespace

void lookup_v4(const EndpointIndex& index, const rte_be32_t* const* addrs, uint32_t n,
               EndpointSets* out) noexcept {
  lookup_v4_into(index, addrs, n, out);
}

void lookup_v4(const EndpointIndex& index, const rte_be32_t* const* addrs, uint32_t n,
               EndpointSets* const* out) noexcept {
  lookup_v4_into(index, addrs, n, out);
}

void lookup_v6(const EndpointIndex& index, const uint8_t* const* addrs, uint32_t n,
               EndpointSets* out) noexcept {
  lookup_v6_into(index, addrs, n, out);
}

void lookup_v6(const EndpointIndex& index, const uint8_t* const* addrs, uint32_t n,
               EndpointSets* const* out) noexcept {
  lookup_v6_into(index, addrs, n, out);
}

}  // namespace palisade::dataplane
