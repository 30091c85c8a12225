// Ruleset: one policy generation as the workers see it, built whole on the control thread and
// published with RCU (dataplane/publisher.h): the compiled policy and its rte_acl tables, the
// endpoint table (address -> policy sets and local port), and what each pod port may send
// (anti-spoofing). A packet is judged entirely by one Ruleset; nothing in it changes once
// published, except the per-worker hit counters, which only their worker writes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <rte_byteorder.h>
#include <rte_ethdev.h>

#include "dataplane/acl_tables.h"
#include "dataplane/endpoint_table.h"
#include "dataplane/table_cache.h"
#include "policy/compiled_policy.h"
#include "policy/snapshot.h"

namespace palisade::dataplane {

using Mac = std::array<uint8_t, 6>;

// A pod port and the pod the node file binds it to.
struct PortBinding {
  uint16_t port = 0;
  std::string pod;  // namespace/name
  Mac mac{};        // the pod's MAC: the only source MAC the port accepts
};

// What a pod port accepts in this generation: its pod's MAC and addresses, nothing else.
struct PodPortGuard {
  static constexpr size_t kMaxAddresses = 4;  // per family; Kubernetes gives at most one each
  bool bound = false;
  Mac mac{};
  uint8_t v4_count = 0, v6_count = 0;
  std::array<rte_be32_t, kMaxAddresses> v4{};
  std::array<std::array<uint8_t, 16>, kMaxAddresses> v6{};

  // Inline: a pod port's every packet asks one of them.
  bool owns_v4(const uint8_t* addr) const noexcept {
    rte_be32_t a;
    std::memcpy(&a, addr, 4);
    for (uint8_t i = 0; i < v4_count; ++i) {
      if (v4[i] == a) {
        return true;
      }
    }
    return false;
  }
  bool owns_v6(const uint8_t* addr) const noexcept {
    uint64_t hi, lo;
    std::memcpy(&hi, addr, 8);
    std::memcpy(&lo, addr + 8, 8);
    for (uint8_t i = 0; i < v6_count; ++i) {
      uint64_t h, l;
      std::memcpy(&h, v6[i].data(), 8);
      std::memcpy(&l, v6[i].data() + 8, 8);
      if (((h ^ hi) | (l ^ lo)) == 0) {
        return true;
      }
    }
    return false;
  }
};

// Hits per verdict entry, one row per worker (only that worker writes it; readers load).
class VerdictCounters {
 public:
  VerdictCounters(size_t workers, size_t verdicts) : verdicts_(verdicts), hits_(workers * verdicts) {}
  void hit(uint32_t worker, uint32_t verdict) noexcept {
    std::atomic_ref<uint64_t> c(hits_[worker * verdicts_ + verdict]);
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  uint64_t total(uint32_t verdict) const;

 private:
  size_t verdicts_;
  mutable std::vector<uint64_t> hits_;
};

struct Ruleset {
  uint64_t generation = 0;
  policy::CompiledPolicy policy;
  std::unique_ptr<AclTables> tables;
  std::unique_ptr<EndpointTable> endpoints;
  std::array<PodPortGuard, RTE_MAX_ETHPORTS> guards{};
  std::vector<std::string> port_pods;  // by port id: the pod bound there, "" if none
  std::unique_ptr<VerdictCounters> counters;
  // Pods named by a binding that the snapshot does not have (the port drops everything).
  std::vector<std::string> missing_pods;
  TableBuild table_build;  // how the tables were made: in full, or as an overlay
};

struct RulesetOptions {
  size_t workers = 1;
  size_t max_size = 0;  // rte_acl max_size per family; 0: no bound
  // Builds the tables incrementally across generations (its own max_size applies); when
  // null, each generation's tables are built in full.
  TableCache* tables = nullptr;
};

// Builds a generation from a compiled snapshot. Errors (a table over its limits) leave the
// caller's current generation in force.
policy::Result<std::unique_ptr<Ruleset>> build_ruleset(uint64_t generation,
                                                       policy::CompiledPolicy&& compiled,
                                                       const policy::Snapshot& snapshot,
                                                       const std::vector<PortBinding>& bindings,
                                                       const RulesetOptions& options);

}  // namespace palisade::dataplane
