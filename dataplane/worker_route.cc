// Stage 5 of Worker::process: route what is allowed (a local pod's port or the uplink), with
// the L3 rewrite.
#include "dataplane/hot/l3_rewrite.h"
#include "dataplane/worker_burst.h"

namespace palisade::dataplane {

// 5. Route what is allowed: to a local pod's port, or out of the uplink to the next hop.
void Worker::route(const Ruleset& rs, const uint8_t* live, uint32_t n, uint64_t now) noexcept {
  const PortRoles& roles = *setup_.roles;
  Packet* burst = burst_.get();
  for (uint32_t j = 0; j < n; ++j) {
    Packet& p = burst[live[j]];
    // Every allowed first fragment, of a new connection or an established one, opens its
    // datagram for the later fragments; a second first fragment of a live datagram is an
    // overlap (RFC 5722) and refuses the datagram.
    if (p.parsed.fragment && p.parsed.first_fragment) {
      if (std::optional<Drop> bad = fragments_->on_first(p.parsed, true, now)) {
        drop(p.m, *bad);
        continue;
      }
    }
    uint16_t out = p.dst_sets.port;
    const uint8_t* src_mac = nullptr;
    const uint8_t* dst_mac = nullptr;
    if (out != EndpointSets::kRemote) {
      src_mac = roles.gateway_mac.data();
      dst_mac = rs.guards[out].mac.data();
    } else if (roles.uplink != kNoPort) {
      out = roles.uplink;
      src_mac = roles.ports[out].mac.data();
      dst_mac = roles.ports[out].next_hop.data();
    } else {
      drop(p.m, Drop::NoRoute);
      continue;
    }
    if (!route_rewrite(rte_pktmbuf_mtod(p.m, uint8_t*), rte_pktmbuf_data_len(p.m), p.parsed,
                       src_mac, dst_mac)) {
      drop(p.m, Drop::TtlExceeded);
      continue;
    }
    send(out, p.m);
  }
}

}  // namespace palisade::dataplane
