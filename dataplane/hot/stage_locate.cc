// stage::locate: where each address is. The destination's endpoint sets and local port for
// every packet (route needs the port); the source's for what is judged, and on the uplink
// for every packet, since a local pod's address arriving from outside is spoofed (a pod
// port's guard has already checked its own sources). Established packets are recorded in
// conntrack once their source is known to be genuine; the packets to judge are listed.
#include <algorithm>

#include "dataplane/hot/stages.h"

namespace palisade::dataplane::stage {

void locate(Burst& b, const Generation& g, const BurstContext& ctx) noexcept {
  const rte_be32_t* v4[kBurst * 2];
  const uint8_t* v6[kBurst * 2];
  EndpointSets* v4_out[kBurst * 2];
  EndpointSets* v6_out[kBurst * 2];
  uint32_t n4 = 0, n6 = 0;
  for (uint32_t j = 0; j < b.n_live; ++j) {
    PacketState& p = b.packets[b.live[j]];
    const bool need_src = p.judge || !b.pod_port;
    if (p.parsed.kind == L3Kind::Ipv4) {
      if (need_src) {
        v4[n4] = reinterpret_cast<const rte_be32_t*>(p.parsed.src);
        v4_out[n4++] = &p.src_sets;
      }
      v4[n4] = reinterpret_cast<const rte_be32_t*>(p.parsed.dst);
      v4_out[n4++] = &p.dst_sets;
    } else {
      if (need_src) {
        v6[n6] = p.parsed.src;
        v6_out[n6++] = &p.src_sets;
      }
      v6[n6] = p.parsed.dst;
      v6_out[n6++] = &p.dst_sets;
    }
  }
  for (uint32_t at = 0; at < n4; at += RTE_HASH_LOOKUP_BULK_MAX) {
    lookup_v4(g.endpoints, v4 + at, std::min<uint32_t>(RTE_HASH_LOOKUP_BULK_MAX, n4 - at),
              v4_out + at);
  }
  for (uint32_t at = 0; at < n6; at += RTE_HASH_LOOKUP_BULK_MAX) {
    lookup_v6(g.endpoints, v6 + at, std::min<uint32_t>(RTE_HASH_LOOKUP_BULK_MAX, n6 - at),
              v6_out + at);
  }
  Conntrack& ct = *ctx.conntrack;
  b.n_judged = 0;
  uint32_t kept = 0;
  for (uint32_t j = 0; j < b.n_live; ++j) {
    PacketState& p = b.packets[b.live[j]];
    if (!b.pod_port && p.src_sets.port != EndpointSets::kRemote) {
      b.drop(ctx, p, Drop::SpoofedSource);  // a local pod's address arriving from the uplink
      continue;
    }
    // A segment of a connection this node tracks must lie in its window, whether it is
    // recorded here or judged again below; a later fragment has no TCP header to check.
    if (p.match.index != kNoFlow && p.parsed.proto == ipproto::kTcp && ctx.tcp_window_tracking &&
        !p.parsed.icmp_error && p.parsed.l4_offset != 0 &&
        !ct.tcp_in_window(p.match.index, p.match.dir, tcp_segment(p.parsed))) {
      b.drop(ctx, p, Drop::TcpOutOfWindow);
      continue;
    }
    if (p.seen) {
      ct.seen(p.match.index, p.match.dir, p.parsed.tcp_flags, b.now);
    }
    if (p.judge) {
      b.judged[b.n_judged++] = b.live[j];
    }
    b.live[kept++] = b.live[j];
  }
  b.n_live = kept;
}

}  // namespace palisade::dataplane::stage
