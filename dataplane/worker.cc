#include "dataplane/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dataplane/hot/stages.h"

namespace palisade::dataplane {

Worker::Worker(const WorkerSetup& setup)
    : setup_(setup),
      fragments_(std::make_unique<FragmentTable>(setup.ticks_per_second * 30)),
      flow_cache_(std::make_unique<FlowCache>()),
      time_exceeded_(setup.ticks_per_second),
      burst_(std::make_unique<Burst>()) {
  context_.worker = setup.id;
  context_.roles = setup.roles;
  context_.conntrack = setup.conntrack;
  context_.flow_cache = flow_cache_.get();
  context_.fragments = fragments_.get();
  context_.time_exceeded = &time_exceeded_;
  context_.counters = &counters_;
  context_.flow_log = setup.flow_log;
  context_.rejudge_established = setup.rejudge_established;
  context_.tcp_window_tracking = setup.tcp_window_tracking;
  context_.tcp_loose_pickup = setup.tcp_loose_pickup;
}

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

void Worker::transmit() noexcept {
  Burst& b = *burst_;
  for (uint16_t k = 0; k < b.tx_port_count; ++k) {
    const uint16_t port = b.tx_ports[k];
    const uint16_t n = b.tx_count[port];
    const uint16_t sent =
        rte_eth_tx_burst(port, static_cast<uint16_t>(setup_.id), b.tx[port].data(), n);
    counters_.add(Counter::Tx, sent);
    counters_.add_port_tx(port, sent);
    for (uint16_t i = sent; i < n; ++i) {
      counters_.add(Drop::TxFull);
      b.dropped[b.dropped_count++] = b.tx[port][i];
    }
    b.tx_count[port] = 0;
  }
  b.tx_port_count = 0;
}

void Worker::enqueue_events() noexcept {
  Burst& b = *burst_;
  // One enqueue per burst: the ring's head and tail move once, not once per event.
  const unsigned queued = rte_ring_sp_enqueue_burst_elem(setup_.flow_log, b.events.data(),
                                                         sizeof(FlowEvent), b.event_count, nullptr);
  counters_.add(Counter::FlowLogLost, b.event_count - queued);
  b.event_count = 0;
}

void Worker::process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint64_t now) noexcept {
  while (n > kBurst) {  // the per-burst arrays hold kBurst packets
    process(in_port, pkts, kBurst, now);
    pkts += kBurst;
    n = static_cast<uint16_t>(n - kBurst);
  }
  counters_.add(Counter::Rx, n);
  counters_.add_port_rx(in_port, n);
  Burst& b = *burst_;
  const Ruleset* rs = setup_.publisher->current();
  if (rs == nullptr) {  // not ready: nothing is forwarded before the first policy is in force
    for (uint16_t i = 0; i < n; ++i) {
      counters_.add(Drop::NotReady);
      b.dropped[b.dropped_count++] = pkts[i];
    }
  } else {
    const Generation& g = rs->view;
    b.in_port = in_port;
    b.pod_port = setup_.roles->ports[in_port].pod;
    b.now = now;
    for (uint16_t i = 0; i < n; ++i) {
      b.packets[i].m = pkts[i];
      b.live[i] = static_cast<uint8_t>(i);
    }
    b.n_live = n;
    b.n_judged = 0;
    b.tally.fill(0);
    stage::parse(b, g, context_);
    stage::track(b, g, context_);
    stage::locate(b, g, context_);
    if (b.n_judged != 0) {
      stage::classify(b, g);
      stage::decide(b, g, context_);
    }
    stage::route(b, g, context_);
    for (size_t c = 0; c < kCounters; ++c) {
      counters_.add(static_cast<Counter>(c), b.tally[c]);
    }
    if (b.event_count != 0) {
      enqueue_events();
    }
  }
  transmit();
  if (b.dropped_count != 0) {
    rte_pktmbuf_free_bulk(b.dropped.data(), b.dropped_count);
    b.dropped_count = 0;
  }
}

}  // namespace palisade::dataplane
