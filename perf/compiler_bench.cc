// Compile time, table memory and classify cost at cluster scale:
//   BM_compile/PODS/POLICIES        snapshot -> CompiledPolicy -> rte_acl tables, in full
//   BM_update/PODS/POLICIES/KIND    the cost of one pod added or one policy changed, by stage:
//                                   the compile session (incremental for pods), then the
//                                   tables built as an overlay over the first build
//   BM_classify/BURST/OVERLAY       at (10k pods, 1k policies), first packets to local pods,
//                                   on tables built in full or (OVERLAY 1) rebased after a
//                                   pod joined the monitoring namespace (a burst split in two):
//                                   palisade = endpoint table lookup, key, rte_acl, tier walk;
//                                   stage = key, rte_acl, tier walk (set ids known);
//                                   raw = rte_acl_classify alone on the same keys and context.
//                                   Cycles per packet of each, and the ratios to raw.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <chrono>
#include <cstring>
#include <random>

#include "dataplane/acl_tables.h"
#include "dataplane/eal.h"
#include "dataplane/endpoint_table.h"
#include "dataplane/table_cache.h"
#include "dataplane/verdict_table.h"
#include "perf/cluster.h"
#include "policy/compile_session.h"
#include "policy/compiler.h"
#include "policy/evaluator.h"
#include "policy/snapshot.h"

namespace {

using namespace palisade;

struct Built {
  std::vector<policy::Object> objects;
  std::unique_ptr<policy::Snapshot> snap;
  policy::CompiledPolicy compiled;
  std::unique_ptr<dataplane::AclTables> tables;
};

Built build(int pods, int policies) {
  Built b;
  b.objects = perf::make_cluster({pods, policies});
  b.snap = policy::build_snapshot(b.objects).snapshot;
  b.compiled = policy::compile(*b.snap).value();
  b.tables = dataplane::AclTables::build(b.compiled).value();
  return b;
}

void start_eal() {
  if (!dataplane::start_eal_for_tools("compiler_bench", 8192)) {
    std::abort();
  }
}

void BM_compile(benchmark::State& state) {
  start_eal();
  auto objects = perf::make_cluster({int(state.range(0)), int(state.range(1))});
  double compile_ms = 0, acl_ms = 0;
  size_t rules = 0, sets = 0, memory = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto snap = policy::build_snapshot(objects).snapshot;
    auto compiled = policy::compile(*snap).value();
    auto t1 = std::chrono::steady_clock::now();
    auto tables = dataplane::AclTables::build(compiled).value();
    auto t2 = std::chrono::steady_clock::now();
    compile_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    acl_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    rules = compiled.rules_v4.size() + compiled.rules_v6.size();
    sets = compiled.sets.size();
    memory = tables->stats(4).memory_bytes + tables->stats(6).memory_bytes;
  }
  state.counters["rules"] = double(rules);
  state.counters["sets"] = double(sets);
  state.counters["policy_ms"] = compile_ms;
  state.counters["acl_build_ms"] = acl_ms;
  state.counters["acl_MiB"] = double(memory) / (1 << 20);
}
BENCHMARK(BM_compile)
    ->Args({100, 10})
    ->Args({1000, 100})
    ->Args({10000, 1000})
    ->Args({50000, 5000})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// One update at cluster scale, through the daemon's path: the CompileSession (a patched
