#include "dataplane/worker.h"

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>

#include "dataplane/hot/l3_rewrite.h"
#include "dataplane/hot/neighbor.h"
#include "dataplane/hot/parse.h"

namespace palisade::dataplane {

namespace {

constexpr uint8_t kIcmp = 1, kIcmpV6 = 58;
constexpr uint8_t kNeighborSolicitation = 135;

bool is_icmp(uint8_t proto) { return proto == kIcmp || proto == kIcmpV6; }

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
  if (is_icmp(proto)) {
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

}  // namespace

// Per-packet state of one burst. Each stage writes what the later ones read before they read
// it, so nothing is reset between bursts.
struct Worker::Packet {
  rte_mbuf* m = nullptr;
  ParsedPacket parsed;
  FlowKey key;               // the connection looked up (an ICMP error's: the quoted one)
  uint32_t cache_hash = 0;   // FlowCache::hash(key)
  FlowCache::Hit cached;     // the flow cache's candidate slot
  FlowMatch match;           // conntrack: the connection and the direction of this packet
  FlowProbe probe;           // set when the table was searched (a miss of the flow cache)
  bool judge = false;        // classify against the current generation
  bool seen = false;         // an established connection's packet, to record once checked
  bool allowed = false;      // judged packets: the outcome of both sides
  EndpointSets src_sets, dst_sets;  // dst_sets for every packet, src_sets where looked up
  policy::CompiledPolicy::Outcome egress, ingress;
  bool egress_judged = false, ingress_judged = false;
  // The tuple classified: the connection's original direction (a rejudged reply is turned
  // around, so it is judged as the connection it belongs to).
  const uint8_t* c_src = nullptr;
  const uint8_t* c_dst = nullptr;
  uint16_t c_sport = 0, c_dport = 0;
};

// Counters of one burst, kept in locals and added to WorkerCounters once.
struct Worker::Tally {
  uint64_t conntrack_hits = 0, classified = 0, allowed = 0, denied = 0, rejudged = 0;
  uint64_t arp_replies = 0, nd_replies = 0;
};

Worker::Worker(const WorkerSetup& setup)
    : setup_(setup),
      fragments_(std::make_unique<FragmentTable>(setup.ticks_per_second * 30)),
      flow_cache_(std::make_unique<FlowCache>()),
      burst_(std::make_unique<Packet[]>(kBurst)) {}

Worker::~Worker() = default;

int Worker::run(void* arg) {
  auto* self = static_cast<Worker*>(arg);
  rte_rcu_qsbr* qsbr = self->setup_.publisher->qsbr();
  rte_rcu_qsbr_thread_register(qsbr, self->setup_.id);
  rte_rcu_qsbr_thread_online(qsbr, self->setup_.id);
  while (!self->setup_.stop->load(std::memory_order_relaxed)) {
    self->poll();
  }
  rte_rcu_qsbr_thread_offline(qsbr, self->setup_.id);
  rte_rcu_qsbr_thread_unregister(qsbr, self->setup_.id);
  return 0;
}

void Worker::poll() noexcept {
  // A perfect quiescent point: nothing of the previous poll's Ruleset is held any more, nor
  // any conntrack slot looked up then (the flow cache keeps slot indexes, which it checks
  // again on every use; see dataplane/hot/flow_cache.h).
  rte_rcu_qsbr_quiescent(setup_.publisher->qsbr(), setup_.id);
  rte_mbuf* pkts[kBurst];
  for (const PortQueue& pq : setup_.rx) {
    const uint16_t n = rte_eth_rx_burst(pq.port, pq.queue, pkts, kBurst);
    if (n != 0) {
      process(pq.port, pkts, n, rte_rdtsc());
    }
  }
}

void Worker::drop(rte_mbuf* m, Drop why) noexcept {
  ++counters_.drops[static_cast<size_t>(why)];
  dropped_[dropped_count_++] = m;  // at most one drop per packet of the burst
}

void Worker::send(uint16_t port, rte_mbuf* m) noexcept {
  if (tx_count_[port] == 0) {
    tx_ports_[tx_port_count_++] = port;
  }
  tx_[port][tx_count_[port]++] = m;
}

void Worker::flush() noexcept {
  for (uint16_t k = 0; k < tx_port_count_; ++k) {
    const uint16_t port = tx_ports_[k];
    const uint16_t n = tx_count_[port];
    const uint16_t sent = rte_eth_tx_burst(port, static_cast<uint16_t>(setup_.id),
                                           tx_[port].data(), n);
    counters_.tx += sent;
    counters_.port_tx[port] += sent;
    for (uint16_t i = sent; i < n; ++i) {
      drop(tx_[port][i], Drop::TxFull);
    }
    tx_count_[port] = 0;
  }
  tx_port_count_ = 0;
}

void Worker::log_event(const Ruleset& rs, const Packet& p, uint16_t in_port) noexcept {
  if (setup_.flow_log == nullptr) {
    return;
  }
  FlowEvent& e = events_[event_count_++];  // at most one event per judged packet of the burst
  e = FlowEvent{};
  e.generation = rs.generation;
  e.family = p.parsed.kind == L3Kind::Ipv4 ? 4 : 6;
  e.proto = p.parsed.proto;
  e.action = p.allowed ? FlowEvent::Action::Allowed
                       : (p.match.index != kNoFlow ? FlowEvent::Action::Cut
                                                   : FlowEvent::Action::Denied);
  e.sport = p.c_sport;
  e.dport = p.c_dport;
  e.in_port = in_port;
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

void Worker::flush_events() noexcept {
  // One enqueue per burst: the ring's head and tail move once, not once per event.
  const unsigned queued = rte_ring_sp_enqueue_burst_elem(setup_.flow_log, events_.data(),
                                                         sizeof(FlowEvent), event_count_, nullptr);
  counters_.flow_log_lost += event_count_ - queued;
  event_count_ = 0;
}

void Worker::process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint64_t now) noexcept {
  while (n > kBurst) {  // the per-burst arrays hold kBurst packets
    process(in_port, pkts, kBurst, now);
    pkts += kBurst;
    n = static_cast<uint16_t>(n - kBurst);
  }
  counters_.rx += n;
  counters_.port_rx[in_port] += n;
  const Ruleset* rs = setup_.publisher->current();
  if (rs == nullptr) {  // not ready: nothing is forwarded before the first policy is in force
    for (uint16_t i = 0; i < n; ++i) {
      drop(pkts[i], Drop::NotReady);
    }
  } else {
    Packet* burst = burst_.get();
    uint8_t live[kBurst];
    for (uint16_t i = 0; i < n; ++i) {
      burst[i].m = pkts[i];
      live[i] = static_cast<uint8_t>(i);
    }
    Tally tally;
    uint32_t k = parse_and_guard(*rs, in_port, live, n, tally);
    track(*rs, live, k, now, tally);
    uint8_t judged[kBurst];
    uint32_t n_judged = 0;
    k = locate(*rs, setup_.roles->ports[in_port].pod, live, k, now, judged, n_judged);
    if (n_judged != 0) {
      k = judge(*rs, in_port, live, k, judged, n_judged, now, tally);
    }
    route(*rs, live, k, now);
    counters_.conntrack_hits += tally.conntrack_hits;
    counters_.classified += tally.classified;
    counters_.allowed += tally.allowed;
    counters_.denied += tally.denied;
    counters_.rejudged += tally.rejudged;
    counters_.arp_replies += tally.arp_replies;
    counters_.nd_replies += tally.nd_replies;
  }
  flush();
  if (dropped_count_ != 0) {
    rte_pktmbuf_free_bulk(dropped_.data(), dropped_count_);
    dropped_count_ = 0;
  }
}

// 1. Parse, answer the neighbour protocols, guard the pod port; build the conntrack key.
uint32_t Worker::parse_and_guard(const Ruleset& rs, uint16_t in_port, uint8_t* live, uint32_t n,
                                 Tally& tally) noexcept {
  const PortRoles& roles = *setup_.roles;
  const bool pod_port = roles.ports[in_port].pod;
  const PodPortGuard& guard = rs.guards[in_port];
  Packet* burst = burst_.get();
  uint32_t kept = 0;
  for (uint32_t j = 0; j < n; ++j) {
    Packet& p = burst[live[j]];
    uint8_t* frame = rte_pktmbuf_mtod(p.m, uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(p.m);  // the first segment's bytes
    if (std::optional<Drop> bad = parse_packet(frame, len, rte_pktmbuf_pkt_len(p.m), p.parsed)) {
      drop(p.m, *bad);
      continue;
    }
    const ParsedPacket& pp = p.parsed;
    if (pod_port && pp.vlan != 0) {
      drop(p.m, Drop::TaggedOnPodPort);
      continue;
    }
    if (pp.kind == L3Kind::Arp) {
      if (pod_port && answer_arp(frame, len, roles.gateway_mac.data())) {
        ++tally.arp_replies;
        send(in_port, p.m);
      } else {
        drop(p.m, Drop::NotForwarded);
      }
      continue;
    }
    if (pp.proto == kIcmpV6 && pp.l4_offset != 0 && pp.sport >= 133 && pp.sport <= 137) {
      const uint32_t room = rte_pktmbuf_tailroom(p.m) + len;
      // The answer is written over the solicitation, in its one segment.
      const uint32_t out = pod_port && pp.sport == kNeighborSolicitation && p.m->nb_segs == 1
                               ? answer_neighbor_solicitation(frame, len, room,
                                                              roles.gateway_mac.data(),
                                                              roles.gateway_ipv6.data())
                               : 0;
      if (out != 0) {
        rte_pktmbuf_data_len(p.m) = static_cast<uint16_t>(out);
        rte_pktmbuf_pkt_len(p.m) = out;
        ++tally.nd_replies;
        send(in_port, p.m);
      } else {
        drop(p.m, Drop::NotForwarded);
      }
      continue;
    }
    if (not_routable(pp)) {
      drop(p.m, Drop::NotForwarded);
      continue;
    }
    if (pp.ttl <= 1) {  // before it can open a connection it would never complete
      drop(p.m, Drop::TtlExceeded);
      continue;
    }
    if (pod_port) {
      if (!guard.bound) {
        drop(p.m, Drop::UnboundPort);
        continue;
      }
      const auto* eth = reinterpret_cast<const rte_ether_hdr*>(frame);
      const bool owns = pp.kind == L3Kind::Ipv4 ? guard.owns_v4(pp.src) : guard.owns_v6(pp.src);
      if (!same_mac(eth->src_addr.addr_bytes, guard.mac.data()) || !owns) {
        drop(p.m, Drop::SpoofedSource);
        continue;
      }
    }
    key_of(pp, p.key);
    // The flow cache's set now, so that its line arrives while the rest of the burst parses.
    p.cache_hash = FlowCache::hash(p.key);
    flow_cache_->prefetch(p.cache_hash);
    live[kept++] = live[j];
  }
  return kept;
}

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
  ++tally.conntrack_hits;
  if (setup_.rejudge_established &&
      setup_.conntrack->entry(p.match.index).generation() !=
          static_cast<uint32_t>(rs.generation)) {
    p.judge = true;  // a newer generation: the connection is judged again
    ++tally.rejudged;
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

// 4. Classify what must be judged: the source's egress and the destination's ingress,
//    one classify call per family for the whole burst; then insert, refresh or cut.
uint32_t Worker::judge(const Ruleset& rs, uint16_t in_port, uint8_t* live, uint32_t n,
                       const uint8_t* judged, uint32_t n_judged, uint64_t now,
                       Tally& tally) noexcept {
  Packet* burst = burst_.get();
  AclKeyV4 keys4[kBurst * 2];
  AclKeyV6 keys6[kBurst * 2];
  const uint8_t* ptr4[kBurst * 2];
  const uint8_t* ptr6[kBurst * 2];
  uint32_t results4[kBurst * 2 * policy::kMaxCategories];
  uint32_t results6[kBurst * 2 * policy::kMaxCategories];
  struct Pending {
    Packet* p;
    bool egress;
    uint8_t family;
    uint32_t slot;
    uint32_t set;
  } pending[kBurst * 2];
  uint32_t n4 = 0, n6 = 0, np = 0;
  for (uint32_t j = 0; j < n_judged; ++j) {
    Packet& p = burst[judged[j]];
    ++tally.classified;
    p.egress_judged = p.ingress_judged = false;
    p.egress = p.ingress = policy::CompiledPolicy::Outcome{};
    // On a rejudged reply the sides swap: the connection's source is this packet's dst.
    const ParsedPacket& pp = p.parsed;
    const bool reply = p.match.index != kNoFlow && p.match.dir == FlowDir::Reply;
    p.c_src = reply ? pp.dst : pp.src;
    p.c_dst = reply ? pp.src : pp.dst;
    p.c_sport = reply ? pp.dport : pp.sport;
    p.c_dport = reply ? pp.sport : pp.dport;
    if (reply && is_icmp(pp.proto) && (pp.sport == 0 || pp.sport == 129)) {
      p.c_sport = pp.sport == 0 ? 8 : 128;  // judged as the echo request it answers
      p.c_dport = 0;
    }
    const EndpointSets& c_src_sets = reply ? p.dst_sets : p.src_sets;
    const EndpointSets& c_dst_sets = reply ? p.src_sets : p.dst_sets;
    for (const bool egress : {true, false}) {
      const uint32_t set = egress ? c_src_sets.egress : c_dst_sets.ingress;
      if (set == 0) {
        continue;
      }
      const bool v4 = pp.kind == L3Kind::Ipv4;
      const uint32_t slot = v4 ? n4++ : n6++;
      if (v4) {
        AclKeyV4& key = keys4[slot];
        key.proto = pp.proto;
        key.set_id = rte_cpu_to_be_32(set);
        std::memcpy(&key.src, p.c_src, 4);
        std::memcpy(&key.dst, p.c_dst, 4);
        key.sport = rte_cpu_to_be_16(p.c_sport);
        key.dport = rte_cpu_to_be_16(p.c_dport);
        ptr4[slot] = reinterpret_cast<const uint8_t*>(&key);
      } else {
        AclKeyV6& key = keys6[slot];
        key.proto = pp.proto;
        key.set_id = rte_cpu_to_be_32(set);
        std::memcpy(key.src, p.c_src, 16);
        std::memcpy(key.dst, p.c_dst, 16);
        key.sport = rte_cpu_to_be_16(p.c_sport);
        key.dport = rte_cpu_to_be_16(p.c_dport);
        ptr6[slot] = reinterpret_cast<const uint8_t*>(&key);
      }
      pending[np++] = {&p, egress, static_cast<uint8_t>(v4 ? 4 : 6), slot, set};
    }
  }
  const uint32_t cats = rs.tables->num_categories();
  if (n4 != 0) {
    rs.tables->classify(4, ptr4, results4, n4);
  }
  if (n6 != 0) {
    rs.tables->classify(6, ptr6, results6, n6);
  }
  for (uint32_t j = 0; j < np; ++j) {
    const Pending& q = pending[j];
    const uint32_t* results = (q.family == 4 ? results4 : results6) + q.slot * cats;
    const policy::CompiledPolicy::Outcome o = rs.policy.walk(q.set, results);
    if (q.egress) {
      q.p->egress = o;
      q.p->egress_judged = true;
    } else {
      q.p->ingress = o;
      q.p->ingress_judged = true;
    }
  }
  Conntrack& ct = *setup_.conntrack;
  // A new connection's entry is a cold line: prefetch every one the burst will write before
  // the first insert, so that their misses overlap.
  for (uint32_t j = 0; j < n_judged; ++j) {
    Packet& p = burst[judged[j]];
    p.allowed = (!p.egress_judged || p.egress.allow) && (!p.ingress_judged || p.ingress.allow);
    if (p.allowed && p.match.index == kNoFlow) {
      ct.prefetch_insert(p.probe);
    }
  }
  const uint32_t worker = setup_.id;
  const auto generation = static_cast<uint32_t>(rs.generation);
  for (uint32_t j = 0; j < n_judged; ++j) {
    Packet& p = burst[judged[j]];
    if (p.egress_judged && p.egress.verdict != 0) {
      rs.counters->hit(worker, p.egress.verdict);
    }
    if (p.ingress_judged && p.ingress.verdict != 0) {
      rs.counters->hit(worker, p.ingress.verdict);
    }
    log_event(rs, p, in_port);
    bool dropped = false;
    if (p.match.index != kNoFlow) {  // rejudged
      if (p.allowed) {
        ct.set_generation(p.match.index, generation, p.egress.verdict, p.ingress.verdict);
        ct.seen(p.match.index, p.match.dir, p.parsed.tcp_flags, now);
      } else {
        ct.remove(p.match.index);
        drop(p.m, Drop::ConnectionCut);
        dropped = true;
        if (p.parsed.fragment) {
          fragments_->on_first(p.parsed, false, now);
        }
      }
    } else if (!p.allowed) {
      ++tally.denied;
      drop(p.m, Drop::PolicyDenied);
      dropped = true;
      if (p.parsed.fragment) {
        fragments_->on_first(p.parsed, false, now);  // its later fragments are denied too
      }
    } else {
      ++tally.allowed;
      const uint32_t slot = ct.insert_probed(p.key, p.probe, generation, p.egress.verdict,
                                             p.ingress.verdict, p.parsed.tcp_flags, now);
      if (slot == kNoFlow) {
        drop(p.m, Drop::ConntrackFull);
        dropped = true;
      } else {
        flow_cache_->fill(p.cache_hash, slot, p.probe);
      }
    }
    if (dropped) {
      p.m = nullptr;
    }
  }
  if (event_count_ != 0) {
    flush_events();
  }
  uint32_t kept = 0;
  for (uint32_t j = 0; j < n; ++j) {
    if (burst[live[j]].m != nullptr) {
      live[kept++] = live[j];
    }
  }
  return kept;
}

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
