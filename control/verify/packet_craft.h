// Crafting Ethernet frames for tests and traffic: well-formed TCP, UDP, UDP-Lite, SCTP, ICMP
// and ICMPv6 packets over IPv4 and IPv6 (optionally 802.1Q tagged), ARP and Neighbor
// Solicitation, the reply a peer would send, a readable one-line description of any frame,
// and the malformed variants the hostile-packet suite feeds the parser (fragments, IPv6
// extension-header chains, truncation, bad checksums).
//
// Not hot path: allocates freely. Output is deterministic: the same spec gives the same bytes
// (payload bytes are i & 0xff, no clock, no randomness), so expected frames can be compared.
// Byte order: everything in FrameSpec is host order, except addresses (policy::IpAddr is in
// network order already). Checksums are always correct unless a corrupt_* helper says not.
// Errors: a spec that cannot be encoded (mixed address families, IPv4 options not in whole
// words, a datagram over 65,535 bytes, a fragment offset not a multiple of 8) throws
// std::invalid_argument naming the field; that is a bug in the caller, never input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dataplane/hot/ports.h"
#include "policy/evaluator.h"
#include "policy/ip.h"

namespace palisade::control {

using dataplane::Mac;
using Frame = std::vector<uint8_t>;

inline constexpr uint8_t kTcpFlagFin = 0x01, kTcpFlagSyn = 0x02, kTcpFlagRst = 0x04,
                         kTcpFlagPsh = 0x08, kTcpFlagAck = 0x10;

struct FrameSpec {
  Mac src_mac{0x02, 0, 0, 0, 0, 0x01}, dst_mac{0x02, 0, 0, 0, 0, 0x02};
  std::optional<uint16_t> vlan;  // 802.1Q VLAN id (low 12 bits); nullopt: untagged
  policy::IpAddr src, dst;       // both of one family
  uint8_t proto = policy::ipproto::kTcp;
  uint16_t sport = 0, dport = 0;  // TCP, UDP, UDP-Lite, SCTP
  uint8_t tcp_flags = kTcpFlagSyn;
  uint32_t tcp_seq = 1000, tcp_ack = 0;
  uint32_t sctp_vtag = 0;
  // ICMP and ICMPv6 (by protocol number, not by address family). An unset type is the echo
  // request of the protocol: 8 for ICMP, 128 for ICMPv6.
  std::optional<uint8_t> icmp_type;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0, icmp_seq = 0;  // the second word of the ICMP header, whatever the type
  uint8_t ttl = 64;                    // TTL, or hop limit
  uint32_t ip_id = 0;  // IPv4 identification (low 16 bits; DF is never set); IPv6 fragments'
                       // identification
  std::vector<uint8_t> ipv4_options;  // copied after the IPv4 header: whole 4-byte words, <= 40
  // Bytes after the L4 header; for a protocol without one built here (GRE, ESP, 253, ...) the
  // whole IP payload. For SCTP they stand where the chunks would be; no chunk is built.
  size_t payload = 0;
};

// The echo request type of an ICMP protocol (8 for ICMP, 128 for ICMPv6), and its reply.
uint8_t icmp_echo_request_type(uint8_t proto);
uint8_t icmp_echo_reply_type(uint8_t proto);

// The frame `spec` describes: Ethernet [802.1Q] IPv4|IPv6 L4 payload, checksums correct
// (IPv4 header; TCP, UDP, UDP-Lite, ICMPv6 over the pseudo-header; ICMP; SCTP CRC32c).
// UDP-Lite covers the whole datagram (coverage field 0). No Ethernet padding is added.
Frame craft_frame(const FrameSpec& spec);

// What the peer sends back: MACs, addresses and ports swapped. TCP: a SYN (without ACK) is
// answered by SYN|ACK, anything else by ACK, with sequence and acknowledgment numbers a real
// peer would use (so reply_of(reply_of(syn)) is the third packet of the handshake). ICMP and
// ICMPv6 echo requests become echo replies with the same id and sequence; other ICMP types
// are kept. The payload size is kept, and so are TTL, VLAN and IP id.
FrameSpec reply_of(const FrameSpec& spec);

// The first packet of `flow`: ports, or for ICMP/ICMPv6 flow.icmp_type/icmp_code (an unset
// type is an echo request, an unset code 0). TCP starts with a SYN. flow.http and flow.fqdn
// are not represented. An error type (ICMP 3, 11, 12; ICMPv6 1 to 4) gets no quoted packet,
// so dataplane/hot/parse.h drops it as truncated_l4: craft_icmp_error builds errors that parse.
FrameSpec spec_for_flow(const policy::Flow& flow, const Mac& src_mac, const Mac& dst_mac);

// ARP request "who-has target_ip tell sender_ip", to the broadcast MAC (RFC 826). IPv4 only.
Frame craft_arp_request(const Mac& sender_mac, const policy::IpAddr& sender_ip,
                        const policy::IpAddr& target_ip,
                        std::optional<uint16_t> vlan = std::nullopt);
// ARP reply "sender_ip is-at sender_mac", unicast to the asker.
Frame craft_arp_reply(const Mac& sender_mac, const policy::IpAddr& sender_ip, const Mac& target_mac,
                      const policy::IpAddr& target_ip, std::optional<uint16_t> vlan = std::nullopt);

// ff02::1:ffXX:XXXX, from the low 24 bits of `target` (RFC 4291 2.7.1).
policy::IpAddr solicited_node_address(const policy::IpAddr& target);
// ICMPv6 Neighbor Solicitation for `target_ip` (RFC 4861 4.3, 7.2.2): to its solicited-node
// address and MAC 33:33:ff:XX:XX:XX, hop limit 255, with a source link-layer address option,
// left out when sender_ip is :: (duplicate address detection, which must not carry one).
Frame craft_neighbor_solicitation(const Mac& sender_mac, const policy::IpAddr& sender_ip,
                                  const policy::IpAddr& target_ip,
                                  std::optional<uint16_t> vlan = std::nullopt);

// An ICMP (ICMPv6, for IPv6) error from `from` about the packet `about` describes, sent back
// to its source: MACs swapped, the body quoting the offending packet's IP header and the
// first 8 bytes after it (IPv4, RFC 792), or as much of it as keeps the error within 1,280
// bytes (IPv6, RFC 4443 2.4). E.g. type 3 code 3 (port unreachable), ICMPv6 type 1 code 4.
Frame craft_icmp_error(const FrameSpec& about, const policy::IpAddr& from, uint8_t type,
                       uint8_t code);

// One line: "IPv4 TCP 10.0.0.1:40000 -> 10.0.0.2:80 flags S ttl 63",
// "vlan 7 IPv6 ICMPv6 fd00::1 -> fd00::2 type 128 code 0 ttl 64", "ARP who-has 10.0.0.2 tell
// 10.0.0.1", "IPv4 UDP 10.0.0.1 -> 10.0.0.2 fragment id 7 offset 16 bytes 8 ttl 64",
// "IPv4 ICMP 10.0.0.254 -> 10.0.0.1 type 3 code 3 about UDP 10.0.0.1:40000 -> 10.0.0.2:80
// ttl 64" (an ICMP error and the packet it quotes), or, for what dataplane/hot/parse.h drops,
// "drop: bad_ip_checksum". TCP flags are letters in the order F S R P A U E C.
std::string describe_frame(const uint8_t* data, size_t len);
std::string describe_frame(const Frame& frame);

// Checksums, exposed so tests can check them against published vectors.
// RFC 1071 one's complement sum of `bytes` (an odd last byte padded with zero) added to
// `partial` (another such sum, e.g. of a pseudo-header), not complemented, folded to 16 bits.
uint16_t ones_complement_sum(std::span<const uint8_t> bytes, uint32_t partial = 0);
// CRC32c (Castagnoli, RFC 3309 / RFC 9260 appendix A) as SCTP puts it on the wire: stored
// least significant byte first.
uint32_t crc32c(std::span<const uint8_t> bytes);

// ---- Malformed frames, for the hostile-packet suite ----------------------------------------

// A piece of a datagram's IP payload (the L4 header and payload, checksums computed over the
// whole). Offsets must be multiples of 8, as the header counts 8-byte units. Bytes past the
// datagram's end are zeros, so a piece may reach past it (ping of death: offset 65528).
struct FragmentPiece {
  uint16_t offset = 0;       // bytes into the IP payload
  uint16_t length = 0;       // bytes this piece carries
  std::optional<bool> more;  // More Fragments; unset: set unless the piece reaches the end
};
// One IPv4 fragment per piece, in the order given, id spec.ip_id. Pieces may overlap, leave
// gaps or repeat: that is the point. IPv4 options, if any, are copied into every piece.
std::vector<Frame> craft_ipv4_fragments(const FrameSpec& spec,
                                        std::span<const FragmentPiece> pieces);
// The same with an IPv6 Fragment header (RFC 8200 4.5) right after the fixed header,
// identification spec.ip_id.
std::vector<Frame> craft_ipv6_fragments(const FrameSpec& spec,
                                        std::span<const FragmentPiece> pieces);

// One IPv6 extension header, named by the Next Header value that announces it.
struct Ipv6Extension {
  static constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44, kAuthentication = 51,
                           kDestinationOptions = 60;
  uint8_t type = kDestinationOptions;  // any other value: an unknown header in the uniform
                                       // format of RFC 6564 (which ends the parser's walk)
  // Bytes of the header: a multiple of 8 from 8 to 2048 (Authentication: of 4, from 12;
  // Fragment: always 8, this is ignored). Options headers are filled with padding options;
  // Routing is type 253 (RFC 4727, experimental) with Segments Left 0, so a node skips it.
  size_t length = 8;
  std::optional<uint8_t> length_field;  // hostile: written instead of the true length field
  uint16_t fragment_offset = 0;         // Fragment only: bytes, a multiple of 8
  bool more_fragments = false;          // Fragment only
  uint32_t fragment_id = 0;             // Fragment only
};
// An IPv6 packet with `chain` between the fixed header and spec's upper-layer header, whose
// checksum covers the upper layer only (RFC 8200 8.1). IPv6 specs only.
Frame craft_ipv6_with_extensions(const FrameSpec& spec, std::span<const Ipv6Extension> chain);

// The first `length` bytes of `frame`, every header left claiming the original lengths.
Frame truncate_frame(Frame frame, size_t length);
// `frame` with its IP payload cut to `ip_payload_bytes`, and the IPv4 total length (and header
// checksum) or IPv6 payload length rewritten to match: the IP layer is consistent, whatever
// follows it is short (an L4 header cut in half, an extension chain running off the end).
Frame shorten_ip_payload(Frame frame, size_t ip_payload_bytes);
// `frame` with a wrong IPv4 header checksum. IPv4 frames only.
Frame corrupt_ip_checksum(Frame frame);
// `frame` with a wrong TCP, UDP, UDP-Lite, SCTP, ICMP or ICMPv6 checksum. Frames that parse
// with their L4 header present only.
Frame corrupt_l4_checksum(Frame frame);

}  // namespace palisade::control
