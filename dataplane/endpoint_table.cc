#include "dataplane/endpoint_table.h"

#include <rte_errno.h>
#include <rte_hash_crc.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <string>

namespace palisade::dataplane {

namespace {

std::atomic<uint64_t> g_serial{0};  // rte_hash names must be unique

rte_hash* make(const char* family, uint32_t key_len, uint32_t entries) {
  const std::string name =
      std::string("palisade-ep") + family + "-" + std::to_string(g_serial.fetch_add(1));
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

uint32_t host_order(const policy::IpAddr& ip) {
  return (uint32_t{ip.bytes[0]} << 24) | (uint32_t{ip.bytes[1]} << 16) |
         (uint32_t{ip.bytes[2]} << 8) | ip.bytes[3];
}

policy::Result<std::unique_ptr<EndpointTable>> EndpointTable::build(
    const policy::CompiledPolicy& p, const std::vector<LocalRoute>& local) {
  // One entry per address: the endpoint's sets, and the local port where there is one.
  std::map<policy::IpAddr, EndpointSets> entries;
  std::map<policy::IpAddr, std::string> names;
  for (const policy::EndpointBinding& b : p.endpoints) {
    if (b.egress_set > kMaxSetId || b.ingress_set > kMaxSetId) {
      return policy::Error{policy::ErrorCode::LimitExceeded,
                           "endpoint table",
                           b.name,
                           {},
                           "more than 2^24 policy sets"};
    }
    entries[b.ip] = {b.egress_set, b.ingress_set, EndpointSets::kRemote};
    names[b.ip] = b.name;
  }
  for (const LocalRoute& r : local) {
    entries[r.ip].port = r.port;
  }
  std::unique_ptr<EndpointTable> t(new EndpointTable());
  const auto count = static_cast<uint32_t>(entries.size());
  std::vector<uint32_t> v4;
  for (const auto& [ip, sets] : entries) {
    if (ip.family == 4) {
      v4.push_back(host_order(ip));
    }
  }
  t->lpm_ = take_lpm(v4);
  t->v6_ = make("6", 16, count);
  if (t->lpm_ == nullptr || t->v6_ == nullptr) {
    return policy::Error{policy::ErrorCode::LimitExceeded,
                         "endpoint table",
                         {},
                         {},
                         "cannot create the endpoint table for " + std::to_string(count) +
                             " addresses: " + rte_strerror(rte_errno)};
  }
  t->sets_.assign(t->lpm_->slots, EndpointSets{});  // slots of no address stay unused
  for (const auto& [ip, sets] : entries) {
    if (ip.family == 4) {
      t->sets_[t->lpm_->slot_of.at(host_order(ip))] = sets;
    } else if (const int rc = rte_hash_add_key_data(t->v6_, ip.bytes.data(), pack_sets(sets));
               rc != 0) {
      return policy::Error{policy::ErrorCode::LimitExceeded,
                           "endpoint table",
                           names[ip],
                           {},
                           "cannot add " + ip.to_string() + ": " + rte_strerror(-rc)};
    }
  }
  t->index_ = {t->lpm_->lpm, t->v6_, t->sets_.data()};
  return t;
}

EndpointTable::~EndpointTable() {
  give_back_lpm(std::move(lpm_));
  rte_hash_free(v6_);
}

EndpointSets EndpointTable::lookup(const policy::IpAddr& ip) const {
  if (ip.family == 4) {
    uint32_t hop = 0;
    return rte_lpm_lookup(lpm_->lpm, host_order(ip), &hop) == 0 ? sets_[hop] : EndpointSets{};
  }
  void* data = nullptr;
  if (rte_hash_lookup_data(v6_, ip.bytes.data(), &data) < 0) {
    return {};
  }
  return unpack_sets(data);
}

}  // namespace palisade::dataplane
