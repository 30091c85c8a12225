// stage::decide: what happens to each judged connection. A connection passes only if every
// side judged here allows it. Hits are counted on the deciding verdict entries and a flow
// event is recorded; then a new connection is inserted in conntrack (or, with no room,
// dropped after policy allowed it), a rejudged one is refreshed to this generation or cut,
// and a denied first fragment closes its datagram to the fragments that follow.
#include <cstring>

#include "dataplane/hot/stages.h"

namespace palisade::dataplane::stage {

namespace {

void record_event(Burst& b, PacketState& p, const Generation& g) {
  p.event = static_cast<uint8_t>(b.event_count);
  FlowEvent& e = b.events[b.event_count++];  // at most one event per judged packet
  e = FlowEvent{};
  e.generation = g.number;
  e.family = p.parsed.kind == L3Kind::Ipv4 ? 4 : 6;
  e.proto = p.parsed.proto;
  e.action = p.allowed
                 ? FlowEvent::Action::Allowed
                 : (p.match.index != kNoFlow ? FlowEvent::Action::Cut : FlowEvent::Action::Denied);
  e.sport = p.c_sport;
  e.dport = p.c_dport;
  e.in_port = b.in_port;
  e.out_port = p.dst_sets.port;
  std::memcpy(e.src, p.c_src, 16);
  std::memcpy(e.dst, p.c_dst, 16);
  e.egress_verdict = p.egress.verdict;
  e.ingress_verdict = p.ingress.verdict;
  e.egress_judged = p.egress_judged;
  e.ingress_judged = p.ingress_judged;
  e.egress_allow = p.egress.allow;
  e.ingress_allow = p.ingress.allow;
}

}  // namespace

void decide(Burst& b, const Generation& g, const BurstContext& ctx) noexcept {
  Conntrack& ct = *ctx.conntrack;
  // A new connection's entry is a cold line: prefetch every one the burst will write before
  // the first insert, so that their misses overlap.
  for (uint32_t j = 0; j < b.n_judged; ++j) {
    PacketState& p = b.packets[b.judged[j]];
    p.allowed = (!p.egress_judged || p.egress.allow) && (!p.ingress_judged || p.ingress.allow);
    if (p.allowed && p.match.index == kNoFlow) {
      ct.prefetch_insert(p.probe);
    }
  }
  const auto generation = static_cast<uint32_t>(g.number);
  const bool log = ctx.flow_log != nullptr;
  for (uint32_t j = 0; j < b.n_judged; ++j) {
    PacketState& p = b.packets[b.judged[j]];
    if (p.egress_judged && p.egress.verdict != 0) {
      g.hits.hit(ctx.worker, p.egress.verdict);
    }
    if (p.ingress_judged && p.ingress.verdict != 0) {
      g.hits.hit(ctx.worker, p.ingress.verdict);
    }
    p.event = kNoEvent;
    if (log) {
      record_event(b, p, g);
    }
    if (p.match.index != kNoFlow) {  // rejudged
      if (p.allowed) {
        ct.set_generation(p.match.index, generation, p.egress.verdict, p.ingress.verdict);
        ct.seen(p.match.index, p.match.dir, p.parsed.tcp_flags, b.now);
      } else {
        ct.remove(p.match.index);
        if (p.parsed.fragment) {
          ctx.fragments->on_first(p.parsed, false, b.now);
        }
        b.drop(ctx, p, Drop::ConnectionCut);
      }
    } else if (!p.allowed) {
      b.count(Counter::Denied);
      if (p.parsed.fragment) {
        ctx.fragments->on_first(p.parsed, false, b.now);  // its later fragments are denied too
      }
      b.drop(ctx, p, Drop::PolicyDenied);
    } else {
      const uint32_t slot = ct.insert_probed(p.key, p.probe, generation, p.egress.verdict,
                                             p.ingress.verdict, p.parsed.tcp_flags, b.now);
      if (slot == kNoFlow) {
        b.drop_after_allow(ctx, p, Drop::ConntrackFull);
      } else {
        b.count(Counter::Allowed);
        ctx.flow_cache->fill(p.cache_hash, slot, p.probe);
        if (p.parsed.proto == ipproto::kTcp && ctx.tcp_window_tracking) {
          if ((p.parsed.tcp_flags & 0x12) != 0x02) {
            ct.tcp_pickup(slot);  // loose pickup: opened by no SYN we saw
          }
          ct.tcp_in_window(slot, FlowDir::Original, tcp_segment(p.parsed));  // its first SYN
        }
      }
    }
  }
  b.compact();
}

}  // namespace palisade::dataplane::stage
