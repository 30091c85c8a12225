// stage::track: which connection each packet belongs to. Later fragments take their
// datagram's verdict; the others are looked up in the worker's flow cache (a candidate slot,
// checked against the table), then in the shared conntrack table, in one burst lookup. A
// packet that opens nothing (a reply to nothing, an ICMP error about no connection) is
// dropped; a new connection, or one a newer generation has not judged, is marked to judge.
#include <cstring>

#include "dataplane/hot/stages.h"

namespace palisade::dataplane::stage {

namespace {

// What a looked-up packet's connection, or its absence, means.
void on_connection(Burst& b, PacketState& p, const Generation& g, const BurstContext& ctx) {
  const ParsedPacket& pp = p.parsed;
  if (__builtin_expect(pp.icmp_error, 0)) {
    // Passes only for a connection that exists, and only towards the host that sent the
    // quoted packet: a pod must not forge errors about other pods' connections.
    const size_t alen = pp.kind == L3Kind::Ipv4 ? 4 : 16;
    if (p.match.index == kNoFlow || std::memcmp(pp.dst, pp.inner_src, alen) != 0) {
      b.drop(ctx, p, Drop::IcmpErrorNoConnection);
    }
    return;
  }
  if (p.match.index == kNoFlow) {
    // Only a SYN opens a TCP connection, and only a request an ICMP exchange: a reply to
    // nothing is not judged as a new flow (it would pass where its request was denied).
    const bool tcp_not_syn =
        pp.proto == ipproto::kTcp && (pp.tcp_flags & 0x12) != 0x02 && !ctx.tcp_loose_pickup;
    const bool echo_reply = ipproto::is_icmp(pp.proto) && (pp.sport == 0 || pp.sport == 129);
    if (tcp_not_syn || echo_reply) {
      b.drop(ctx, p, Drop::NoConnection);
      return;
    }
    p.judge = true;
    return;
  }
  b.count(Counter::ConntrackHits);
  // A newer generation judges the connection again; one kept across a restart (kUnjudged)
  // always, since the verdicts it recorded are the previous process's.
  const uint32_t judged = ctx.conntrack->entry(p.match.index).generation();
  if (judged != static_cast<uint32_t>(g.number) &&
      (ctx.rejudge_established || judged == Conntrack::kUnjudged)) {
    p.judge = true;
    b.count(Counter::Rejudged);
  } else {
    p.seen = true;  // conntrack learns of it once its source has been checked (locate)
  }
}

}  // namespace

void track(Burst& b, const Generation& g, const BurstContext& ctx) noexcept {
  Conntrack& ct = *ctx.conntrack;
  FlowCache& cache = *ctx.flow_cache;
  uint8_t look[kBurst];
  uint32_t n_look = 0;
  // a. Later fragments take their datagram's verdict; the others get the flow cache's
  //    candidate slot (its set was prefetched while parsing), prefetched for the check.
  for (uint32_t j = 0; j < b.n_live; ++j) {
    PacketState& p = b.packets[b.live[j]];
    p.judge = p.seen = false;
    p.event = kNoEvent;
    if (__builtin_expect(p.parsed.fragment && !p.parsed.first_fragment, 0)) {
      const FragmentTable::Verdict v = ctx.fragments->on_later(p.parsed, b.now);
      if (v.drop || !v.allowed) {
        b.drop(ctx, p, v.drop.value_or(Drop::PolicyDenied));
      }
      continue;  // allowed: routed like its first fragment, no conntrack
    }
    p.cached = cache.find(p.cache_hash);
    ct.prefetch_slot(p.cached.slot);
    look[n_look++] = b.live[j];
  }
  // b. Each candidate checked as lookup would check it; what the cache did not answer goes
  //    to the table, in one burst lookup.
  const FlowKey* keys[kBurst];
  uint8_t missed[kBurst];
  uint32_t n_missed = 0;
  for (uint32_t j = 0; j < n_look; ++j) {
    PacketState& p = b.packets[look[j]];
    p.match = p.cached.slot == kNoFlow ? FlowMatch{}
                                       : ct.check(p.cached.slot, p.cached.probe_word(),
                                                  p.cached.key_is_canonical(), p.key, b.now);
    if (p.match.index == kNoFlow) {
      keys[n_missed] = &p.key;
      missed[n_missed++] = look[j];
    } else {
      on_connection(b, p, g, ctx);
    }
  }
  if (n_missed != 0) {
    FlowMatch matches[kBurst];
    FlowProbe probes[kBurst];
    ct.lookup(keys, n_missed, matches, b.now, probes);
    for (uint32_t j = 0; j < n_missed; ++j) {
      PacketState& p = b.packets[missed[j]];
      p.match = matches[j];
      p.probe = probes[j];
      if (p.match.index != kNoFlow) {
        cache.fill(p.cache_hash, p.match.index, p.probe);
        if (p.parsed.proto == ipproto::kTcp) {
          ct.prefetch_window(p.match.index);  // locate checks it, after the endpoint lookups
        }
      }
      on_connection(b, p, g, ctx);
    }
  }
  b.compact();
}

}  // namespace palisade::dataplane::stage
