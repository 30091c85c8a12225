// The rewrite of a routed packet (RFC 1812 5.3.1): new MACs, TTL or hop limit one lower.
// Palisade routes every packet it forwards (Calico's routed model: the pod's next hop is the
// gateway, and the node's next hop is the destination pod or the uplink's next hop), so every
// forwarded packet takes this rewrite once.
//
// Hot path: header only, noexcept, no allocation; touches the 12 MAC bytes and the TTL (and
// IPv4 checksum) or hop-limit byte, nothing else.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/hot/parse.h"

namespace palisade::dataplane {

// Rewrites `frame` for its next hop: destination MAC dst_mac, source MAC src_mac, and the
// IPv4 TTL (with the header checksum updated incrementally, RFC 1624 eqn. 3) or IPv6 hop
// limit one lower. `p` is parse_packet's result for this frame, of kind Ipv4 or Ipv6; the IP
// header is found at p.l3_offset, so a VLAN tag (uplink frames) stays as it is.
//
// Returns false, the frame untouched, when the TTL or hop limit is 1 or 0: the packet would
// leave with 0, and the caller drops it with Drop::TtlExceeded. Also false for anything
// parse_packet could not have accepted as IP (ARP, a header past `len`); the caller never
// passes those.
inline bool route_rewrite(uint8_t* frame, uint32_t len, const ParsedPacket& p,
                          const uint8_t src_mac[6], const uint8_t dst_mac[6]) noexcept {
  uint8_t* ip = frame + p.l3_offset;
  if (p.kind == L3Kind::Ipv4) {
    if (uint32_t{p.l3_offset} + 20 > len || ip[8] <= 1) {
      return false;
    }
    // The TTL is the high byte of the 16-bit word m at offset 8 (TTL, protocol). RFC 1624
    // eqn. 3, HC' = ~(~HC + ~m + m'), agrees with a full recomputation even where RFC 1141's
    // HC + m + ~m' gives the other zero (RFC 1624 section 3). Two folds: the sum of three
    // 16-bit words carries at most 2.
    const uint16_t m = static_cast<uint16_t>((ip[8] << 8) | ip[9]);
    const uint16_t m_new = static_cast<uint16_t>(m - 0x0100);
    const uint16_t hc = static_cast<uint16_t>((ip[10] << 8) | ip[11]);
    uint32_t sum = uint32_t{static_cast<uint16_t>(~hc)} + uint16_t(~m) + m_new;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    const uint16_t hc_new = static_cast<uint16_t>(~sum);
    ip[8] = static_cast<uint8_t>(ip[8] - 1);
    ip[10] = static_cast<uint8_t>(hc_new >> 8);
    ip[11] = static_cast<uint8_t>(hc_new);
  } else if (p.kind == L3Kind::Ipv6) {
    if (uint32_t{p.l3_offset} + 40 > len || ip[7] <= 1) {
      return false;
    }
    ip[7] = static_cast<uint8_t>(ip[7] - 1);  // no header checksum in IPv6
  } else {
    return false;
  }
  std::memcpy(frame, dst_mac, 6);
  std::memcpy(frame + 6, src_mac, 6);
  return true;
}

}  // namespace palisade::dataplane
