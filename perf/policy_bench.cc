// Micro-benchmarks of the policy engine's slow path: selector evaluation and the reference
// evaluator. The reference evaluator is built to be obviously right, not fast; these
// figures show what a verify run or a differential test costs as clusters grow.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "policy/decode.h"
#include "policy/evaluator.h"
#include "policy/selector.h"

namespace {

using namespace palisade::policy;

void BM_selector_matches(benchmark::State& state) {
  Selector sel = *Selector::parse(
      "app in {'web', 'api', 'db'} && env != 'dev' && !has(quarantine) || tier starts with 'f'");
  Labels labels{{"app", "db"}, {"env", "prod"}, {"tier", "backend"}, {"team", "payments"}};
  for (auto _ : state) {
    benchmark::DoNotOptimize(sel.matches(labels));
  }
}
BENCHMARK(BM_selector_matches);

void BM_selector_parse(benchmark::State& state) {
  const std::string text =
      "app in {'web', 'api', 'db'} && env != 'dev' && !has(quarantine) || tier starts with 'f'";
  for (auto _ : state) {
    benchmark::DoNotOptimize(Selector::parse(text));
  }
}
BENCHMARK(BM_selector_parse);

// A cluster of `namespaces` namespaces of 20 pods each, default deny plus an allow-list per
// namespace: the realistic mix of the compiler's benchmarks, at reference-evaluator sizes.
std::vector<Object> cluster(int namespaces) {
  std::vector<Object> objects;
  DecodeOptions options{"bench", true};
  auto add = [&](const std::string& yaml) {
    objects.push_back(decode_document(YAML::Load(yaml), options).object.value());
  };
  for (int n = 0; n < namespaces; ++n) {
    const std::string ns = "ns" + std::to_string(n);
    add("{apiVersion: v1, kind: Namespace, metadata: {name: " + ns + "}}");
    for (int p = 0; p < 20; ++p) {
      add("{apiVersion: v1, kind: Pod, metadata: {name: p" + std::to_string(p) +
          ", namespace: " + ns + ", labels: {app: a" + std::to_string(p % 4) +
          "}}, spec: {nodeName: node-a}, status: {podIP: 10." + std::to_string(n / 250) + "." +
          std::to_string(n % 250) + "." + std::to_string(p + 1) + "}}");
    }
    add("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: deny, "
        "namespace: " +
        ns + "}, spec: {podSelector: {}, policyTypes: [Ingress, Egress]}}");
    add("{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: allow, "
        "namespace: " +
        ns +
        "}, spec: {podSelector: {matchLabels: {app: a1}}, ingress: "
        "[{from: [{podSelector: {matchLabels: {app: a0}}}], ports: [{port: 8080}]}], egress: "
        "[{to: [{podSelector: {}}]}]}}");
  }
  return objects;
}

void BM_evaluate(benchmark::State& state) {
  SnapshotBuild build = build_snapshot(cluster(static_cast<int>(state.range(0))));
  Flow flow;
  flow.src = *IpAddr::parse("10.0.0.1");
  flow.dst = *IpAddr::parse("10.0.0.2");
  flow.dst_port = 8080;
  for (auto _ : state) {
    benchmark::DoNotOptimize(evaluate(*build.snapshot, flow));
  }
  state.counters["pods"] = static_cast<double>(build.snapshot->endpoints.size());
}
BENCHMARK(BM_evaluate)->Arg(1)->Arg(10)->Arg(50);

void BM_build_snapshot(benchmark::State& state) {
  std::vector<Object> objects = cluster(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(build_snapshot(objects));
  }
  state.counters["objects"] = static_cast<double>(objects.size());
}
BENCHMARK(BM_build_snapshot)->Arg(10)->Arg(50);

}  // namespace

BENCHMARK_MAIN();
