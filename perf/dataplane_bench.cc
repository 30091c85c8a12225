// The packet path's cost per worker, on in-process ring ports (control/verify/ring_ports.h) with a
// stepped worker (DataplaneConfig::launch_workers false), all figures from one run:
//   BM_io_forward               the ceiling: what testpmd's io forwarding does, rte_eth_rx_burst
//                               from pod port A and rte_eth_tx_burst to pod port B, 32 frames
//   BM_established/FLOWS/W      ACKs of FLOWS established TCP connections from pod A to pod B
//                               (conntrack hit, route, rewrite; W=1: TCP window tracking on,
//                               W=0: off), against io forwarding of the same frames measured
//                               in the same benchmark: both cycle counts, above_io_forward
//                               (the difference) and ratio
//   BM_first_packet/denied      10k flows the policy denies: every packet is classified (the
//                               source's egress and the destination's ingress), none inserted
//   BM_first_packet/new_allowed SYNs of 8,192 new allowed flows a pass, conntrack flushed
//                               between passes (outside the measurement): classify + insert
// The policy: perf/cluster.h's cluster at 10k pods and 1k policies (14,267 IPv4 rules) plus
// one NetworkPolicy letting ns0's pods talk to each other; ns0/p0 is bound to pod port A,
// ns0/p1 to pod port B. First packets go to pods all over the cluster (denied) or to ns0's
// pods (allowed: p1 through port B, the others out of the uplink).
//
// The loop, identical in every variant (so differences are the worker's): copy the next 32
// 64-byte frames into 32 mbufs (frames are rewritten in place: MACs, TTL), put them on port
// A's inbound ring, rte_eth_rx_burst them, forward (rte_eth_tx_burst, or Worker::process),
// take what came out of the output rings back into hand; mbufs the worker dropped (freed)
// are replaced by rte_pktmbuf_alloc_bulk. rte_rdtsc around the whole loop gives *_cyc_pkt;
// worker_cyc_pkt is rte_rdtsc around Worker::process alone (its transmit or free included).
// raw_acl_cyc_pkt: rte_acl_classify alone on the keys the worker builds for the same packets
// (two per packet), on the same context, one call per burst.
#include <benchmark/benchmark.h>
#include <rte_acl.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "control/verify/packet_craft.h"
#include "control/verify/ring_ports.h"
#include "dataplane/dataplane.h"
#include "dataplane/eal.h"
#include "perf/cluster.h"
#include "policy/compiler.h"
#include "policy/decode.h"
#include "policy/snapshot.h"

namespace {

using namespace palisade;
using dataplane::Mac;

constexpr uint16_t kBurst = dataplane::kBurst;  // 32
constexpr size_t kFrameBytes = 64;
constexpr Mac kGatewayMac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
constexpr Mac kRemoteMac{0x02, 0xff, 0, 0, 0, 0x01};
constexpr Mac kPodAMac{0x02, 0, 0, 0, 0, 0x01};
constexpr Mac kPodBMac{0x02, 0, 0, 0, 0, 0x02};
constexpr uint16_t kAllowedPort = 8001;

// ns0/pN has 10.0.1.N (perf/cluster.cc numbers pods from serial 256).
policy::IpAddr ns0_pod_ip(int index) {
  return *policy::IpAddr::parse("10.0.1." + std::to_string(index));
}

// Frames of one workload, kFrameBytes each, back to back; index i wraps around.
struct Frames {
  std::vector<uint8_t> bytes;
  std::vector<control::FrameSpec> specs;
  size_t count() const { return specs.size(); }
  void add(control::FrameSpec spec) {
    spec.payload = 0;
    const size_t header = control::craft_frame(spec).size();
    spec.payload = kFrameBytes - header;
    const control::Frame f = control::craft_frame(spec);
    bytes.insert(bytes.end(), f.begin(), f.end());
    specs.push_back(spec);
  }
  const uint8_t* at(size_t i) const { return bytes.data() + (i % count()) * kFrameBytes; }
};

control::FrameSpec tcp_from_pod_a(const policy::IpAddr& dst, uint16_t sport, uint16_t dport,
                                  uint8_t flags) {
  control::FrameSpec s;
  s.src_mac = kPodAMac;
  s.dst_mac = kGatewayMac;
  s.src = ns0_pod_ip(0);
  s.dst = dst;
  s.proto = policy::ipproto::kTcp;
  s.sport = sport;
  s.dport = dport;
  s.tcp_flags = flags;
  return s;
}

struct Env {
  std::vector<control::RingPort> ports;  // [0] uplink, [1] pod A (ns0/p0), [2] pod B (ns0/p1)
  std::unique_ptr<dataplane::Dataplane> dp;
  std::unique_ptr<policy::Snapshot> snap;
  size_t rules_v4 = 0;
  std::vector<policy::IpAddr> other_pods;  // pods outside ns0 and monitoring
  double setup_s = 0;
  std::string error;
  // Who set up the conntrack table as it is: BM_established keeps its flows between calls.
  size_t established_flows = 0;

