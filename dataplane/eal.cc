#include "dataplane/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <vector>

namespace palisade::dataplane {

policy::Result<bool> start_eal_for_tools(const std::string& program, size_t memory_mb,
                                         bool hugepages) {
  static bool started = false;
  if (started) {
    return true;
  }
  std::vector<std::string> args = {program,
                                   hugepages ? "--in-memory" : "--no-huge",
                                   "-m",
                                   std::to_string(memory_mb),
                                   "--no-pci",
                                   "--no-shconf",
                                   "--no-telemetry",
                                   "--file-prefix=" + program + "-" + std::to_string(getpid()),
                                   "--log-level=lib.eal:error"};
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    return policy::Error{policy::ErrorCode::Unsupported,
                         "eal",
                         {},
                         {},
                         std::string("DPDK EAL did not start: ") + rte_strerror(rte_errno)};
  }
  started = true;
  return true;
}

}  // namespace palisade::dataplane
