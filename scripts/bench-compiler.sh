#!/usr/bin/env bash
# The compiler's benchmarks, in one run on this machine:
#   1. compile time and table memory at (100,10), (1k,100), (10k,1k), (50k,5k), and the cost
#      of one pod added and of one policy changed (perf/compiler_bench BM_compile, BM_update);
#   2. classify cost per packet at (10k pods, 1k policies): Palisade's path beside raw
#      rte_acl_classify on the same context (BM_classify), and DPDK's own dpdk-test-acl on
#      the same rules exported as ClassBench files (without the policy-set field, which
#      that format cannot carry).
# Needs no hugepages. Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
build/perf/compiler_bench --benchmark_filter='BM_compile|BM_update|BM_classify'

echo "== the (10k pods, 1k policies) cluster through palisadectl compile"
mkdir -p "$work/cluster"
build/perf/cluster_manifests 10000 1000 > "$work/cluster/cluster.yaml"
build/control/ctl/palisadectl compile --stats --export-classbench "$work/cb" "$work/cluster"

for alg in scalar sse avx2 avx512x16; do
  echo "== dpdk-test-acl --alg=$alg, bursts of 32, same IPv4 rules"
  dpdk-test-acl -l 0 --no-huge -m 1024 --no-pci --no-shconf --file-prefix="bench-acl-$$" \
      --log-level=lib.eal:error -- --rulesf="$work/cb/rules4.cb" --tracef="$work/cb/trace4.cb" \
      --rulenum=1000000 --iter=20 --tracestep=32 --alg="$alg" 2>&1 \
    | grep -E 'search_ip5tuples +@lcore' || echo "   ($alg not available here)"
done