  dataplane::Worker& worker() { return *dp->workers()[0]; }
  const control::RingPort& uplink() const { return ports[0]; }
  const control::RingPort& pod_a() const { return ports[1]; }
  const control::RingPort& pod_b() const { return ports[2]; }
};

std::unique_ptr<Env> make_env() {
  auto e = std::make_unique<Env>();
  const auto start = std::chrono::steady_clock::now();
  // PALISADE_BENCH_HUGEPAGES=1: EAL memory (conntrack, mbufs, tables) on hugepages, as on a
  // node; they must be reserved and hugetlbfs mounted first.
  const char* huge = std::getenv("PALISADE_BENCH_HUGEPAGES");
  const bool hugepages = huge != nullptr && std::string(huge) == "1";
  if (auto eal = dataplane::start_eal_for_tools("dataplane_bench", 1024, hugepages); !eal) {
    e->error = eal.error().to_string();
    return e;
  }
  dataplane::DataplaneConfig config;
  for (int i = 0; i < 3; ++i) {
    const std::string name = i == 0 ? "bench-uplink" : "bench-pod" + std::to_string(i);
    auto port = control::create_ring_port(name);
    if (!port) {
      e->error = port.error().to_string();
      return e;
    }
    e->ports.push_back(*port);
    dataplane::DataplaneConfig::Port p;
    p.name = name;
    p.device = port->device;
    p.pod = i != 0;
    p.next_hop = kRemoteMac;
    config.ports.push_back(p);
  }
  config.workers.push_back({0, {}});
  config.mbufs = 8191;
  config.conntrack_max_flows = 1u << 18;
  config.launch_workers = false;
  auto dp = dataplane::Dataplane::start(config);
  if (!dp) {
    e->error = dp.error().to_string();
    return e;
  }
  e->dp = std::move(dp).value();

  std::vector<policy::Object> objects = perf::make_cluster({10000, 1000});
  // The cluster's policies allow no TCP between two of its pods (default deny, and each
  // allow-list names one side only): this one lets ns0's pods talk to each other.
  objects.push_back(
      policy::decode_document(
          YAML::Load("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: "
                     "bench-allow, namespace: ns0}, spec: {podSelector: {}, ingress: [{from: "
                     "[{podSelector: {}}]}], egress: [{to: [{podSelector: {}}]}]}}"),
          policy::DecodeOptions{"bench", true})
          .object.value());
  e->snap = policy::build_snapshot(objects).snapshot;
  auto compiled = policy::compile(*e->snap);
  if (!compiled) {
    e->error = compiled.error().to_string();
    return e;
  }
  e->rules_v4 = compiled->rules_v4.size();
  for (const policy::EndpointBinding& b : compiled->endpoints) {
    if (b.ip.family == 4 && b.name.rfind("ns0/", 0) != 0 && b.name.rfind("ns", 0) == 0) {
      e->other_pods.push_back(b.ip);
    }
  }
  const std::vector<dataplane::PortBinding> bindings = {{e->pod_a().id, "ns0/p0", kPodAMac},
                                                        {e->pod_b().id, "ns0/p1", kPodBMac}};
  if (auto g = e->dp->publish(std::move(compiled).value(), bindings); !g) {
    e->error = g.error().to_string();
    return e;
  }
  e->setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "dataplane_bench: cluster of 10000 pods, 1000 policies (+1): %zu IPv4 rules, "
               "%zu pods outside ns0; setup %.1f s; TSC %.3f GHz\n",
               e->rules_v4, e->other_pods.size(), e->setup_s, double(rte_get_tsc_hz()) / 1e9);
  return e;
}

Env& env() {
  // Never destroyed: the EAL and its ports live until the process exits.
  static Env* e = make_env().release();
  return *e;
}

uint64_t drops(const dataplane::DataplaneTotals& t) {
  return std::accumulate(t.sum.drops.begin(), t.sum.drops.end(), uint64_t{0});
}