// snapshot and the sets the change reaches, or a full compile), then the tables from the
// TableCache (a rebase onto the base built first, and an overlay of the sets that differ).
// Arg 2: 0 = a pod added to ns0, 1 = ns0/allow-1 changed (another port), 2 = a policy added
// to ns0 (a full compile). Counters: each
// stage's ms (the mean of the iterations), whether the compile was incremental, and what the
// overlay held.
void BM_update(benchmark::State& state) {
  start_eal();
  policy::ObjectStore store;
  for (policy::Object& obj : perf::make_cluster({int(state.range(0)), int(state.range(1))})) {
    store.apply(policy::Decoded{obj.key, std::move(obj)});
  }
  const int64_t kind = state.range(2);
  policy::CompileSession session;
  dataplane::TableCache cache;
  policy::CompileSession::Update first = session.update(store).value();
  cache.build(first.compiled).value();  // the base
  int serial = 0;
  double snapshot_ms = 0, compile_ms = 0, tables_ms = 0, incremental = 0;
  dataplane::TableBuild info;
  for (auto _ : state) {
    policy::Object changed = kind == 0   ? perf::extra_pod(serial++)
                             : kind == 1 ? perf::changed_policy(serial++)
                                         : perf::added_policy(serial++);
    store.apply(policy::Decoded{changed.key, std::move(changed)});
    const auto t0 = std::chrono::steady_clock::now();
    policy::CompileSession::Update u = session.update(store).value();
    const auto t1 = std::chrono::steady_clock::now();
    auto tables = cache.build(u.compiled, &info).value();
    const auto t2 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(tables);
    session.release_retired();  // as the daemon does, after the publish
    const double session_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    // The session times its own two stages; what is left of its time is the assembly.
    snapshot_ms += u.snapshot_ms;
    compile_ms += session_ms - u.snapshot_ms;
    tables_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    incremental += u.incremental ? 1 : 0;
  }
  const double n = double(state.iterations());
  state.counters["snapshot_ms"] = snapshot_ms / n;
  state.counters["compile_ms"] = compile_ms / n;
  state.counters["tables_ms"] = tables_ms / n;
  state.counters["incremental"] = incremental / n;
  state.counters["overlay_rules"] = double(info.full ? 0 : info.rebase.overlay_rules);
  state.counters["overlay_sets"] = double(info.full ? 0 : info.rebase.overlay_sets);
  state.counters["full_builds"] = info.full ? 1 : 0;  // of the last iteration
}

