// Packet parsing for the workers: Ethernet (one optional 802.1Q tag), IPv4 with options,
// IPv6 with its extension-header chain, and the ports (or ICMP type/code) of TCP, UDP, SCTP,
// ICMP and ICMPv6, and for an ICMP error the tuple of the packet it quotes. Hostile input
// is the normal case on a pod port: every length is checked against the bytes present
// before it is trusted, and what cannot be judged safely is dropped with a reason
// (hot/drop.h), never passed on.
//
// Hot path: noexcept, no allocation, no system call; reads only [data, data + len).
// A segmented frame is parsed from its first segment (see the second parse_packet).
// docs/dataplane.md states the promise and the RFC each check follows.
#pragma once

#include <cstdint>
#include <optional>

#include "dataplane/hot/drop.h"

namespace palisade::dataplane {

enum class L3Kind : uint8_t { Ipv4, Ipv6, Arp };

struct ParsedPacket {
  L3Kind kind = L3Kind::Ipv4;
  uint16_t vlan = 0;  // 0: untagged
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;  // 0 when the packet has no L4 header to read (later fragment)
  uint8_t proto = 0;       // upper-layer protocol (after IPv6 extension headers)
  uint8_t ttl = 0;         // TTL or hop limit
  uint8_t src[16] = {}, dst[16] = {};  // network order; IPv4 uses the first 4 bytes
  uint16_t sport = 0, dport = 0;       // host order; for ICMP: type and code
  uint8_t tcp_flags = 0;
  // TCP, for window tracking (dataplane/hot/tcp_window.h), host order: sequence and
  // acknowledgement numbers, the window field as sent (unscaled), the sequence space the
  // segment takes (its data, plus one for SYN and one for FIN; 0 in a first fragment, whose
  // data is not all here), and on a SYN its window scale option (kNoWindowScale: none).
  uint32_t tcp_seq = 0, tcp_ack = 0;
  uint16_t tcp_window = 0;
  uint16_t tcp_seq_len = 0;  // a segment's data fits in 16 bits once its headers are removed
  uint8_t tcp_wscale = 0xff;
  // Fragments: a first fragment carries the ports; later ones follow its verdict (a small
  // fragment table keyed by (src, dst, proto, id) keeps it).
  bool fragment = false;
  bool first_fragment = false;
  uint32_t fragment_id = 0;
  uint16_t fragment_offset = 0;  // in bytes
  uint16_t fragment_bytes = 0;   // bytes of the datagram this fragment carries
  bool more_fragments = false;
  // ICMP errors (ICMPv4 types 3, 11, 12; ICMPv6 types 1, 2, 3, 4): the packet the error is
  // about, as its header is quoted, so the worker can look up that connection and pass the
  // error only if it exists and dst == inner_src (RFC 5927; docs/dataplane.md). Quoted
  // lengths are not checked (the quote is cut short), nor are its checksums: the L4 one
  // cannot be verified on 8 bytes, and NATs on the path rewrite the quoted addresses
  // without always fixing the quoted IPv4 header checksum.
  bool icmp_error = false;
  uint8_t inner_proto = 0;
  uint8_t inner_src[16] = {}, inner_dst[16] = {};  // network order; IPv4: first 4 bytes
  // Host order. TCP, UDP, UDP-Lite, SCTP: the quoted ports. ICMP/ICMPv6 echo request or
  // reply: its identifier in both (one exchange is one flow, the same in each direction).
  // Anything else, and a quoted later fragment (no L4 header in it): 0.
  uint16_t inner_sport = 0, inner_dport = 0;
};

// ParsedPacket::tcp_wscale of a segment without the window scale option.
inline constexpr uint8_t kNoWindowScale = 0xff;

// Parses one frame of `len` bytes. nullopt: parsed; otherwise the reason to drop it.
std::optional<Drop> parse_packet(const uint8_t* data, uint32_t len, ParsedPacket& out) noexcept;
// Parses a frame of `frame_len` bytes of which the first `len` are at `data` (the first
// segment of a chain of mbufs; the rest follow in other segments). Lengths in the headers are
// checked against frame_len; the headers themselves must lie within the first `len` bytes,
// else Drop::SplitHeaders. frame_len <= len is the one-buffer case above.
std::optional<Drop> parse_packet(const uint8_t* data, uint32_t len, uint32_t frame_len,
                                 ParsedPacket& out) noexcept;

// At most this many IPv6 extension headers are walked; a longer chain is dropped (RFC 8200
// sets no limit, but RFC 7045 lets a node drop what it cannot process at line rate).
inline constexpr int kMaxIpv6ExtensionHeaders = 8;

// The IPv6 packet an ICMPv6 error quotes: only Hop-by-Hop (first), Destination Options,
// Routing and Fragment headers are walked, at most this many, and all must lie within the
// quoted bytes. A quote with more, or with an Authentication Header before its upper layer,
// is dropped as bad_ip_header: errors about connections quote none or one, and each header
// walked is another length taken from a packet a stranger wrote.
inline constexpr int kMaxQuotedIpv6ExtensionHeaders = 4;

}  // namespace palisade::dataplane
