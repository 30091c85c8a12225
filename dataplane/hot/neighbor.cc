#include "dataplane/hot/neighbor.h"

#include <cstring>

#include "dataplane/hot/checksum.h"
#include "policy/ipproto.h"

namespace palisade::dataplane {

namespace {

constexpr uint16_t kEtherIpv6 = 0x86DD, kEtherArp = 0x0806;
using policy::ipproto::kIcmpV6;
constexpr uint8_t kNeighborSolicitation = 135, kNeighborAdvertisement = 136;
constexpr uint8_t kSourceLinkLayer = 1, kTargetLinkLayer = 2;
constexpr uint8_t kFlagRouter = 0x80, kFlagSolicited = 0x40, kFlagOverride = 0x20;
constexpr uint32_t kEth = 14, kIpv6 = 40, kArp = 28, kNsMin = 24;

inline uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline void write16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline bool is_group_mac(const uint8_t* mac) { return (mac[0] & 1) != 0; }

bool is_unspecified(const uint8_t* a) {
  constexpr uint8_t kZero[16] = {};
  return std::memcmp(a, kZero, 16) == 0;
}
// ff02::1:ffXX:XXXX, the solicited-node group of the target whose low 24 bits are XX:XXXX.
bool is_solicited_node_of(const uint8_t* group, const uint8_t* target) {
  constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  return std::memcmp(group, kPrefix, 13) == 0 && std::memcmp(group + 13, target + 13, 3) == 0;
}

}  // namespace

bool answer_arp(uint8_t* frame, uint32_t len, const uint8_t gateway_mac[6]) noexcept {
  if (len < kEth + kArp || read16(frame + 12) != kEtherArp) {
    return false;
  }
  uint8_t* a = frame + kEth;
  // htype Ethernet, ptype IPv4, hlen 6, plen 4, opcode request.
  if (read16(a) != 1 || read16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 || read16(a + 6) != 1) {
    return false;
  }
  uint8_t* sha = a + 8;
  uint8_t* spa = a + 14;
  uint8_t* tha = a + 18;
  uint8_t* tpa = a + 24;
  const uint32_t sender =
      (uint32_t{spa[0]} << 24) | (uint32_t{spa[1]} << 16) | (uint32_t{spa[2]} << 8) | spa[3];
  const uint32_t target =
      (uint32_t{tpa[0]} << 24) | (uint32_t{tpa[1]} << 16) | (uint32_t{tpa[2]} << 8) | tpa[3];
  if (sender == 0 || target == sender || is_group_mac(sha)) {
    return false;  // a probe, a gratuitous ARP, or a reply that would be multicast
  }
  const uint8_t first = static_cast<uint8_t>(target >> 24);
  if (first == 0 || first == 127 || first >= 224) {
    return false;  // this network, loopback, multicast, reserved and limited broadcast
  }
  uint8_t requester_mac[6];
  uint8_t requester_ip[4];
  uint8_t asked_ip[4];
  std::memcpy(requester_mac, sha, 6);
  std::memcpy(requester_ip, spa, 4);
  std::memcpy(asked_ip, tpa, 4);
  std::memcpy(frame, requester_mac, 6);  // RFC 826: to the requester's hardware address
  std::memcpy(frame + 6, gateway_mac, 6);
  write16(a + 6, 2);  // reply
  std::memcpy(sha, gateway_mac, 6);
  std::memcpy(spa, asked_ip, 4);
  std::memcpy(tha, requester_mac, 6);
  std::memcpy(tpa, requester_ip, 4);
  return true;
}

uint32_t answer_neighbor_solicitation(uint8_t* frame, uint32_t len, uint32_t capacity,
                                      const uint8_t gateway_mac[6],
                                      const uint8_t gateway_ip[16]) noexcept {
  if (len < kEth + kIpv6 + kNsMin || capacity < kNeighborAdvertisementLen ||
      read16(frame + 12) != kEtherIpv6 || is_group_mac(frame + 6)) {
    return 0;
  }
  uint8_t* ip = frame + kEth;
  const uint32_t icmp_len = read16(ip + 4);
  // No extension headers: a solicitation never needs one, and walking them is parse.cc's
  // job; one that carries them is not answered.
  if ((ip[0] >> 4) != 6 || ip[6] != kIcmpV6 || icmp_len < kNsMin || kEth + kIpv6 + icmp_len > len) {
    return 0;
  }
  uint8_t* icmp = ip + kIpv6;
  const uint8_t* src = ip + 8;
  const uint8_t* dst = ip + 24;
  const uint8_t* target = icmp + 8;
  // RFC 4861 7.1.1: hop limit 255 (it cannot come from off the link), code 0, target not
  // multicast. RFC 4291 2.7: no packet comes from a multicast source.
  if (icmp[0] != kNeighborSolicitation || ip[7] != 255 || icmp[1] != 0 || target[0] == 0xff ||
      src[0] == 0xff || std::memcmp(src, target, 16) == 0) {
    return 0;
  }
  bool source_link_layer = false;
  for (uint32_t pos = kNsMin; pos < icmp_len;) {
    if (pos + 2 > icmp_len) {
      return 0;
    }
    const uint32_t option_len = uint32_t{icmp[pos + 1]} * 8;
    if (option_len == 0 || pos + option_len > icmp_len) {
      return 0;  // RFC 4861 7.1.1: every option has a length above 0, inside the message
    }
    source_link_layer = source_link_layer || icmp[pos] == kSourceLinkLayer;
    pos += option_len;
  }
  if (icmpv6_sum(ip, icmp, icmp_len) != 0xffff) {
    return 0;
  }
  const bool dad = is_unspecified(src);
  if (dad && (source_link_layer || !is_solicited_node_of(dst, target) ||
              std::memcmp(target, gateway_ip, 16) != 0)) {
    return 0;  // malformed DAD (7.1.1), or one for an address the pod may take (see .h)
  }

  // Everything the advertisement needs from the solicitation, before it is overwritten.
  uint8_t to_mac[6] = {0x33, 0x33, 0, 0, 0, 1};  // all-nodes
  uint8_t to_ip[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t asked[16];
  if (!dad) {
    std::memcpy(to_mac, frame + 6, 6);
    std::memcpy(to_ip, src, 16);
  }
  std::memcpy(asked, target, 16);

  std::memcpy(frame, to_mac, 6);
  std::memcpy(frame + 6, gateway_mac, 6);
  write16(frame + 12, kEtherIpv6);
  constexpr uint32_t kNaLen = kNeighborAdvertisementLen - kEth - kIpv6;
  ip[0] = 0x60;  // version 6, traffic class 0, flow label 0
  ip[1] = ip[2] = ip[3] = 0;
  write16(ip + 4, static_cast<uint16_t>(kNaLen));
  ip[6] = kIcmpV6;
  ip[7] = 255;
  std::memcpy(ip + 8, asked, 16);
  std::memcpy(ip + 24, to_ip, 16);
  icmp[0] = kNeighborAdvertisement;
  icmp[1] = 0;
  write16(icmp + 2, 0);
  icmp[4] = static_cast<uint8_t>(kFlagRouter | kFlagOverride | (dad ? 0 : kFlagSolicited));
  icmp[5] = icmp[6] = icmp[7] = 0;
  std::memcpy(icmp + 8, asked, 16);
  icmp[24] = kTargetLinkLayer;
  icmp[25] = 1;  // in units of 8 bytes
  std::memcpy(icmp + 26, gateway_mac, 6);
  write16(icmp + 2, static_cast<uint16_t>(~icmpv6_sum(ip, icmp, kNaLen)));
  return kNeighborAdvertisementLen;
}

}  // namespace palisade::dataplane
