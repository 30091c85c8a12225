// Which worker polls which rx queue of which port: the one rule that the node file's check
// prints (`palisade --check`) and that the dataplane configures. A worker that names no ports
// polls every port; a port has one rx queue per worker that polls it, and a worker's queue
// on a port is its rank, in worker order, among that port's pollers. Every worker sends on a
// tx queue of its own (its index) on every port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace palisade::dataplane {

struct PolledQueue {
  size_t port = 0;  // index into the ports
  uint16_t queue = 0;
};

// Whether a worker that names `named` ports (empty: every port) polls `port`.
bool worker_polls(const std::vector<std::string>& named, const std::string& port);

// What worker `worker` polls, in the order of its named ports (of `ports` when it names
// none). worker_ports[w] is what worker w names; ports are every port's name, in order.
std::vector<PolledQueue> polled_queues(const std::vector<std::vector<std::string>>& worker_ports,
                                       const std::vector<std::string>& ports, size_t worker);

// How many workers poll each port (its rx queue count, at least 1 for the device's sake is
// the caller's choice).
std::vector<size_t> poller_counts(const std::vector<std::vector<std::string>>& worker_ports,
                                  const std::vector<std::string>& ports);

}  // namespace palisade::dataplane
