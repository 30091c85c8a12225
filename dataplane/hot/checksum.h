// The Internet checksum (RFC 1071) for the messages the dataplane writes or checks itself:
// NDP answers, ICMP errors. Sums are of 16-bit words in network order, kept unfolded in 32
// bits (a message of up to 64 KiB cannot carry past them) until fold().
//
// Hot path: inline, noexcept; reads only the bytes named.
#pragma once

#include <cstdint>

#include "policy/ipproto.h"

namespace palisade::dataplane {

// [p, p + n) added to `sum` (an odd last byte is the high byte of a word).
inline uint32_t ones_sum(const uint8_t* p, uint32_t n, uint32_t sum) noexcept {
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  }
  if ((n & 1) != 0) {
    sum += static_cast<uint32_t>(p[n - 1]) << 8;
  }
  return sum;
}

inline uint16_t fold(uint32_t sum) noexcept {
  while ((sum >> 16) != 0) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

// The ICMPv6 checksum's sum (RFC 4443 2.3, RFC 8200 8.1): the pseudo-header of the IPv6
// header at ip (source, destination, upper-layer length, next header 58), then the message.
// A message whose checksum field is right sums to 0xffff.
inline uint16_t icmpv6_sum(const uint8_t* ip, const uint8_t* icmp, uint32_t icmp_len) noexcept {
  using policy::ipproto::kIcmpV6;
  uint32_t sum = ones_sum(ip + 8, 32, 0);
  sum += icmp_len >> 16;
  sum += icmp_len & 0xffff;
  sum += kIcmpV6;
  return fold(ones_sum(icmp, icmp_len, sum));
}

}  // namespace palisade::dataplane
