// IP protocol numbers (IANA), the one home of these constants for the whole tree: plain
// constants, so that the packet path (dataplane/hot/) may include this header alone of policy/.
#pragma once

#include <cstdint>

namespace palisade::policy::ipproto {

inline constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmpV6 = 58, kSctp = 132, kUdpLite = 136;

inline constexpr bool is_icmp(uint8_t proto) { return proto == kIcmp || proto == kIcmpV6; }
// The protocols whose headers start with source and destination ports.
inline constexpr bool has_ports(uint8_t proto) {
  return proto == kTcp || proto == kUdp || proto == kSctp || proto == kUdpLite;
}

}  // namespace palisade::policy::ipproto