std::string drop_reasons(const dataplane::DataplaneTotals& before,
                         const dataplane::DataplaneTotals& after) {
  std::string out;
  for (size_t i = 0; i < after.sum.drops.size(); ++i) {
    if (after.sum.drops[i] != before.sum.drops[i]) {
      out.append(" ").append(dataplane::kDropName[i]).append("=");
      out.append(std::to_string(after.sum.drops[i] - before.sum.drops[i]));
    }
  }
  return out;
}

// Empties the conntrack table so that its slots can be reused: flush_conntrack leaves the
// removed slots Removed; the next housekeeping marks them Dying and the one after a quiescent
// report (an empty poll) frees them.
void reset_conntrack(Env& e) {
  e.dp->flush_conntrack();
  e.dp->housekeeping();
  e.worker().poll();
  e.dp->housekeeping();
  e.dp->drain_flow_events([](const dataplane::FlowEvent&) {});
  e.established_flows = 0;
}

// 32 mbufs in hand, cycled through port `in` and back from the output rings.
class Harness {
 public:
  Harness(Env& e, const control::RingPort& in, std::vector<const control::RingPort*> outs)
      : e_(e), in_(in), outs_(std::move(outs)) {}
  ~Harness() {
    rte_pktmbuf_free_bulk(hand_, held_);
    for (const control::RingPort* p : outs_) {  // nothing should be left; be sure
      void* obj = nullptr;
      while (rte_ring_sc_dequeue(p->outbound, &obj) == 0) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
      }
    }
  }

  // One pass of the loop over frames [at, at + m) of `f`; returns its cycles. `forward`
  // gets the received burst and must consume it.
  template <typename Forward>
  uint64_t step(const Frames& f, size_t at, uint16_t m, Forward&& forward) {
    const uint64_t t0 = rte_rdtsc();
    if (held_ < m) {  // what the worker dropped went back to the pool
      if (rte_pktmbuf_alloc_bulk(e_.dp->pool(), hand_ + held_, m - held_) != 0) {
        return 0;
      }
      for (uint16_t i = held_; i < m; ++i) {
        hand_[i]->data_len = kFrameBytes;
        hand_[i]->pkt_len = kFrameBytes;
      }
      held_ = m;
    }
    for (uint16_t i = 0; i < m; ++i) {
      std::memcpy(rte_pktmbuf_mtod(hand_[i], uint8_t*), f.at(at + i), kFrameBytes);
    }
    const unsigned queued =
        rte_ring_sp_enqueue_burst(in_.inbound, reinterpret_cast<void**>(hand_), m, nullptr);
    // held_ - queued stay in hand (m < held_ only on a partial step)
    std::memmove(hand_, hand_ + queued, (held_ - queued) * sizeof(rte_mbuf*));
    held_ = static_cast<uint16_t>(held_ - queued);
    rte_mbuf* pkts[kBurst];
    const uint16_t n = rte_eth_rx_burst(in_.id, 0, pkts, kBurst);
    forward(pkts, n);
    for (const control::RingPort* p : outs_) {
      held_ = static_cast<uint16_t>(
          held_ + rte_ring_sc_dequeue_burst(p->outbound, reinterpret_cast<void**>(hand_ + held_),
                                            kBurst - held_, nullptr));
    }
    return rte_rdtsc() - t0;
  }

  // Forwarders: io forwarding to `out`, or the worker (its cycles added to *worker_cycles).
  auto io_forward(const control::RingPort& out) {
    return [&out](rte_mbuf** pkts, uint16_t n) {
      const uint16_t sent = rte_eth_tx_burst(out.id, 0, pkts, n);
      if (sent < n) {
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
      }
    };
  }
  auto worker(uint64_t* worker_cycles) {
    return [this, worker_cycles](rte_mbuf** pkts, uint16_t n) {
      const uint64_t t = rte_rdtsc();
      e_.worker().process(in_.id, pkts, n, t);
      *worker_cycles += rte_rdtsc() - t;
    };
  }

 private:
  Env& e_;
  const control::RingPort& in_;
  std::vector<const control::RingPort*> outs_;
  rte_mbuf* hand_[kBurst]{};
  uint16_t held_ = 0;
};

