// The state a Worker keeps for one burst, shared by the files of its stages (worker.cc runs
// them in order: worker_parse.cc, worker_track.cc, worker_judge.cc, worker_route.cc), and
// the per-packet helpers they all call, inline because every packet calls them.
// Private to the worker: nothing outside dataplane/worker*.cc includes it.
#pragma once

#include <cstdint>

#include "dataplane/hot/parse.h"
#include "dataplane/worker.h"

namespace palisade::dataplane {

inline constexpr uint8_t kIcmp = 1, kIcmpV6 = 58;

inline bool is_icmp(uint8_t proto) { return proto == kIcmp || proto == kIcmpV6; }

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
  std::array<uint64_t, kCounters> counts{};
  void add(Counter c) { ++counts[static_cast<size_t>(c)]; }
};

inline void Worker::drop(rte_mbuf* m, Drop why) noexcept {
  counters_.add(why);
  dropped_[dropped_count_++] = m;  // at most one drop per packet of the burst
}

inline void Worker::send(uint16_t port, rte_mbuf* m) noexcept {
  if (tx_count_[port] == 0) {
    tx_ports_[tx_port_count_++] = port;
  }
  tx_[port][tx_count_[port]++] = m;
}

}  // namespace palisade::dataplane
