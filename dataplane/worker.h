// Worker: the poll-mode loop of one dedicated lcore. It polls its (port, queue) pairs and runs
// each burst received through the stages of the packet path (dataplane/hot/stages.h: parse,
// track, locate, classify, decide, route) against the generation in force, then transmits
// what is to leave, frees what was dropped and enqueues the burst's flow events.
//
// Threads: one Worker per lcore, started by Dataplane; it reads the Ruleset published by the
// control thread (RCU: quiescent at the top of each poll), shares the conntrack table with
// the other workers, and writes only its own counters, flow cache, fragment table and
// flow-log ring. Hot path: no allocation (every buffer lives in the Worker's Burst), no lock,
// no system call.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/hot/burst.h"
#include "dataplane/hot/conntrack.h"
#include "dataplane/hot/counters.h"
#include "dataplane/hot/ports.h"
#include "dataplane/publisher.h"
#include "dataplane/ruleset.h"

namespace palisade::dataplane {

struct PortQueue {
  uint16_t port = 0;
  uint16_t queue = 0;
};

struct WorkerSetup {
  uint32_t id = 0;            // RCU reader id, counter row, tx queue on every port
  std::vector<PortQueue> rx;  // what it polls
  const PortRoles* roles = nullptr;
  Publisher<Ruleset>* publisher = nullptr;
  Conntrack* conntrack = nullptr;
  rte_ring* flow_log = nullptr;  // single producer (this worker), single consumer
  uint64_t ticks_per_second = 0;
  bool rejudge_established = true;
  bool tcp_window_tracking = true;
  bool tcp_loose_pickup = false;
  const std::atomic<bool>* stop = nullptr;
};

class Worker {
 public:
  explicit Worker(const WorkerSetup& setup);
  ~Worker();
  // The lcore's loop, until *stop; for rte_eal_remote_launch (arg: the Worker).
  static int run(void* arg);
  // One poll of every queue: public so that tests and benchmarks can step a worker.
  void poll() noexcept;
  // For a benchmark that compares both in one run, on a stepped worker (not while it runs).
  void set_tcp_window_tracking(bool on) noexcept { context_.tcp_window_tracking = on; }
  // Judges and forwards one received burst (the packets are consumed).
  void process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint64_t now) noexcept;
  const WorkerCounters& counters() const { return counters_; }

 private:
  void transmit() noexcept;
  void enqueue_events() noexcept;

  WorkerSetup setup_;
  WorkerCounters counters_;
  std::unique_ptr<FragmentTable> fragments_;
  std::unique_ptr<FlowCache> flow_cache_;
  TimeExceededBudget time_exceeded_;
  BurstContext context_;
  std::unique_ptr<Burst> burst_;  // one burst's state, reused
};

}  // namespace palisade::dataplane
