// NodeSample: one reading of everything the admin API reports about a node (per worker, per
// port, per drop reason, per verdict entry of the generation in force, and the control
// plane), taken on the control thread without stopping the workers; and its two renderings,
// Prometheus text (/metrics) and JSON (/stats, which `palisadectl stats` prints).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/latency_histogram.h"
#include "dataplane/dataplane.h"

namespace palisade::control {

struct ControlPlaneSample {
  std::string source;        // "directory /etc/palisade/policies", "kubernetes https://..."
  bool in_sync = false;      // the source has delivered a complete view and still does
  std::string source_state;  // one line: "in sync", "API server unreachable for 12 s", ...
  uint64_t snapshots_published = 0;
  uint64_t compile_failures = 0;
  double last_compile_seconds = 0;
  size_t objects_in_force = 0;
  size_t objects_rejected = 0;
  // What the generation in force enforces less than written (policy/holdbacks.h): policies
  // with L7 rules that admit nothing, rejected policies held as isolation, and the
  // endpoints these hold.
  size_t policies_l7_held = 0;
  size_t policies_rejected_held = 0;
  size_t endpoints_held = 0;
  std::vector<std::string> holdbacks;                      // one line each
  const LatencyHistogram* event_to_enforcement = nullptr;  // null: not measured by the source
};

struct VerdictHits {
  std::string decided_by;  // "tier/policy", "tier/(end of tier)", ...
  std::string kind;        // allow, deny, pass, end_of_tier_deny, ...
  int32_t rule = -1;       // among the policy's rules of its direction; -1: none
  uint64_t hits = 0;
};

struct NodeSample {
  std::string node;
  uint64_t generation = 0;
  std::vector<dataplane::CounterValues> workers;
  std::vector<std::string> port_names;  // by port id
  uint32_t conntrack_live = 0, conntrack_capacity = 0;
  std::vector<VerdictHits> verdicts;  // of the generation in force, only entries hit
  ControlPlaneSample control;
};

// Reads the dataplane (control thread).
NodeSample sample_node(const std::string& node, const dataplane::Dataplane& dp,
                       ControlPlaneSample control);

std::string render_prometheus(const NodeSample& s);
std::string render_stats_json(const NodeSample& s);

}  // namespace palisade::control