// Sends every frame of `f` once, through the worker.
void send_all(Env& e, const control::RingPort& in, const control::RingPort& out, const Frames& f) {
  Harness h(e, in, {&out});
  uint64_t ignored = 0;
  for (size_t at = 0; at < f.count(); at += kBurst) {
    h.step(f, at, static_cast<uint16_t>(std::min<size_t>(kBurst, f.count() - at)),
           h.worker(&ignored));
    if ((at / kBurst) % 64 == 63) {
      e.dp->drain_flow_events([](const dataplane::FlowEvent&) {});
    }
  }
  e.dp->drain_flow_events([](const dataplane::FlowEvent&) {});
}

// ACKs of `flows` connections pod A -> pod B, sport 1024 + i, dport kAllowedPort.
Frames ack_frames(size_t flows) {
  Frames acks;
  for (size_t i = 0; i < flows; ++i) {
    const control::FrameSpec syn =
        tcp_from_pod_a(ns0_pod_ip(1), uint16_t(1024 + i), kAllowedPort, control::kTcpFlagSyn);
    control::FrameSpec ack = control::reply_of(control::reply_of(syn));
    ack.src_mac = kPodAMac;
    ack.dst_mac = kGatewayMac;
    acks.add(ack);
  }
  return acks;
}

// Opens `flows` connections: SYN from A (judged, inserted), SYN|ACK from B (Established).
bool establish(Env& e, size_t flows, std::string& error) {
  if (e.established_flows == flows) {
    return true;
  }
  reset_conntrack(e);
  Frames syns, synacks;
  for (size_t i = 0; i < flows; ++i) {
    const control::FrameSpec syn =
        tcp_from_pod_a(ns0_pod_ip(1), uint16_t(1024 + i), kAllowedPort, control::kTcpFlagSyn);
    syns.add(syn);
    control::FrameSpec synack = control::reply_of(syn);
    synack.src_mac = kPodBMac;
    synack.dst_mac = kGatewayMac;
    synacks.add(synack);
  }
  const dataplane::DataplaneTotals before = e.dp->totals();
  send_all(e, e.pod_a(), e.pod_b(), syns);
  send_all(e, e.pod_b(), e.pod_a(), synacks);
  const dataplane::DataplaneTotals after = e.dp->totals();
  if (after.sum[dataplane::Counter::Allowed] - before.sum[dataplane::Counter::Allowed] != flows ||
      after.sum[dataplane::Counter::ConntrackHits] -
              before.sum[dataplane::Counter::ConntrackHits] !=
          flows ||
      after.sum[dataplane::Counter::Tx] - before.sum[dataplane::Counter::Tx] != 2 * flows ||
      after.conntrack_live != flows) {
    error = "could not establish " + std::to_string(flows) + " flows: allowed " +
            std::to_string(after.sum[dataplane::Counter::Allowed] -
                           before.sum[dataplane::Counter::Allowed]) +
            ", live " + std::to_string(after.conntrack_live) + ", drops" +
            drop_reasons(before, after);
    return false;
  }
  e.established_flows = flows;
  return true;
}

// Per-burst cycles per packet, as a histogram, for a median: unlike the mean, it does not move
// when another process takes the core for a while (this VM's other builds), so it is what to
// compare between two runs. 1 cycle per bucket up to 4,095 cycles a packet.
class BurstCycles {
 public:
  void add(uint64_t cycles, uint32_t packets) {
    const uint64_t per_packet = cycles / packets;
    ++counts_[std::min<uint64_t>(per_packet, counts_.size() - 1)];
    ++total_;
  }
  double median() const {
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (2 * seen >= total_) {
        return double(i) + 0.5;
      }
    }
    return 0;
  }

 private:
  std::array<uint32_t, 4096> counts_{};
  uint64_t total_ = 0;
};

double mpps(double cycles_per_packet) { return double(rte_get_tsc_hz()) / cycles_per_packet / 1e6; }

void BM_io_forward(benchmark::State& state) {
  Env& e = env();
  if (!e.error.empty()) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  const Frames frames = ack_frames(10000);
  Harness h(e, e.pod_a(), {&e.pod_b()});
  uint64_t cycles = 0, packets = 0;
  size_t at = 0;
  for (auto _ : state) {
    cycles += h.step(frames, at, kBurst, h.io_forward(e.pod_b()));
    packets += kBurst;
    at += kBurst;
  }
  const double cyc = double(cycles) / double(packets);
  state.counters["io_fwd_cyc_pkt"] = benchmark::Counter(cyc);
  state.counters["Mpps"] = benchmark::Counter(mpps(cyc));
}
BENCHMARK(BM_io_forward)->MinTime(1.0);

