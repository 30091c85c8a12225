// RingPorts: ethdev ports backed by rte_rings, for driving a Dataplane from the same process
// (the dataplane verification engine, integration tests, benchmarks): what is put on a port's
// inbound ring is what the port receives; what the dataplane transmits lands on its outbound
// ring. No hugepages, no devices, no second process.
#pragma once

#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdint>
#include <string>
#include <vector>

#include "policy/error.h"

namespace palisade::control {

struct RingPort {
  std::string name;    // as given
  std::string device;  // the ethdev's name (DataplaneConfig::Port::device)
  uint16_t id = 0;
  rte_ring* inbound = nullptr;   // -> the port's rx
  rte_ring* outbound = nullptr;  // <- the port's tx
};

// Creates a ring-backed port (one rx and one tx queue). Needs the EAL.
policy::Result<RingPort> create_ring_port(const std::string& name, uint32_t ring_size = 1024);

// Copies a frame into mbufs from `pool` and puts it on the port's inbound ring: one mbuf when
// it fits and segment_bytes is 0, else a chain of mbufs of segment_bytes each (the last
// shorter; 0: as many as fit), as a device that scatters large frames delivers them.
bool inject(const RingPort& port, rte_mempool* pool, const std::vector<uint8_t>& frame,
            uint32_t segment_bytes = 0);
// Takes every frame the dataplane sent out of the port.
std::vector<std::vector<uint8_t>> collect(const RingPort& port);

}  // namespace palisade::control
