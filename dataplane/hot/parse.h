// Packet parsing for the workers: Ethernet (one optional 802.1Q tag), IPv4 with options,
// IPv6 with its extension-header chain, and the ports (or ICMP type/code) of TCP, UDP, SCTP,
// ICMP and ICMPv6. Hostile input is the normal case on a pod port: every length is checked
// against the bytes present before it is trusted, and what cannot be judged safely is
// dropped with a reason (hot/drop.h), never passed on.
//
// Hot path: noexcept, no allocation, no system call; reads only [data, data + len).
// docs/dataplane.md states the promise and the RFC each check follows.
#pragma once

#include <cstdint>
#include <optional>

#include "dataplane/hot/drop.h"

namespace palisade::dataplane {

enum class L3Kind : uint8_t { Ipv4, Ipv6, Arp };

struct ParsedPacket {
  L3Kind kind = L3Kind::Ipv4;
  uint16_t vlan = 0;          // 0: untagged
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;     // 0 when the packet has no L4 header to read (later fragment)
  uint8_t proto = 0;          // upper-layer protocol (after IPv6 extension headers)
  uint8_t ttl = 0;            // TTL or hop limit
  uint8_t src[16] = {}, dst[16] = {};  // network order; IPv4 uses the first 4 bytes
  uint16_t sport = 0, dport = 0;       // host order; for ICMP: type and code
  uint8_t tcp_flags = 0;
  // Fragments: a first fragment carries the ports; later ones follow its verdict (a small
  // fragment table keyed by (src, dst, proto, id) keeps it).
  bool fragment = false;
  bool first_fragment = false;
  uint32_t fragment_id = 0;
  uint16_t fragment_offset = 0;  // in bytes
  uint16_t fragment_bytes = 0;   // bytes of the datagram this fragment carries
  bool more_fragments = false;
};

// Parses one frame. nullopt: parsed; otherwise the reason to drop it.
std::optional<Drop> parse_packet(const uint8_t* data, uint32_t len, ParsedPacket& out) noexcept;

// At most this many IPv6 extension headers are walked; a longer chain is dropped (RFC 8200
// sets no limit, but RFC 7045 lets a node drop what it cannot process at line rate).
inline constexpr int kMaxIpv6ExtensionHeaders = 8;

}  // namespace palisade::dataplane
