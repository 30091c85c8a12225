#include "dataplane/hot/time_exceeded.h"

#include <algorithm>
#include <cstring>

#include "dataplane/hot/checksum.h"
#include "policy/ipproto.h"

namespace palisade::dataplane {

namespace {

constexpr uint32_t kEth = 14, kIcmpHeader = 8, kErrorTtl = 64;
using policy::ipproto::kIcmp;
using policy::ipproto::kIcmpV6;
constexpr uint8_t kTimeExceededV4 = 11, kTimeExceededV6 = 3;
constexpr uint32_t kIpv6MinMtu = 1280;

inline uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline void write16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

uint32_t make_time_exceeded(uint8_t* frame, uint32_t len, uint32_t capacity, const ParsedPacket& p,
                            const uint8_t gateway_mac[6], const uint8_t gateway_ipv4[4],
                            const uint8_t gateway_ipv6[16]) noexcept {
  if (p.kind == L3Kind::Arp || p.vlan != 0 || p.l3_offset != kEth || p.icmp_error ||
      (p.fragment && !p.first_fragment) || len < kEth) {
    return 0;
  }
  const bool v4 = p.kind == L3Kind::Ipv4;
  const uint8_t* ip = frame + kEth;
  const uint32_t header = v4 ? 20 : 40;
  // What the packet's own IP length says it has (never Ethernet padding), within the frame.
  const uint32_t ip_len =
      std::min<uint32_t>(v4 ? read16(ip + 2) : 40u + read16(ip + 4), len - kEth);
  const uint32_t quote = v4 ? std::min<uint32_t>((ip[0] & 0x0fu) * 4 + 8, ip_len)
                            : std::min<uint32_t>(kIpv6MinMtu - header - kIcmpHeader, ip_len);
  const uint32_t out_len = kEth + header + kIcmpHeader + quote;
  if (out_len > capacity) {
    return 0;
  }
  uint8_t* out_ip = frame + kEth;
  uint8_t* icmp = out_ip + header;
  uint8_t* quoted = icmp + kIcmpHeader;
  std::memmove(quoted, ip, quote);  // the packet's start, moved behind the error's headers
  const uint8_t* sender = quoted + (v4 ? 12 : 8);  // the packet's source, now in the quote
  std::memcpy(frame, frame + 6, 6);                // to whoever sent it
  std::memcpy(frame + 6, gateway_mac, 6);
  if (v4) {
    const uint8_t h[12] = {0x45,
                           0,
                           static_cast<uint8_t>((header + kIcmpHeader + quote) >> 8),
                           static_cast<uint8_t>(header + kIcmpHeader + quote),
                           0,
                           0,
                           0,
                           0,
                           kErrorTtl,
                           kIcmp,
                           0,
                           0};
    std::memcpy(out_ip, h, sizeof(h));
    std::memcpy(out_ip + 16, sender, 4);  // destination first: the source overwrites nothing
    std::memcpy(out_ip + 12, gateway_ipv4, 4);
    write16(out_ip + 10, static_cast<uint16_t>(~fold(ones_sum(out_ip, 20, 0))));
    const uint8_t i[8] = {kTimeExceededV4, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(icmp, i, sizeof(i));
    write16(icmp + 2, static_cast<uint16_t>(~fold(ones_sum(icmp, kIcmpHeader + quote, 0))));
  } else {
    const uint32_t payload = kIcmpHeader + quote;
    const uint8_t h[8] = {
        0x60,    0,        0, 0, static_cast<uint8_t>(payload >> 8), static_cast<uint8_t>(payload),
        kIcmpV6, kErrorTtl};
    std::memcpy(out_ip, h, sizeof(h));
    std::memcpy(out_ip + 24, sender, 16);
    std::memcpy(out_ip + 8, gateway_ipv6, 16);
    const uint8_t i[8] = {kTimeExceededV6, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(icmp, i, sizeof(i));
    write16(icmp + 2, static_cast<uint16_t>(~icmpv6_sum(out_ip, icmp, payload)));
  }
  return out_len;
}

}  // namespace palisade::dataplane
