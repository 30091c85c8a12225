#include "dataplane/endpoint_table.h"

#include <atomic>
#include <cstring>
#include <string>

#include <rte_errno.h>
#include <rte_hash_crc.h>

namespace palisade::dataplane {

namespace {

std::atomic<uint64_t> g_serial{0};  // rte_hash names must be unique

// Both set ids in the hash's data word: egress in the high half, ingress in the low.
void* pack(uint32_t egress, uint32_t ingress) {
  return reinterpret_cast<void*>((uint64_t{egress} << 32) | ingress);
}
EndpointSets unpack(void* data) {
  const auto v = reinterpret_cast<uint64_t>(data);
  return {static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v)};
}

rte_hash* make(const char* family, uint32_t key_len, uint32_t entries) {
  const std::string name = std::string("palisade-ep") + family + "-" +
                           std::to_string(g_serial.fetch_add(1));
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = std::max<uint32_t>(entries * 2, 64);  // headroom: bucket collisions
  params.key_len = key_len;
  params.hash_func = rte_hash_crc;
  params.socket_id = SOCKET_ID_ANY;
  // Read by workers concurrently; written only while being built.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  return rte_hash_create(&params);
}

}  // namespace

policy::Result<std::unique_ptr<EndpointTable>> EndpointTable::build(
    const policy::CompiledPolicy& p) {
  std::unique_ptr<EndpointTable> t(new EndpointTable());
  const auto entries = static_cast<uint32_t>(p.endpoints.size());
  t->v4_ = make("4", 4, entries);
  t->v6_ = make("6", 16, entries);
  if (t->v4_ == nullptr || t->v6_ == nullptr) {
    return policy::Error{policy::ErrorCode::LimitExceeded, "rte_hash", {}, {},
                         "cannot create the endpoint table for " + std::to_string(entries) +
                             " addresses: " + rte_strerror(rte_errno)};
  }
  for (const policy::EndpointBinding& b : p.endpoints) {
    rte_hash* h = b.ip.family == 4 ? t->v4_ : t->v6_;
    if (rte_hash_add_key_data(h, b.ip.bytes.data(), pack(b.egress_set, b.ingress_set)) != 0) {
      return policy::Error{policy::ErrorCode::LimitExceeded, "rte_hash", b.name, {},
                           "cannot add " + b.ip.to_string() + " to the endpoint table"};
    }
  }
  return t;
}

EndpointTable::~EndpointTable() {
  rte_hash_free(v4_);
  rte_hash_free(v6_);
}

void EndpointTable::lookup_v4(const rte_be32_t* const* addrs, uint32_t n,
                              EndpointSets* out) const {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  // rte_hash takes `const void**`: the addresses are only read.
  rte_hash_lookup_bulk_data(v4_, const_cast<const void**>(reinterpret_cast<const void* const*>(addrs)),
                            n, &hits, data);
  for (uint32_t i = 0; i < n; ++i) {
    out[i] = (hits >> i) & 1 ? unpack(data[i]) : EndpointSets{};
  }
}

void EndpointTable::lookup_v6(const uint8_t* const* addrs, uint32_t n, EndpointSets* out) const {
  void* data[RTE_HASH_LOOKUP_BULK_MAX];
  uint64_t hits = 0;
  rte_hash_lookup_bulk_data(v6_, const_cast<const void**>(reinterpret_cast<const void* const*>(addrs)),
                            n, &hits, data);
  for (uint32_t i = 0; i < n; ++i) {
    out[i] = (hits >> i) & 1 ? unpack(data[i]) : EndpointSets{};
  }
}

EndpointSets EndpointTable::lookup(const policy::IpAddr& ip) const {
  void* data = nullptr;
  if (rte_hash_lookup_data(ip.family == 4 ? v4_ : v6_, ip.bytes.data(), &data) < 0) {
    return {};
  }
  return unpack(data);
}

}  // namespace palisade::dataplane
