// The daemon's control thread: starts the EAL and the dataplane a node file describes, keeps
// the policy source's snapshot compiled and in force, prints flow events and counters, and
// stops on SIGINT/SIGTERM (or after --duration). Nothing is forwarded until the first
// snapshot is in force; a snapshot that fails to compile leaves the last good one in force.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/node_config.h"
#include "control/source/kube/reflector.h"
#include "control/source/policy_source.h"
#include "dataplane/dataplane.h"

namespace palisade::control {

struct DaemonOptions {
  double duration_s = 0;  // 0: until a signal
  bool log_flows = true;  // a line per judged connection
  double stats_interval_s = 10;
  std::optional<std::string> admin_listen;  // overrides the node file's admin.listen
  std::optional<std::string> kubeconfig;    // overrides the node file's policy.kubeconfig
  kube::ReflectorOptions reflector;         // list/watch tuning (tests shorten it)
};

// The dataplane a node file stands for.
dataplane::DataplaneConfig dataplane_config(const NodeConfig& config);

// The node file's policy source: a watched directory, or the Kubernetes API (a kubeconfig
// from the options, the node file, $KUBECONFIG or ~/.kube/config outside a pod; in a pod, its
// service account).
policy::Result<std::unique_ptr<PolicySource>> make_policy_source(const NodeConfig& config,
                                                                 const DaemonOptions& options);

int run_daemon(const NodeConfig& config, const DaemonOptions& options);

}  // namespace palisade::control
