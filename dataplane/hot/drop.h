// Why a packet does not leave through forwarding: one reason per drop, counted, in one list.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace palisade::dataplane {

enum class Drop : uint8_t {
  TruncatedL2,          // shorter than its Ethernet (and VLAN) header
  UnsupportedL2,        // stacked VLAN tags, or an ethertype the dataplane does not carry
  BadIpHeader,          // IPv4/IPv6 version, header length, total/payload length
  BadIpChecksum,        // IPv4 header checksum (RFC 1071)
  BadExtensionChain,    // IPv6 extension headers past the packet, misplaced or too many
  TinyFragment,         // a first fragment too short for the L4 ports (RFC 1858, RFC 7112)
  OverlappingFragment,  // IPv4 TCP fragment at offset 8 bytes (RFC 1858 3.2), or any two
                        // pieces of one datagram that overlap (RFC 5722, RFC 8200 4.5)
  OversizedFragment,    // a fragment that would end past 65,535 bytes (ping of death)
  OrphanFragment,       // a later fragment whose first fragment was not seen (or expired)
  TooManyFragments,     // more pieces to one datagram than the fragment table tracks
  TruncatedL4,          // an L4 header that does not fit in the IP payload
  BadTcpHeader,         // TCP data offset below 5 or past the payload
  ImpossibleTcpFlags,   // SYN+FIN, SYN+RST, FIN+RST, no flags at all
  SplitHeaders,         // a segmented frame (a chain of mbufs) whose headers continue past
                        // its first segment
  // The forwarding path (dataplane/worker): reasons beyond the parser's.
  TaggedOnPodPort,        // a pod port carries only untagged frames
  SpoofedSource,          // a pod port frame whose source MAC or IP is not its pod's
  UnboundPort,            // a pod port with no pod behind it in this generation
  NotReady,               // no policy compiled yet: nothing is forwarded before it is
  PolicyDenied,           // the source's egress or the destination's ingress denied it
  ConnectionCut,          // an established connection a newer policy generation denies
  IcmpErrorNoConnection,  // an ICMP error about no connection that exists
  NoConnection,           // a TCP segment other than a SYN, or an ICMP echo reply, of no
                          // connection that exists (a reply to nothing; Linux: ctstate INVALID)
  ConntrackFull,          // an allowed new connection with no room to track it
  TcpOutOfWindow,         // a TCP segment outside its connection's window (tcp_window.h):
                          // an off-path injection, or a segment too old or too far ahead
  TtlExceeded,            // TTL or hop limit would reach 0
  NoRoute,                // no local pod owns the destination and no uplink is configured
  NotForwarded,           // ARP/NDP other than requests we answer, link-local, multicast
  TxFull,                 // the output queue did not take it
  Count,
};
inline constexpr size_t kDrops = static_cast<size_t>(Drop::Count);

inline constexpr std::array<std::string_view, kDrops> kDropName{"truncated_l2",
                                                                "unsupported_l2",
                                                                "bad_ip_header",
                                                                "bad_ip_checksum",
                                                                "bad_extension_chain",
                                                                "tiny_fragment",
                                                                "overlapping_fragment",
                                                                "oversized_fragment",
                                                                "orphan_fragment",
                                                                "too_many_fragments",
                                                                "truncated_l4",
                                                                "bad_tcp_header",
                                                                "impossible_tcp_flags",
                                                                "split_headers",
                                                                "tagged_on_pod_port",
                                                                "spoofed_source",
                                                                "unbound_port",
                                                                "not_ready",
                                                                "policy_denied",
                                                                "connection_cut",
                                                                "icmp_error_no_connection",
                                                                "no_connection",
                                                                "conntrack_full",
                                                                "tcp_out_of_window",
                                                                "ttl_exceeded",
                                                                "no_route",
                                                                "not_forwarded",
                                                                "tx_full"};
static_assert(kDropName.back() != std::string_view{});

}  // namespace palisade::dataplane
