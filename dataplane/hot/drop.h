// Why a packet does not leave through forwarding: one reason per drop, counted, in one list.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace palisade::dataplane {

enum class Drop : uint8_t {
  TruncatedL2,         // shorter than its Ethernet (and VLAN) header
  UnsupportedL2,       // stacked VLAN tags, or an ethertype the dataplane does not carry
  BadIpHeader,         // IPv4/IPv6 version, header length, total/payload length
  BadIpChecksum,       // IPv4 header checksum (RFC 1071)
  BadExtensionChain,   // IPv6 extension headers past the packet, misplaced or too many
  TinyFragment,        // a first fragment too short for the L4 ports (RFC 1858, RFC 7112)
  OverlappingFragment, // IPv4 TCP fragment at offset 8 bytes (RFC 1858 3.2), or any two
                       // pieces of one datagram that overlap (RFC 5722, RFC 8200 4.5)
  OversizedFragment,   // a fragment that would end past 65,535 bytes (ping of death)
  OrphanFragment,      // a later fragment whose first fragment was not seen (or expired)
  TooManyFragments,    // more pieces to one datagram than the fragment table tracks
  TruncatedL4,         // an L4 header that does not fit in the IP payload
  BadTcpHeader,        // TCP data offset below 5 or past the payload
  ImpossibleTcpFlags,  // SYN+FIN, SYN+RST, FIN+RST, no flags at all
  Count,
};

inline constexpr std::array<std::string_view, static_cast<size_t>(Drop::Count)> kDropName{
    "truncated_l2",     "unsupported_l2",       "bad_ip_header",
    "bad_ip_checksum",  "bad_extension_chain",  "tiny_fragment",
    "overlapping_fragment", "oversized_fragment", "orphan_fragment", "too_many_fragments",
    "truncated_l4",     "bad_tcp_header",
    "impossible_tcp_flags"};
static_assert(kDropName.back() != std::string_view{});

}  // namespace palisade::dataplane
