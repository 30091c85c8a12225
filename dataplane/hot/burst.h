// Burst: one received burst on its way through the stages (dataplane/hot/stages.h), with the
// per-packet state each stage writes for the later ones, and what the burst sends, drops and
// records; and BurstContext, what the stages use of the worker that runs them.
//
// A Worker (dataplane/worker) owns one Burst and reuses it: each stage writes what the later
// ones read before they read it, so nothing is reset between bursts except the counts of
// what was queued, which the worker empties after each burst.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>

#include "dataplane/hot/acl_key.h"
#include "dataplane/hot/classify.h"
#include "dataplane/hot/conntrack.h"
#include "dataplane/hot/counters.h"
#include "dataplane/hot/drop.h"
#include "dataplane/hot/endpoint_lookup.h"
#include "dataplane/hot/flow_cache.h"
#include "dataplane/hot/flow_event.h"
#include "dataplane/hot/flow_key.h"
#include "dataplane/hot/fragment_table.h"
#include "dataplane/hot/parse.h"
#include "dataplane/hot/ports.h"
#include "dataplane/hot/tier_walk.h"
#include "dataplane/hot/time_exceeded.h"
#include "policy/ipproto.h"

namespace palisade::dataplane {

namespace ipproto = policy::ipproto;

inline constexpr uint16_t kBurst = 32;  // packets received, and judged, at a time

// What the stages use of their worker: its identity, its tables and its counters.
struct BurstContext {
  uint32_t worker = 0;  // RCU reader id, counter row, tx queue on every port
  const PortRoles* roles = nullptr;
  Conntrack* conntrack = nullptr;      // shared by every worker
  FlowCache* flow_cache = nullptr;     // the worker's own
  FragmentTable* fragments = nullptr;  // the worker's own
  TimeExceededBudget* time_exceeded = nullptr;
  WorkerCounters* counters = nullptr;
  rte_ring* flow_log = nullptr;  // single producer (this worker); null: no flow log
  bool rejudge_established = true;
  bool tcp_window_tracking = true;  // tcp_window.h; off: any segment of a connection passes
  bool tcp_loose_pickup = false;    // a TCP segment of no connection, not a SYN, is judged
};

inline constexpr uint8_t kNoEvent = 0xff;

// What window tracking reads of a parsed TCP segment (dataplane/hot/tcp_window.h).
inline TcpSegment tcp_segment(const ParsedPacket& p) {
  return TcpSegment{p.tcp_seq, p.tcp_ack, p.tcp_window, p.tcp_seq_len, p.tcp_flags, p.tcp_wscale};
}

// One packet's state. Each stage writes what the later ones read before they read it.
struct PacketState {
  rte_mbuf* m = nullptr;    // null once dropped
  ParsedPacket parsed;      // parse
  FlowKey key;              // parse: the connection looked up (an ICMP error's: the quoted one)
  uint32_t cache_hash = 0;  // parse: FlowCache::hash(key)
  FlowCache::Hit cached;    // track: the flow cache's candidate slot
  FlowMatch match;          // track: the connection and the direction of this packet
  FlowProbe probe;          // track: set when the table was searched (a flow cache miss)
  bool judge = false;       // track: classify against the current generation
  bool seen = false;        // track: an established connection's packet, recorded by locate
  EndpointSets src_sets, dst_sets;  // locate: dst_sets for every packet, src_sets where needed
  // classify: the connection's original direction (a rejudged reply is turned around, so it
  // is judged as the connection it belongs to), and each side's outcome.
  const uint8_t* c_src = nullptr;
  const uint8_t* c_dst = nullptr;
  uint16_t c_sport = 0, c_dport = 0;
  Outcome egress, ingress;
  bool egress_judged = false, ingress_judged = false;
  bool allowed = false;      // decide: the outcome of both sides
  uint8_t event = kNoEvent;  // decide: its flow event in the burst's, for route to amend
};

// The classify stage's work area: every key of the burst (a packet's egress and ingress) and
// rte_acl's answers, one classify call per family.
struct ClassifyWork {
  struct Pending {
    PacketState* p;
    bool egress;
    uint8_t family;
    uint32_t slot;  // among the family's keys
    uint32_t set;
  };
  std::array<AclKeyV4, kBurst * 2> keys4;
  std::array<AclKeyV6, kBurst * 2> keys6;
  std::array<const uint8_t*, kBurst * 2> ptr4, ptr6;
  std::array<uint32_t, kBurst * 2 * kMaxCategories> results4, results6;
  std::array<Pending, kBurst * 2> pending;
  uint32_t n4 = 0, n6 = 0, n_pending = 0;
};

struct Burst {
  // Set by the worker for each burst.
  uint16_t in_port = 0;
  bool pod_port = false;
  uint64_t now = 0;  // TSC at receive

  std::array<PacketState, kBurst> packets;
  std::array<uint8_t, kBurst> live;  // indexes into packets of those still in play
  uint32_t n_live = 0;
  std::array<uint8_t, kBurst> judged;  // locate: those to classify and decide
  uint32_t n_judged = 0;
  std::array<uint64_t, kCounters> tally{};  // counts of this burst, added to the worker's once
  ClassifyWork classify;

  // What leaves: packets per output port, in the order ports were first used; packets
  // dropped, freed together; flow events, enqueued together.
  std::array<std::array<rte_mbuf*, kBurst * 2>, RTE_MAX_ETHPORTS> tx{};
  std::array<uint16_t, RTE_MAX_ETHPORTS> tx_count{};
  std::array<uint16_t, RTE_MAX_ETHPORTS> tx_ports{};
  uint16_t tx_port_count = 0;
  std::array<rte_mbuf*, kBurst> dropped{};
  uint16_t dropped_count = 0;
  std::array<FlowEvent, kBurst> events{};
  uint16_t event_count = 0;

  void count(Counter c) noexcept { ++tally[static_cast<size_t>(c)]; }
  // At most one drop per packet of the burst; its reason is counted at once.
  void drop(const BurstContext& ctx, PacketState& p, Drop why) noexcept {
    ctx.counters->add(why);
    dropped[dropped_count++] = p.m;
    p.m = nullptr;
  }
  // A connection policy allowed whose packet the node cannot carry (no room to track it, no
  // route): counted as such, and its flow event, if it has one, says why.
  void drop_after_allow(const BurstContext& ctx, PacketState& p, Drop why) noexcept {
    if (p.event != kNoEvent) {
      events[p.event].action = FlowEvent::Action::Dropped;
      events[p.event].drop = why;
    }
    count(Counter::DroppedAfterAllow);
    drop(ctx, p, why);
  }
  void send(uint16_t port, PacketState& p) noexcept {
    if (tx_count[port] == 0) {
      tx_ports[tx_port_count++] = port;
    }
    tx[port][tx_count[port]++] = p.m;
  }
  // Keeps in `live` the packets not dropped.
  void compact() noexcept {
    uint32_t kept = 0;
    for (uint32_t j = 0; j < n_live; ++j) {
      if (packets[live[j]].m != nullptr) {
        live[kept++] = live[j];
      }
    }
    n_live = kept;
  }
};

}  // namespace palisade::dataplane
