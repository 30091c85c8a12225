// Starting DPDK's EAL for tools and tests: no hugepages, no PCI devices, no shared config
// files, so that several processes can run side by side on any machine.
#pragma once

#include <string>

#include "policy/error.h"

namespace palisade::dataplane {

// Idempotent within a process. rte_acl allocates from the EAL heap, so the compiled engine
// of palisadectl and the classify tests start it before building tables.
policy::Result<bool> start_eal_for_tools(const std::string& program, size_t memory_mb = 1024);

}  // namespace palisade::dataplane
