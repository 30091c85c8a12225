// The daemon's control thread: starts the EAL and the dataplane a node file describes, keeps
// the policy source's snapshot compiled and in force, prints flow events and counters, and
// stops on SIGINT/SIGTERM (or after --duration). Nothing is forwarded until the first
// snapshot is in force; a snapshot that fails to compile leaves the last good one in force.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/node_config.h"
#include "dataplane/dataplane.h"

namespace palisade::control {

struct DaemonOptions {
  double duration_s = 0;      // 0: until a signal
  bool log_flows = true;      // a line per judged connection
  double stats_interval_s = 10;
};

// The dataplane a node file stands for.
dataplane::DataplaneConfig dataplane_config(const NodeConfig& config);

int run_daemon(const NodeConfig& config, const DaemonOptions& options);

}  // namespace palisade::control
