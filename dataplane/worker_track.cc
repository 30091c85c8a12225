// Stages 2 and 3 of Worker::process: connections (the flow cache, then the shared table) and
// where each address is (the endpoint table).
#include <algorithm>
#include <cstring>

#include "dataplane/worker_burst.h"

namespace palisade::dataplane {

// 2. Connections: later fragments follow their first; the rest are looked up, in the flow
//    cache first (a candidate slot, checked against the table), then in the table. A packet
//    dropped here gets m = nullptr; locate() drops it from `live`.
void Worker::track(const Ruleset& rs, const uint8_t* live, uint32_t n, uint64_t now,
                   Tally& tally) noexcept {
  Packet* burst = burst_.get();
  Conntrack& ct = *setup_.conntrack;
  FlowCache& cache = *flow_cache_;
  uint8_t look[kBurst];
  uint32_t n_look = 0;
  // a. Later fragments take their datagram's verdict; the others get the flow cache's
  //    candidate slot (its set was prefetched while parsing), prefetched for the check.
  for (uint32_t j = 0; j < n; ++j) {
    Packet& p = burst[live[j]];
    p.judge = p.seen = false;
    if (__builtin_expect(p.parsed.fragment && !p.parsed.first_fragment, 0)) {
      const FragmentTable::Verdict v = fragments_->on_later(p.parsed, now);
      if (v.drop || !v.allowed) {
        drop(p.m, v.drop.value_or(Drop::PolicyDenied));
        p.m = nullptr;
      }
      continue;  // allowed: routed like its first fragment, no conntrack
    }
    p.cached = cache.find(p.cache_hash);
    ct.prefetch_slot(p.cached.slot);
    look[n_look++] = live[j];
  }
  // b. Each candidate checked as lookup would check it; what the cache did not answer goes
  //    to the table, in one burst lookup.
  const FlowKey* keys[kBurst];
  uint8_t missed[kBurst];
  uint32_t n_missed = 0;
  for (uint32_t j = 0; j < n_look; ++j) {
    Packet& p = burst[look[j]];
    p.match = p.cached.slot == kNoFlow
                  ? FlowMatch{}
                  : ct.check(p.cached.slot, p.cached.probe_word(), p.cached.key_is_canonical(),
                             p.key, now);
    if (p.match.index == kNoFlow) {
      keys[n_missed] = &p.key;
      missed[n_missed++] = look[j];
    } else {
      on_connection(rs, p, tally);
    }
  }
  if (n_missed != 0) {
    FlowMatch matches[kBurst];
    FlowProbe probes[kBurst];
    ct.lookup(keys, n_missed, matches, now, probes);
    for (uint32_t j = 0; j < n_missed; ++j) {
      Packet& p = burst[missed[j]];
      p.match = matches[j];
      p.probe = probes[j];
      if (p.match.index != kNoFlow) {
        cache.fill(p.cache_hash, p.match.index, p.probe);
      }
      on_connection(rs, p, tally);
    }
  }
}

// What a looked-up packet's connection, or its absence, means.
void Worker::on_connection(const Ruleset& rs, Packet& p, Tally& tally) noexcept {
  const ParsedPacket& pp = p.parsed;
  if (__builtin_expect(pp.icmp_error, 0)) {
    // Passes only for a connection that exists, and only towards the host that sent the
    // quoted packet: a pod must not forge errors about other pods' connections.
    const size_t alen = pp.kind == L3Kind::Ipv4 ? 4 : 16;
    if (p.match.index == kNoFlow || std::memcmp(pp.dst, pp.inner_src, alen) != 0) {
      drop(p.m, Drop::IcmpErrorNoConnection);
      p.m = nullptr;
    }
    return;
  }
  if (p.match.index == kNoFlow) {
    // Only a SYN opens a TCP connection, and only a request an ICMP exchange: a reply to
    // nothing is not judged as a new flow (it would pass where its request was denied).
    const bool tcp_not_syn = pp.proto == 6 && (pp.tcp_flags & 0x12) != 0x02;
    const bool echo_reply = is_icmp(pp.proto) && (pp.sport == 0 || pp.sport == 129);
    if (tcp_not_syn || echo_reply) {
      drop(p.m, Drop::NoConnection);
      p.m = nullptr;
      return;
    }
    p.judge = true;
    return;
  }
  tally.add(Counter::ConntrackHits);
  if (setup_.rejudge_established &&
      setup_.conntrack->entry(p.match.index).generation() !=
          static_cast<uint32_t>(rs.generation)) {
    p.judge = true;  // a newer generation: the connection is judged again
    tally.add(Counter::Rejudged);
  } else {
    p.seen = true;  // conntrack learns of it once its source has been checked (stage 3)
  }
}

// 3. Where each address is: the destination's local port (every packet, for routing);
//    policy sets for what is judged; and, on the uplink, whether the source claims a local
//    pod's address (a pod port's guard has already checked its sources).
uint32_t Worker::locate(const Ruleset& rs, bool pod_port, uint8_t* live, uint32_t n,
                        uint64_t now, uint8_t* judged, uint32_t& n_judged) noexcept {
  Packet* burst = burst_.get();
  const rte_be32_t* v4[kBurst * 2];
  const uint8_t* v6[kBurst * 2];
  EndpointSets* v4_out[kBurst * 2];
  EndpointSets* v6_out[kBurst * 2];
  uint32_t n4 = 0, n6 = 0;
  uint32_t alive = 0;
  for (uint32_t j = 0; j < n; ++j) {
    Packet& p = burst[live[j]];
    if (p.m == nullptr) {
      continue;  // dropped by track()
    }
    live[alive++] = live[j];
    const bool need_src = p.judge || !pod_port;
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
    rs.endpoints->lookup_v4(v4 + at, std::min<uint32_t>(RTE_HASH_LOOKUP_BULK_MAX, n4 - at),
                            v4_out + at);
  }
  for (uint32_t at = 0; at < n6; at += RTE_HASH_LOOKUP_BULK_MAX) {
    rs.endpoints->lookup_v6(v6 + at, std::min<uint32_t>(RTE_HASH_LOOKUP_BULK_MAX, n6 - at),
                            v6_out + at);
  }
  Conntrack& ct = *setup_.conntrack;
  uint32_t kept = 0;
  for (uint32_t j = 0; j < alive; ++j) {
    Packet& p = burst[live[j]];
    if (!pod_port && p.src_sets.port != EndpointSets::kRemote) {
      drop(p.m, Drop::SpoofedSource);  // a local pod's address arriving from the uplink
      continue;
    }
    if (p.seen) {
      ct.seen(p.match.index, p.match.dir, p.parsed.tcp_flags, now);
    }
    if (p.judge) {
      judged[n_judged++] = live[j];
    }
    live[kept++] = live[j];
  }
  return kept;
}

}  // namespace palisade::dataplane
