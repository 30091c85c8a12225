// A synthetic cluster with the realistic mix of the benchmarks: namespaces of ~20 pods,
// default deny plus an allow-list per namespace, a security tier with a threat feed and a
// DNS allowance, a monitoring namespace that scrapes every pod.
#pragma once

#include <string>
#include <vector>

#include "policy/object.h"

namespace palisade::perf {

struct ClusterSize {
  int pods = 100;
  int policies = 10;  // namespaced policies; about two per namespace
};

std::vector<policy::Object> make_cluster(const ClusterSize& size);
// The same cluster as YAML documents, for tools that read manifests.
std::vector<std::string> make_cluster_yaml(const ClusterSize& size);
// One more pod, for the cost of an update: in the first namespace by default; in
// "monitoring", every namespace's policies admit it.
policy::Object extra_pod(int serial, const std::string& ns = "ns0");
// ns0/allow-1 with another port each serial, for the cost of a policy changed.
policy::Object changed_policy(int serial);
// A policy that was not there, in ns0: a new name each serial.
policy::Object added_policy(int serial);

}  // namespace palisade::perf
