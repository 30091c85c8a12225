// What a worker knows of the ports it forwards between: each port's role (a pod port, which
// is guarded, or the uplink) and MACs, fixed at start (PortRoles); and, per generation, what
// each pod port may send (PodPortGuard: its pod's MAC and addresses, nothing else).
#pragma once

#include <rte_byteorder.h>
#include <rte_config.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace palisade::dataplane {

using Mac = std::array<uint8_t, 6>;

inline constexpr uint16_t kNoPort = 0xffff;

struct PortRoles {
  struct Port {
    bool configured = false;
    bool pod = false;  // a pod port (guarded); otherwise the uplink
    Mac mac{};         // the port's own MAC (source of what leaves an uplink)
    Mac next_hop{};    // uplink: where routed packets go
  };
  std::array<Port, RTE_MAX_ETHPORTS> ports{};
  uint16_t uplink = kNoPort;
  Mac gateway_mac{};  // what pods see as their gateway (proxy ARP/NDP answers)
  std::array<uint8_t, 4> gateway_ipv4{169, 254, 1, 1};  // the source of ICMP errors to pods
  std::array<uint8_t, 16> gateway_ipv6{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
};

struct PodPortGuard {
  static constexpr size_t kMaxAddresses = 4;  // per family; Kubernetes gives at most one each
  bool bound = false;
  Mac mac{};
  uint8_t v4_count = 0, v6_count = 0;
  std::array<rte_be32_t, kMaxAddresses> v4{};
  std::array<std::array<uint8_t, 16>, kMaxAddresses> v6{};

  // Inline: a pod port's every packet asks one of them.
  bool owns_v4(const uint8_t* addr) const noexcept {
    rte_be32_t a;
    std::memcpy(&a, addr, 4);
    for (uint8_t i = 0; i < v4_count; ++i) {
      if (v4[i] == a) {
        return true;
      }
    }
    return false;
  }
  bool owns_v6(const uint8_t* addr) const noexcept {
    uint64_t hi, lo;
    std::memcpy(&hi, addr, 8);
    std::memcpy(&lo, addr + 8, 8);
    for (uint8_t i = 0; i < v6_count; ++i) {
      uint64_t h, l;
      std::memcpy(&h, v6[i].data(), 8);
      std::memcpy(&l, v6[i].data() + 8, 8);
      if (((h ^ hi) | (l ^ lo)) == 0) {
        return true;
      }
    }
    return false;
  }
};

}  // namespace palisade::dataplane
