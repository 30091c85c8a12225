#include "dataplane/worker.h"

#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dataplane/worker_burst.h"

namespace palisade::dataplane {

Worker::Worker(const WorkerSetup& setup)
    : setup_(setup),
      fragments_(std::make_unique<FragmentTable>(setup.ticks_per_second * 30)),
      flow_cache_(std::make_unique<FlowCache>()),
      time_exceeded_(setup.ticks_per_second),
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

void Worker::flush() noexcept {
  for (uint16_t k = 0; k < tx_port_count_; ++k) {
    const uint16_t port = tx_ports_[k];
    const uint16_t n = tx_count_[port];
    const uint16_t sent = rte_eth_tx_burst(port, static_cast<uint16_t>(setup_.id),
                                           tx_[port].data(), n);
    counters_.add(Counter::Tx, sent);
    counters_.add_port_tx(port, sent);
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
  counters_.add(Counter::FlowLogLost, event_count_ - queued);
  event_count_ = 0;
}

void Worker::process(uint16_t in_port, rte_mbuf** pkts, uint16_t n, uint64_t now) noexcept {
  while (n > kBurst) {  // the per-burst arrays hold kBurst packets
    process(in_port, pkts, kBurst, now);
    pkts += kBurst;
    n = static_cast<uint16_t>(n - kBurst);
  }
  counters_.add(Counter::Rx, n);
  counters_.add_port_rx(in_port, n);
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
    uint32_t k = parse_and_guard(*rs, in_port, live, n, now, tally);
    track(*rs, live, k, now, tally);
    uint8_t judged[kBurst];
    uint32_t n_judged = 0;
    k = locate(*rs, setup_.roles->ports[in_port].pod, live, k, now, judged, n_judged);
    if (n_judged != 0) {
      k = judge(*rs, in_port, live, k, judged, n_judged, now, tally);
    }
    route(*rs, live, k, now);
    for (size_t c = 0; c < kCounters; ++c) {
      counters_.add(static_cast<Counter>(c), tally.counts[c]);
    }
  }
  flush();
  if (dropped_count_ != 0) {
    rte_pktmbuf_free_bulk(dropped_.data(), dropped_count_);
    dropped_count_ = 0;
  }
}

}  // namespace palisade::dataplane
