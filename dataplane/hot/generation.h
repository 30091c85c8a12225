// Generation: what a burst reads of one policy generation, as plain views of the tables that
// dataplane/ruleset builds and owns: what each pod port may send, where each address is,
// the rte_acl contexts, the tier walk, and where judgements are counted. A packet is judged
// entirely by one Generation; nothing it points to changes while it is published (RCU), except
// the hit counters, whose rows only their worker writes.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/hot/classify.h"
#include "dataplane/hot/endpoint_lookup.h"
#include "dataplane/hot/ports.h"
#include "dataplane/hot/tier_walk.h"

namespace palisade::dataplane {

// Judgements per verdict entry, one row per worker.
struct VerdictHits {
  uint64_t* hits = nullptr;  // [worker * stride + verdict]
  uint32_t stride = 0;       // the generation's verdict entries

  // The worker's own row only: a relaxed load and store, as WorkerCounters.
  void hit(uint32_t worker, uint32_t verdict) const noexcept {
    std::atomic_ref<uint64_t> c(hits[size_t{worker} * stride + verdict]);
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

struct Generation {
  uint64_t number = 0;
  const PodPortGuard* guards = nullptr;  // by port id (RTE_MAX_ETHPORTS)
  EndpointIndex endpoints;
  ClassifyTables tables;
  TierWalk walk;
  VerdictHits hits;
};

}  // namespace palisade::dataplane
