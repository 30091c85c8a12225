// stage::route: where each packet that passed goes. To a local pod's port (from the
// gateway's MAC to the pod's), or out of the uplink to its next hop, with the L3 rewrite
// (TTL or hop limit, checksum). An allowed first fragment opens its datagram to the
// fragments that follow. A judged connection's packet that cannot leave is dropped after
// allow, so that its flow event does not say it passed.
#include <optional>

#include "dataplane/hot/l3_rewrite.h"
#include "dataplane/hot/stages.h"

namespace palisade::dataplane::stage {

namespace {

void refuse(Burst& b, PacketState& p, const BurstContext& ctx, Drop why) {
  if (p.judge) {
    b.drop_after_allow(ctx, p, why);
  } else {
    b.drop(ctx, p, why);
  }
}

}  // namespace

void route(Burst& b, const Generation& g, const BurstContext& ctx) noexcept {
  const PortRoles& roles = *ctx.roles;
  for (uint32_t j = 0; j < b.n_live; ++j) {
    PacketState& p = b.packets[b.live[j]];
    // Every allowed first fragment, of a new connection or an established one, opens its
    // datagram for the later fragments; a second first fragment of a live datagram is an
    // overlap (RFC 5722) and refuses the datagram.
    if (p.parsed.fragment && p.parsed.first_fragment) {
      if (std::optional<Drop> bad = ctx.fragments->on_first(p.parsed, true, b.now)) {
        refuse(b, p, ctx, *bad);
        continue;
      }
    }
    uint16_t out = p.dst_sets.port;
    const uint8_t* src_mac = nullptr;
    const uint8_t* dst_mac = nullptr;
    if (out != EndpointSets::kRemote) {
      src_mac = roles.gateway_mac.data();
      dst_mac = g.guards[out].mac.data();
    } else if (roles.uplink != kNoPort) {
      out = roles.uplink;
      src_mac = roles.ports[out].mac.data();
      dst_mac = roles.ports[out].next_hop.data();
    } else {
      refuse(b, p, ctx, Drop::NoRoute);
      continue;
    }
    if (!route_rewrite(rte_pktmbuf_mtod(p.m, uint8_t*), rte_pktmbuf_data_len(p.m), p.parsed,
                       src_mac, dst_mac)) {
      refuse(b, p, ctx, Drop::TtlExceeded);
      continue;
    }
    b.send(out, p);
  }
}

}  // namespace palisade::dataplane::stage
