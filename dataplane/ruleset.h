// Ruleset: one policy generation, built whole on the control thread and published with RCU
// (dataplane/publisher.h): the compiled policy and its rte_acl tables, the endpoint table
// (address -> policy sets and local port), the verdict table of the tier walk, and what each
// pod port may send (anti-spoofing). Workers read it through `view` (a Generation). A packet is
// judged entirely by one Ruleset; nothing in it changes once published, except the
// per-worker hit counters, which only their worker writes.
#pragma once

#include <rte_byteorder.h>
#include <rte_ethdev.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/acl_tables.h"
#include "dataplane/endpoint_table.h"
#include "dataplane/hot/generation.h"
#include "dataplane/hot/ports.h"
#include "dataplane/table_cache.h"
#include "dataplane/verdict_table.h"
#include "policy/compiled_policy.h"

namespace palisade::dataplane {

// A pod port and the pod the node file binds it to.
struct PortBinding {
  uint16_t port = 0;
  std::string pod;  // namespace/name
  Mac mac{};        // the pod's MAC: the only source MAC the port accepts
};

// Judgements per verdict entry, one row per worker: the storage behind Generation::hits.
class VerdictCounters {
 public:
  VerdictCounters(size_t workers, size_t verdicts)
      : verdicts_(verdicts), hits_(workers * verdicts) {}
  VerdictHits view() { return {hits_.data(), static_cast<uint32_t>(verdicts_)}; }
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
  std::unique_ptr<VerdictTable> verdict_table;
  std::array<PodPortGuard, RTE_MAX_ETHPORTS> guards{};
  std::vector<std::string> port_pods;  // by port id: the pod bound there, "" if none
  std::unique_ptr<VerdictCounters> counters;
  // Pods named by a binding that are no endpoint of this node in the compiled policy (the
  // port drops everything).
  std::vector<std::string> missing_pods;
  TableBuild table_build;  // how the tables were made: in full, or as an overlay
  Generation view;         // what workers read of all the above (dataplane/hot/generation.h)
};

struct RulesetOptions {
  size_t workers = 1;
  size_t max_size = 0;  // rte_acl max_size per family; 0: no bound
  // Builds the tables incrementally across generations (its own max_size applies); when
  // null, each generation's tables are built in full.
  TableCache* tables = nullptr;
};

// Builds a generation from a compiled policy; a bound pod's addresses are those the policy
// binds to it. Errors (a table over its limits) leave the caller's current generation in
// force.
policy::Result<std::unique_ptr<Ruleset>> build_ruleset(uint64_t generation,
                                                       policy::CompiledPolicy&& compiled,
                                                       const std::vector<PortBinding>& bindings,
                                                       const RulesetOptions& options);

}  // namespace palisade::dataplane