void BM_established(benchmark::State& state) {
  Env& e = env();
  if (!e.error.empty()) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  const auto flows = size_t(state.range(0));
  std::string error;
  if (!establish(e, flows, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  const Frames acks = ack_frames(flows);
  e.dp->set_tcp_window_tracking(state.range(1) != 0);
  Harness h(e, e.pod_a(), {&e.pod_b()});
  uint64_t io_cycles = 0, pal_cycles = 0, worker_cycles = 0, packets = 0;
  auto io_median = std::make_unique<BurstCycles>(), pal_median = std::make_unique<BurstCycles>();
  size_t at = 0;
  const dataplane::DataplaneTotals before = e.dp->totals();
  for (auto _ : state) {
    // The same 32 frames, io forwarding then the worker.
    const uint64_t io = h.step(acks, at, kBurst, h.io_forward(e.pod_b()));
    const uint64_t pal = h.step(acks, at, kBurst, h.worker(&worker_cycles));
    io_cycles += io;
    pal_cycles += pal;
    io_median->add(io, kBurst);
    pal_median->add(pal, kBurst);
    packets += kBurst;
    at += kBurst;
  }
  const dataplane::DataplaneTotals after = e.dp->totals();
  if (after.sum[dataplane::Counter::ConntrackHits] -
              before.sum[dataplane::Counter::ConntrackHits] !=
          packets ||
      after.sum[dataplane::Counter::Tx] - before.sum[dataplane::Counter::Tx] != packets ||
      after.sum[dataplane::Counter::Classified] != before.sum[dataplane::Counter::Classified]) {
    error = "not every ACK was a conntrack hit forwarded: hits " +
            std::to_string(after.sum[dataplane::Counter::ConntrackHits] -
                           before.sum[dataplane::Counter::ConntrackHits]) +
            " of " + std::to_string(packets) + ", drops" + drop_reasons(before, after);
    state.SkipWithError(error.c_str());
    return;
  }
  const double io = double(io_cycles) / double(packets);
  const double pal = double(pal_cycles) / double(packets);
  state.counters["io_fwd_cyc_pkt"] = benchmark::Counter(io);
  state.counters["palisade_cyc_pkt"] = benchmark::Counter(pal);
  state.counters["above_io_forward"] = benchmark::Counter(pal - io);
  state.counters["above_io_median"] =
      benchmark::Counter(pal_median->median() - io_median->median());
  state.counters["ratio"] = benchmark::Counter(pal / io);
  state.counters["worker_cyc_pkt"] = benchmark::Counter(double(worker_cycles) / double(packets));
  state.counters["Mpps"] = benchmark::Counter(mpps(pal));
}
// windows: TCP window tracking off (0, as before it existed) or on (1, the default).
BENCHMARK(BM_established)
    ->ArgNames({"flows", "windows"})
    ->ArgsProduct({{1, 10000, 60000}, {0, 1}})
    ->MinTime(1.0);

// The classify keys the worker builds for each frame (egress of the source's set, ingress of
// the destination's; a zero set is not classified), and rte_acl_classify on them.
class RawClassify {
 public:
  RawClassify(const dataplane::Ruleset& rs, const Frames& f)
      : ctx_(rs.tables->context(4)), categories_(rs.tables->num_categories()) {
    keys_.reserve(f.count() * 2);
    first_.reserve(f.count() + 1);
    for (const control::FrameSpec& s : f.specs) {
      first_.push_back(uint32_t(keys_.size()));
      const dataplane::EndpointSets src = rs.endpoints->lookup(s.src);
      const dataplane::EndpointSets dst = rs.endpoints->lookup(s.dst);
      for (const uint32_t set : {src.egress, dst.ingress}) {
        if (set != 0) {
          keys_.emplace_back();
          dataplane::fill_key(keys_.back(), s.proto, set, s.src, s.dst, s.sport, s.dport);
        }
      }
    }
    first_.push_back(uint32_t(keys_.size()));
  }
  // Cycles of one rte_acl_classify call on the keys of frames [at, at + kBurst).
  uint64_t burst(size_t at) {
    uint32_t n = 0;
    const size_t frames = first_.size() - 1;
    for (size_t i = 0; i < kBurst; ++i) {
      const size_t j = (at + i) % frames;
      for (uint32_t k = first_[j]; k < first_[j + 1]; ++k) {
        ptrs_[n++] = reinterpret_cast<const uint8_t*>(&keys_[k]);
      }
    }
    const uint64_t t0 = rte_rdtsc();
    rte_acl_classify(ctx_, ptrs_, results_, n, categories_);
    const uint64_t t1 = rte_rdtsc();
    benchmark::DoNotOptimize(results_[0]);
    return t1 - t0;
  }
  double keys_per_frame() const { return double(keys_.size()) / double(first_.size() - 1); }

 private:
  rte_acl_ctx* ctx_;
  uint32_t categories_;
  std::vector<dataplane::AclKeyV4> keys_;
  std::vector<uint32_t> first_;
  const uint8_t* ptrs_[kBurst * 2]{};
  uint32_t results_[kBurst * 2 * policy::kMaxCategories]{};
};

void BM_first_packet(benchmark::State& state, bool allowed) {
  Env& e = env();
  if (!e.error.empty()) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  reset_conntrack(e);
  // Denied: pod A to pods all over the cluster (A's egress allows ns0 only), 10k flows.
  // Allowed: SYNs of 8,192 flows from pod A to ns0's other pods, p1 behind pod port B and
  // p2..p19 out of the uplink (both sides judged here), new again after each flush.
  std::mt19937 rng(7);
  Frames frames;
  const size_t flows = allowed ? 8192 : 10000;
  for (size_t i = 0; i < flows; ++i) {
    const policy::IpAddr dst =
        allowed ? ns0_pod_ip(1 + int(rng() % 19)) : e.other_pods[rng() % e.other_pods.size()];
    frames.add(
        tcp_from_pod_a(dst, uint16_t(1024 + i), uint16_t(8000 + rng() % 4), control::kTcpFlagSyn));
  }
  RawClassify raw(*e.dp->current(), frames);
  Harness h(e, e.pod_a(), {&e.pod_b(), &e.uplink()});
  uint64_t loop_cycles = 0, worker_cycles = 0, raw_cycles = 0, packets = 0;
  auto loop_median = std::make_unique<BurstCycles>();
  size_t at = 0;
  const dataplane::DataplaneTotals before = e.dp->totals();
  for (auto _ : state) {
    // One pass over the flows when allowed (each new), one burst when denied.
    const size_t bursts = allowed ? flows / kBurst : 1;
    for (size_t b = 0; b < bursts; ++b) {
      const uint64_t loop = h.step(frames, at, kBurst, h.worker(&worker_cycles));
      loop_cycles += loop;
      loop_median->add(loop, kBurst);
      raw_cycles += raw.burst(at);
      packets += kBurst;
      at += kBurst;
      if ((at / kBurst) % 64 == 0) {  // the daemon drains the flow log; so do we, untimed
        e.dp->drain_flow_events([](const dataplane::FlowEvent&) {});
      }
    }
    if (allowed) {
      state.PauseTiming();
      reset_conntrack(e);
      state.ResumeTiming();
    }
  }
  const dataplane::DataplaneTotals after = e.dp->totals();
  const uint64_t judged =
      allowed ? after.sum[dataplane::Counter::Allowed] - before.sum[dataplane::Counter::Allowed]
              : after.sum[dataplane::Counter::Denied] - before.sum[dataplane::Counter::Denied];
  if (judged != packets ||
      after.sum[dataplane::Counter::Classified] - before.sum[dataplane::Counter::Classified] !=
          packets ||
      drops(after) - drops(before) != (allowed ? 0 : packets)) {
    const std::string error = std::string(allowed ? "allowed " : "denied ") +
                              std::to_string(judged) + " of " + std::to_string(packets) +
                              ", drops" + drop_reasons(before, after);
    state.SkipWithError(error.c_str());
    return;
  }
  const double loop = double(loop_cycles) / double(packets);
  const double worker = double(worker_cycles) / double(packets);
  state.counters["loop_cyc_pkt"] = benchmark::Counter(loop);
  state.counters["worker_cyc_pkt"] = benchmark::Counter(worker);
  state.counters["raw_acl_cyc_pkt"] = benchmark::Counter(double(raw_cycles) / double(packets));
  state.counters["keys_pkt"] = benchmark::Counter(raw.keys_per_frame());
  state.counters["Mpps"] = benchmark::Counter(mpps(loop));
  state.counters["Mpps_median"] = benchmark::Counter(mpps(loop_median->median()));
  state.counters["worker_Mpps"] = benchmark::Counter(mpps(worker));
  state.counters["rules_v4"] = benchmark::Counter(double(e.rules_v4));
}
BENCHMARK_CAPTURE(BM_first_packet, denied, false)->MinTime(1.0);
BENCHMARK_CAPTURE(BM_first_packet, new_allowed, true)->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
