// Starting DPDK's EAL for tools and tests: no hugepages (unless asked), no PCI devices, no
// shared config files, so that several processes can run side by side on any machine.
#pragma once

#include <string>

#include "policy/error.h"

namespace palisade::dataplane {

// Idempotent within a process. rte_acl allocates from the EAL heap, so the compiled engine
// of palisadectl and the classify tests start it before building tables.
// hugepages: take the memory from hugetlbfs (reserved and mounted beforehand), as a node
// does; benchmarks offer it because 4 KiB pages cost a TLB miss per conntrack entry touched.
policy::Result<bool> start_eal_for_tools(const std::string& program, size_t memory_mb = 1024,
                                         bool hugepages = false);

}  // namespace palisade::dataplane
