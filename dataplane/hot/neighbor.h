// Proxy ARP and NDP for pod ports: the worker turns a request into its reply in place and
// sends it back out of the port it came in on. In Calico's routed model every pod routes
// everything via one link-local gateway (169.254.1.1, fe80::1), and the node answers for
// every address on the workload interface with the gateway MAC (ee:ee:ee:ee:ee:ee), so the
// pod hands all its traffic to the node. Nothing else is answered: the caller drops what
// these functions decline as not_forwarded. Router Solicitations are never answered: pods
// are configured statically (address and default route from the CNI plugin), and no Router
// Advertisement may change that.
//
// Frames are untagged Ethernet (the caller drops tagged frames on pod ports first); a tagged
// frame is declined. Hot path: noexcept, no allocation; reads [frame, frame + len) and
// writes only [frame, frame + capacity). Addresses in frames are in network order.
// docs/dataplane.md has the RFCs each check follows.
#pragma once

#include <cstdint>

namespace palisade::dataplane {

// ARP (RFC 826) for Ethernet/IPv4. Answers a request (opcode 1) from the sender protocol
// address for any target protocol address, rewriting the frame into the reply in place: it
// goes to the requester's hardware address from gateway_mac, and says target -> gateway_mac.
// The length does not change. Returns false, the frame untouched, for anything else:
//   - frames shorter than 14 + 28 bytes, tagged, not ARP, not Ethernet/IPv4 (htype 1,
//     ptype 0x0800, hlen 6, plen 4), not a request;
//   - probes (sender address 0.0.0.0, RFC 5227) and gratuitous ARP (target == sender):
//     the pod is checking or announcing its own address, and an answer would say the
//     gateway holds it;
//   - a sender hardware address that is multicast or broadcast (the reply would be too);
//   - targets in 0/8, 127/8, 224/4 and 255.255.255.255, which no pod reaches through a
//     gateway (Linux's arp_process drops these too).
bool answer_arp(uint8_t* frame, uint32_t len, const uint8_t gateway_mac[6]) noexcept;

// NDP (RFC 4861) Neighbor Solicitation -> Neighbor Advertisement, in place. Returns the
// advertisement's length (kNeighborAdvertisementLen), or 0, the frame untouched, when the
// frame is not a solicitation to answer. `capacity` is how many bytes are writable from
// `frame` (at least `len`): a solicitation without options (78 bytes) is answered with 86.
//
// Answered: an IPv6 packet whose next header is ICMPv6 (no extension headers), with
// hop limit 255, a valid ICMPv6 checksum, type 135, code 0, an ICMPv6 length of at least 24,
// a target that is not multicast, and options that all have a non-zero length (the validity
// checks of RFC 4861 7.1.1), whose IPv6 and Ethernet sources are not multicast, and whose
// IPv6 source is not the target itself (a node does not solicit its own address).
//
// The advertisement: from gateway_mac to the solicitation's Ethernet source; IPv6 source =
// the target asked, destination = the solicitation's source; hop limit 255; flags Router,
// Solicited, Override; a Target Link-Layer Address option with gateway_mac; checksum over
// the pseudo-header. Override is set although RFC 4861 7.2.8 has proxies clear it so that
// the owner's own advertisement wins: on a pod port nobody else answers, and Override makes
// the pod replace a stale entry at once.
//
// Duplicate Address Detection (source ::): the pod is checking an address it is about to
// use, normally its own; answering would make it give that address up (RFC 4862 5.4.4).
// So a DAD solicitation is answered only when its target is the gateway's own address
// `gateway_ip`, the one address the gateway really holds, and then as RFC 4861 7.2.4 says:
// to all-nodes (ff02::1, 33:33:00:00:00:01) with Solicited clear. It must also be sent to
// the target's solicited-node group and carry no Source Link-Layer Address option
// (RFC 4861 7.1.1), or it is not answered. `gateway_ip` defaults to Calico's fe80::1; a
// node file that sets another gateway address should pass it.
inline constexpr uint8_t kDefaultGatewayIpv6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                                                    0,    0,    0, 0, 0, 0, 0, 1};
uint32_t answer_neighbor_solicitation(uint8_t* frame, uint32_t len, uint32_t capacity,
                                      const uint8_t gateway_mac[6],
                                      const uint8_t gateway_ip[16] = kDefaultGatewayIpv6) noexcept;

// Ethernet 14 + IPv6 40 + NA 24 + Target Link-Layer Address option 8.
inline constexpr uint32_t kNeighborAdvertisementLen = 14 + 40 + 24 + 8;

}  // namespace palisade::dataplane
