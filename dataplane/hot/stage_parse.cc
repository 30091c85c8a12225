// stage::parse: parse and check each frame; answer ARP and NDP for the gateway; guard pod
// ports (a pod sends only from its own MAC and addresses); turn away what the routed model
// never forwards and what would outlive its TTL; build the conntrack key.
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstring>
#include <optional>

#include "dataplane/hot/flow_key.h"
#include "dataplane/hot/neighbor.h"
#include "dataplane/hot/parse.h"
#include "dataplane/hot/stages.h"
#include "dataplane/hot/time_exceeded.h"

namespace palisade::dataplane::stage {

namespace {

constexpr uint8_t kNeighborSolicitation = 135;

// Addresses the routed model never forwards: multicast, broadcast, IPv6 link-local.
bool not_routable(const ParsedPacket& p) {
  if (p.kind == L3Kind::Ipv4) {
    return p.dst[0] >= 224 || (p.dst[0] == 0);
  }
  return p.dst[0] == 0xff || (p.dst[0] == 0xfe && (p.dst[1] & 0xc0) == 0x80);
}

// Two MAC addresses compared as a 4-byte and a 2-byte word (memcmp of 6 bytes is a call).
bool same_mac(const uint8_t* a, const uint8_t* b) {
  uint32_t a4, b4;
  uint16_t a2, b2;
  std::memcpy(&a4, a, 4);
  std::memcpy(&b4, b, 4);
  std::memcpy(&a2, a + 4, 2);
  std::memcpy(&b2, b + 4, 2);
  return ((a4 ^ b4) | static_cast<uint32_t>(a2 ^ b2)) == 0;
}

// One address of a parsed packet as a key's two address words. An IPv4 address is read with
// the 4-byte width the parser wrote it with and widened in a register: a wider read spanning
// the parser's narrower writes would wait for them (a failed store-to-load forward).
void address_words(bool v4, const uint8_t* a, uint64_t& hi, uint64_t& lo) {
  if (v4) {
    uint32_t x;
    std::memcpy(&x, a, 4);
    hi = x;
    lo = 0;
  } else {
    std::memcpy(&hi, a, 8);
    std::memcpy(&lo, a + 8, 8);
  }
}

// A conntrack key, built as words and stored whole; ICMP queries and their replies share one
// (the type is not part of it: an echo reply must find its request).
void make_key(const ParsedPacket& p, uint8_t proto, const uint8_t* src, const uint8_t* dst,
              uint16_t sport, uint16_t dport, FlowKey& out) {
  const bool v4 = p.kind == L3Kind::Ipv4;
  FlowKeyWords k;
  address_words(v4, src, k.w[0], k.w[1]);
  address_words(v4, dst, k.w[2], k.w[3]);
  if (ipproto::is_icmp(proto)) {
    sport = dport = 0;
  }
  k.w[4] = uint64_t{sport} | uint64_t{dport} << 16 | uint64_t{v4 ? 4u : 6u} << 32 |
           uint64_t{proto} << 40;
  store_words(out, k);
}

// The packet's own connection, or for an ICMP error the one it quotes (as it was sent).
void key_of(const ParsedPacket& p, FlowKey& out) {
  if (p.icmp_error) {
    make_key(p, p.inner_proto, p.inner_src, p.inner_dst, p.inner_sport, p.inner_dport, out);
  } else {
    make_key(p, p.proto, p.src, p.dst, p.sport, p.dport, out);
  }
}

// The frame now holds an answer of `len` bytes for the port it came from.
void answer(Burst& b, PacketState& p, uint32_t len) {
  rte_pktmbuf_data_len(p.m) = static_cast<uint16_t>(len);
  rte_pktmbuf_pkt_len(p.m) = len;
  b.send(b.in_port, p);
}

}  // namespace

void parse(Burst& b, const Generation& g, const BurstContext& ctx) noexcept {
  const PortRoles& roles = *ctx.roles;
  const bool pod_port = b.pod_port;
  const PodPortGuard& guard = g.guards[b.in_port];
  uint32_t kept = 0;
  for (uint32_t j = 0; j < b.n_live; ++j) {
    PacketState& p = b.packets[b.live[j]];
    uint8_t* frame = rte_pktmbuf_mtod(p.m, uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(p.m);  // the first segment's bytes
    if (std::optional<Drop> bad = parse_packet(frame, len, rte_pktmbuf_pkt_len(p.m), p.parsed)) {
      b.drop(ctx, p, *bad);
      continue;
    }
    const ParsedPacket& pp = p.parsed;
    if (pod_port && pp.vlan != 0) {
      b.drop(ctx, p, Drop::TaggedOnPodPort);
      continue;
    }
    if (pp.kind == L3Kind::Arp) {
      if (pod_port && answer_arp(frame, len, roles.gateway_mac.data())) {
        b.count(Counter::ArpReplies);
        b.send(b.in_port, p);
      } else {
        b.drop(ctx, p, Drop::NotForwarded);
      }
      continue;
    }
    if (pp.proto == ipproto::kIcmpV6 && pp.l4_offset != 0 && pp.sport >= 133 && pp.sport <= 137) {
      const uint32_t room = rte_pktmbuf_tailroom(p.m) + len;
      // The answer is written over the solicitation, in its one segment.
      const uint32_t out =
          pod_port && pp.sport == kNeighborSolicitation && p.m->nb_segs == 1
              ? answer_neighbor_solicitation(frame, len, room, roles.gateway_mac.data(),
                                             roles.gateway_ipv6.data())
              : 0;
      if (out != 0) {
        b.count(Counter::NdReplies);
        answer(b, p, out);
      } else {
        b.drop(ctx, p, Drop::NotForwarded);
      }
      continue;
    }
    if (not_routable(pp)) {
      b.drop(ctx, p, Drop::NotForwarded);
      continue;
    }
    if (pod_port) {
      if (!guard.bound) {
        b.drop(ctx, p, Drop::UnboundPort);
        continue;
      }
      const auto* eth = reinterpret_cast<const rte_ether_hdr*>(frame);
      const bool owns = pp.kind == L3Kind::Ipv4 ? guard.owns_v4(pp.src) : guard.owns_v6(pp.src);
      if (!same_mac(eth->src_addr.addr_bytes, guard.mac.data()) || !owns) {
        b.drop(ctx, p, Drop::SpoofedSource);
        continue;
      }
    }
    // Before it can open a connection it would never complete; after the guard, so that no
    // error goes to a forged source. A pod is told (the first hop of its traceroute).
    if (__builtin_expect(pp.ttl <= 1, 0)) {
      const uint32_t out =
          pod_port && p.m->nb_segs == 1 && ctx.time_exceeded->take(b.now)
              ? make_time_exceeded(frame, len, rte_pktmbuf_tailroom(p.m) + len, pp,
                                   roles.gateway_mac.data(), roles.gateway_ipv4.data(),
                                   roles.gateway_ipv6.data())
              : 0;
      if (out == 0) {
        b.drop(ctx, p, Drop::TtlExceeded);
        continue;
      }
      // The packet is still counted as dropped for its TTL; its mbuf carries the error.
      ctx.counters->add(Drop::TtlExceeded);
      b.count(Counter::TimeExceededSent);
      answer(b, p, out);
      continue;
    }
    key_of(pp, p.key);
    // The flow cache's set now, so that its line arrives while the rest of the burst parses.
    p.cache_hash = FlowCache::hash(p.key);
    ctx.flow_cache->prefetch(p.cache_hash);
    b.live[kept++] = b.live[j];
  }
  b.n_live = kept;
}

}  // namespace palisade::dataplane::stage
