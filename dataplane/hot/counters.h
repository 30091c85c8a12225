// What a worker counts: one list of counters (as hot/drop.h is one list of drop reasons), the
// per-reason drops and the per-port packets. Every reader (the admin API's metrics and
// stats, the daemon's stats line, tests, benchmarks) iterates the list, so a counter added
// here appears everywhere with its name and help.
//
// Threads: a worker's counters are written by that worker alone and read by any thread.
// Writes are a relaxed load and a relaxed store (a lone writer needs no read-modify-write,
// and plain `mov`s are what the hot path can afford); reads are relaxed loads. That is
// free of data races, and a reader sees each counter's latest value soon enough.
#pragma once

#include <rte_config.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/hot/drop.h"

namespace palisade::dataplane {

enum class Counter : uint8_t {
  Rx,                 // packets received
  Tx,                 // packets transmitted
  ConntrackHits,      // packets of tracked connections
  Classified,         // packets judged by the policy tables
  Allowed,            // new connections allowed (and put in conntrack)
  Denied,             // packets denied by policy
  Rejudged,           // connections judged again by a newer generation
  DroppedAfterAllow,  // connections policy allowed that the node could not carry
  ArpReplies,         // ARP requests answered for the gateway
  NdReplies,          // neighbor solicitations answered for the gateway
  TimeExceededSent,   // ICMP Time Exceeded errors sent to pods
  FlowLogLost,        // flow events lost to a full flow-log ring
  Count,
};
inline constexpr size_t kCounters = static_cast<size_t>(Counter::Count);

struct CounterInfo {
  std::string_view name;  // Prometheus: palisade_worker_<name>_total; JSON: the key
  std::string_view help;
};

inline constexpr std::array<CounterInfo, kCounters> kCounterInfo{{
    {"rx_packets", "Packets received"},
    {"tx_packets", "Packets transmitted"},
    {"conntrack_hits", "Packets of tracked connections"},
    {"classified_packets", "Packets judged by the policy tables"},
    {"allowed_connections", "New connections allowed"},
    {"denied_packets", "Packets denied by policy"},
    {"rejudged_connections", "Connections re-judged by a new generation"},
    {"dropped_after_allow",
     "Connections policy allowed that were dropped (conntrack full, no route)"},
    {"arp_replies", "ARP requests answered for the gateway"},
    {"nd_replies", "Neighbor solicitations answered for the gateway"},
    {"time_exceeded_sent", "ICMP Time Exceeded errors sent to pods (RFC 1812 4.3.2.7)"},
    {"flow_log_lost", "Flow events lost to a full flow-log ring"},
}};
static_assert(!kCounterInfo.back().name.empty(), "a counter without a name");

// Counter values as plain numbers: a copy loaded from a worker, or a sum over workers.
struct CounterValues {
  std::array<uint64_t, kCounters> counts{};
  std::array<uint64_t, kDrops> drops{};
  std::array<uint64_t, RTE_MAX_ETHPORTS> port_rx{}, port_tx{};

  uint64_t operator[](Counter c) const { return counts[static_cast<size_t>(c)]; }
  uint64_t operator[](Drop d) const { return drops[static_cast<size_t>(d)]; }
  CounterValues& operator+=(const CounterValues& o) {
    for (size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
    for (size_t i = 0; i < drops.size(); ++i) drops[i] += o.drops[i];
    for (size_t i = 0; i < port_rx.size(); ++i) {
      port_rx[i] += o.port_rx[i];
      port_tx[i] += o.port_tx[i];
    }
    return *this;
  }
};

// One worker's counters, on their own cache lines.
class alignas(64) WorkerCounters {
 public:
  // The owning worker only.
  void add(Counter c, uint64_t n) noexcept { bump(v_.counts[static_cast<size_t>(c)], n); }
  void add(Drop d, uint64_t n = 1) noexcept { bump(v_.drops[static_cast<size_t>(d)], n); }
  void add_port_rx(uint16_t port, uint64_t n) noexcept { bump(v_.port_rx[port], n); }
  void add_port_tx(uint16_t port, uint64_t n) noexcept { bump(v_.port_tx[port], n); }

  // Any thread: every counter loaded once.
  CounterValues load() const noexcept {
    CounterValues out;
    copy(v_.counts, out.counts);
    copy(v_.drops, out.drops);
    copy(v_.port_rx, out.port_rx);
    copy(v_.port_tx, out.port_tx);
    return out;
  }

 private:
  static void bump(uint64_t& c, uint64_t n) noexcept {
    std::atomic_ref<uint64_t> a(c);
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  template <size_t N>
  static void copy(const std::array<uint64_t, N>& from, std::array<uint64_t, N>& to) noexcept {
    for (size_t i = 0; i < N; ++i) {
      // atomic_ref<const T> is C++26; the value is only loaded.
      to[i] =
          std::atomic_ref<uint64_t>(const_cast<uint64_t&>(from[i])).load(std::memory_order_relaxed);
    }
  }

  CounterValues v_;
};

}  // namespace palisade::dataplane