BENCHMARK(BM_update)
    ->ArgNames({"pods", "policies", "policy"})
    ->Args({100, 10, 0})
    ->Args({100, 10, 1})
    ->Args({1000, 100, 0})
    ->Args({1000, 100, 1})
    ->Args({10000, 1000, 0})
    ->Args({10000, 1000, 1})
    ->Args({10000, 1000, 2})
    ->Args({50000, 5000, 0})
    ->Args({50000, 5000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

// The cluster after a pod joined the monitoring namespace, with tables rebased onto the
// cluster's: a quarter of the sets move to the overlay, and classify splits bursts.
struct Rebased {
  policy::CompiledPolicy compiled;  // rebased: the ids the workers would use
  std::unique_ptr<dataplane::AclTables> tables;
  size_t overlay_sets = 0;
};
Rebased rebase_after_monitoring_pod() {
  auto objects = perf::make_cluster({10000, 1000});
  dataplane::TableCache cache;
  auto base = policy::compile(*policy::build_snapshot(objects).snapshot).value();
  cache.build(base).value();
  objects.push_back(perf::extra_pod(0, "monitoring"));
  Rebased r;
  r.compiled = policy::compile(*policy::build_snapshot(objects).snapshot).value();
  dataplane::TableBuild info;
  r.tables = cache.build(r.compiled, &info).value();
  r.overlay_sets = info.full ? 0 : info.rebase.overlay_sets;
  return r;
}

void BM_classify(benchmark::State& state) {
  start_eal();
  static Built plain = build(10000, 1000);
  static Rebased rebased = rebase_after_monitoring_pod();
  const bool overlay = state.range(1) == 1;
  // Arg 1: 0 = tables built in full; 1 = rebased tables with an overlay. Raw rte_acl runs on
  // the full build's context either way (for the overlay, that is the ceiling of one context
  // holding every rule; the overlay's rules differ from it in few places).
  struct View {
    const policy::CompiledPolicy& compiled;
    const dataplane::AclTables& tables;
  };
  const View b =
      overlay ? View{rebased.compiled, *rebased.tables} : View{plain.compiled, *plain.tables};
  static auto plain_endpoints = dataplane::EndpointTable::build(plain.compiled).value();
  static auto rebased_endpoints = dataplane::EndpointTable::build(rebased.compiled).value();
  const auto& endpoints = overlay ? rebased_endpoints : plain_endpoints;
  const size_t burst = size_t(state.range(0));
  // First packets between random pods of the cluster, on ports the policies name and others,
  // judged by the destination's ingress as a worker does for a packet to a local pod.
  std::mt19937 rng(1);
  struct Packet {
    rte_be32_t src, dst;
    uint16_t sport, dport;
  };
  std::vector<Packet> packets(4096);
  std::vector<dataplane::AclKeyV4> keys(packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    const auto& a = plain.compiled.endpoints[rng() % plain.compiled.endpoints.size()];
    const auto& d = plain.compiled.endpoints[rng() % plain.compiled.endpoints.size()];
    std::memcpy(&packets[i].src, a.ip.bytes.data(), 4);
    std::memcpy(&packets[i].dst, d.ip.bytes.data(), 4);
    packets[i].sport = 40000;
    packets[i].dport = uint16_t(8000 + rng() % 4);
    dataplane::fill_key(keys[i], 6, d.ingress_set, a.ip, d.ip, 40000, packets[i].dport);
  }
  const uint32_t cats = b.tables.num_categories();
  const dataplane::VerdictTable verdicts(b.compiled);
  const dataplane::TierWalk walk = verdicts.walk(cats);
  std::vector<uint32_t> results(burst * cats);
  std::vector<const uint8_t*> ptrs(burst);
  std::vector<const rte_be32_t*> addrs(burst);
  std::vector<dataplane::EndpointSets> sets(burst);
  std::vector<dataplane::AclKeyV4> scratch(burst);
  uint64_t palisade_cycles = 0, stage_cycles = 0, raw_cycles = 0, count = 0, allowed = 0;
  size_t at = 0;
  // Keys from the burst's packets and their sets, one classify call, the tier walk.
  auto classify_stage = [&] {
    for (size_t i = 0; i < burst; ++i) {
      const Packet& p = packets[(at + i) % packets.size()];
      dataplane::AclKeyV4& k = scratch[i];
      k.proto = 6;
      k.set_id = rte_cpu_to_be_32(sets[i].ingress);
      k.src = p.src;
      k.dst = p.dst;
      k.sport = rte_cpu_to_be_16(p.sport);
      k.dport = rte_cpu_to_be_16(p.dport);
      ptrs[i] = reinterpret_cast<const uint8_t*>(&k);
    }
    b.tables.classify(4, ptrs.data(), results.data(), uint32_t(burst));
    for (size_t i = 0; i < burst; ++i) {
      allowed += dataplane::walk(walk, sets[i].ingress, &results[i * cats]).allow;
    }
  };

  for (auto _ : state) {
    // Palisade: endpoint table (rte_hash, bulk) -> set id -> key -> classify -> tier walk.
    const uint64_t t0 = rte_rdtsc();
    for (size_t i = 0; i < burst; ++i) {
      addrs[i] = &packets[(at + i) % packets.size()].dst;
    }
    dataplane::lookup_v4(endpoints->index(), addrs.data(), uint32_t(burst), sets.data());
    classify_stage();
    const uint64_t t1 = rte_rdtsc();
    // The classify stage alone: set ids already known (from the endpoint stage above).
    classify_stage();
    const uint64_t t1b = rte_rdtsc();
    // Raw rte_acl on keys already built, same context, same burst size.
    for (size_t i = 0; i < burst; ++i) {
      ptrs[i] = reinterpret_cast<const uint8_t*>(&keys[(at + i) % keys.size()]);
    }
    rte_acl_classify(plain.tables->context(4), ptrs.data(), results.data(), uint32_t(burst), cats);
    const uint64_t t2 = rte_rdtsc();
    palisade_cycles += t1 - t0;
    stage_cycles += t1b - t1;
    raw_cycles += t2 - t1b;
    count += burst;
    at += burst;
  }
  benchmark::DoNotOptimize(allowed);
  const double hz = double(rte_get_tsc_hz());
  state.counters["palisade_cyc_pkt"] = double(palisade_cycles) / double(count);
  state.counters["raw_acl_cyc_pkt"] = double(raw_cycles) / double(count);
  state.counters["ratio"] = double(palisade_cycles) / double(raw_cycles);
  state.counters["stage_cyc_pkt"] = double(stage_cycles) / double(count);
  state.counters["stage_ratio"] = double(stage_cycles) / double(raw_cycles);
  state.counters["palisade_Mpps"] = double(count) / (double(palisade_cycles) / hz) / 1e6;
  state.counters["rules"] = double(b.compiled.rules_v4.size());
  state.counters["overlay_sets"] = overlay ? double(rebased.overlay_sets) : 0;
}
BENCHMARK(BM_classify)
    ->ArgNames({"burst", "overlay"})
    ->Args({1, 0})
    ->Args({32, 0})
    ->Args({64, 0})
    ->Args({32, 1})
    ->Args({64, 1});

}  // namespace

BENCHMARK_MAIN();
