// Writes a CompiledPolicy as ClassBench rule and trace files, the input of DPDK's own
// classify benchmark (dpdk-test-acl), so that the same address, port and protocol rules run
// through raw rte_acl outside Palisade. That format has a fixed 5-tuple: the policy-set id
// field and the categories are dropped, so every rule of every set lands in one list (first
// rule first). It measures rte_acl on the same rule shapes, not Palisade's verdicts.
#pragma once

#include <string>

#include "policy/compiled_policy.h"
#include "policy/error.h"

namespace palisade::control {

struct ClassBenchCounts {
  size_t rules4 = 0, rules6 = 0, traces4 = 0;
};

// DIR/rules4.cb, DIR/rules6.cb, and DIR/trace4.cb with `traces` IPv4 first packets between
// the policy's endpoints, on the destination ports its rules name.
policy::Result<ClassBenchCounts> export_classbench(const policy::CompiledPolicy& p,
                                                   const std::string& dir, size_t traces);

}  // namespace palisade::control
