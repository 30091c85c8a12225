// Worker: the poll-mode loop of one dedicated lcore. Per burst: receive, parse, guard pod
// ports (anti-spoofing), answer ARP/NDP for the gateway, look connections up, classify the
// misses in one batch against the current Ruleset, insert what is allowed, route (local pod
// port or uplink, MAC rewrite, TTL) and transmit. Every packet not sent is freed with a
// counted reason (dataplane/hot/drop.h).
//
// Threads: one Worker per lcore, started by Dataplane; it reads the Ruleset published by the
// control thread (RCU: quiescent at the top of each poll), shares the conntrack table with
// the other workers, and writes only its own counters, fragment table and flow-log ring.
// Hot path: no allocation (every buffer lives in the Worker), no lock, no system call.
//
// Files: worker.cc runs the loop and the burst (process); each stage has its own file,
// worker_parse.cc, worker_track.cc (track and locate), worker_judge.cc and worker_route.cc,
// sharing the burst's state in worker_burst.h.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/flow_log.h"
#include "dataplane/hot/conntrack.h"
#include "dataplane/hot/drop.h"
#include "dataplane/hot/flow_cache.h"
#include "dataplane/hot/fragment_table.h"
#include "dataplane/hot/time_exceeded.h"
#include "dataplane/publisher.h"
#include "dataplane/ruleset.h"
#include "dataplane/worker_counters.h"

namespace palisade::dataplane {

inline constexpr uint16_t kBurst = 32;
inline constexpr uint16_t kNoPort = 0xffff;

// What a worker knows of each port, fixed at start.
struct PortRoles {
  struct Port {
    bool configured = false;
    bool pod = false;   // a pod port (guarded); otherwise the uplink
    Mac mac{};          // the port's own MAC (source of what leaves an uplink)
    Mac next_hop{};     // uplink: where routed packets go
  };
  std::array<Port, RTE_MAX_ETHPORTS> ports{};
  uint16_t uplink = kNoPort;
  Mac gateway_mac{};    // what pods see as their gateway (proxy ARP/NDP answers)
  std::array<uint8_t, 4> gateway_ipv4{169, 254, 1, 1};  // the source of ICMP errors to pods
  std::array<uint8_t, 16> gateway_ipv6{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
};

struct PortQueue {
  uint16_t port = 0;
  uint16_t queue = 0;
};

struct WorkerSetup {
  uint32_t id = 0;                     // RCU reader id, counter row, tx queue on every port
  std::vector<PortQueue> rx;           // what it polls
  const PortRoles* roles = nullptr;
  Publisher<Ruleset>* publisher = nullptr;
  Conntrack* conntrack = nullptr;
  rte_ring* flow_log = nullptr;        // single producer (this worker), single consumer
  uint64_t ticks_per_second = 0;
  bool rejudge_established = true;
  const std::atomic<bool>* stop = nullptr;
};

class Worker {
 public:
  explicit Worker(const WorkerSetup& setup);
  ~Worker();
  // The lcore's loop, until *stop; for rte_eal_remote_launch (arg: the Worker).
  static int run(void* worker);
  // One poll of every queue: public so that tests and benchmarks can step a worker.
  void poll() noexcept;
  // Judges and forwards one received burst (the packets are consumed).
  void process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint64_t now) noexcept;
  const WorkerCounters& counters() const { return counters_; }

 private:
  struct Packet;  // per-packet state of one burst (worker.cc)
  struct Tally;   // one burst's counts, added to counters_ once (worker.cc)
  // Stages of process(), in order; each takes the burst's packets still in play (`live`,
  // indexes into burst_) and leaves in `live` those that go on (track marks its drops, and
  // locate leaves them out; locate lists the packets judge must judge).
  uint32_t parse_and_guard(const Ruleset& rs, uint16_t in_port, uint8_t* live, uint32_t n,
                           uint64_t now, Tally& tally) noexcept;
  void track(const Ruleset& rs, const uint8_t* live, uint32_t n, uint64_t now,
             Tally& tally) noexcept;
  void on_connection(const Ruleset& rs, Packet& p, Tally& tally) noexcept;
  uint32_t locate(const Ruleset& rs, bool pod_port, uint8_t* live, uint32_t n, uint64_t now,
                  uint8_t* judged, uint32_t& n_judged) noexcept;
  uint32_t judge(const Ruleset& rs, uint16_t in_port, uint8_t* live, uint32_t n,
                 const uint8_t* judged, uint32_t n_judged, uint64_t now, Tally& tally) noexcept;
  void route(const Ruleset& rs, const uint8_t* live, uint32_t n, uint64_t now) noexcept;

  void drop(rte_mbuf* m, Drop why) noexcept;
  void send(uint16_t port, rte_mbuf* m) noexcept;
  void flush() noexcept;
  void log_event(const Ruleset& rs, const Packet& p, uint16_t in_port) noexcept;
  void flush_events() noexcept;

  WorkerSetup setup_;
  WorkerCounters counters_;
  std::unique_ptr<FragmentTable> fragments_;
  std::unique_ptr<FlowCache> flow_cache_;
  TimeExceededBudget time_exceeded_;
  std::unique_ptr<Packet[]> burst_;  // one burst's per-packet state, reused
  std::array<rte_mbuf*, kBurst> dropped_{};  // freed together at the end of the burst
  uint16_t dropped_count_ = 0;
  std::array<std::array<rte_mbuf*, kBurst * 2>, RTE_MAX_ETHPORTS> tx_{};
  std::array<uint16_t, RTE_MAX_ETHPORTS> tx_count_{};
  std::array<uint16_t, RTE_MAX_ETHPORTS> tx_ports_{};  // ports with packets queued, in order
  uint16_t tx_port_count_ = 0;
  std::array<FlowEvent, kBurst> events_{};  // the burst's flow-log events, enqueued together
  uint16_t event_count_ = 0;
};

}  // namespace palisade::dataplane
