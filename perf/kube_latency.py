#!/usr/bin/env python3
"""Event-to-enforcement latency of the daemon with the Kubernetes API as its policy source:
the time from a watch event arriving at the daemon to the generation holding it being in
force on the workers, as the daemon measures it itself (its "oldest event in force after N
ms" log line, the same figure /metrics exports as palisade_event_to_enforcement_seconds).

For each cluster size (perf/cluster.h's synthetic cluster, served by the fake API server of
tests/kube/ over HTTPS), the daemon runs on vhost-user ports without hugepages, and each kind
of change is made N times, one at a time (each waits for its generation):
  pod added, a pod's labels changed, a NetworkPolicy added.
Prints p50 and p99 per kind of change and size.

Usage: kube_latency.py PALISADE CLUSTER_MANIFESTS SOURCE_ROOT [--sizes 1000x100,10000x1000]
                       [--iterations 30] [--debounce-ms 10]"""
import argparse
import copy
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "kube"))
from harness import FakeApiServer, Follower, demo_node_file  # noqa: E402

GENERATION = r"^palisade: generation (\d+) in force: .*oldest event in force after (\d+) ms"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(args, pods: int, policies: int) -> dict[str, list[float]]:
    text = subprocess.run([args.cluster_manifests, str(pods), str(policies)], check=True,
                          capture_output=True, text=True).stdout
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects = [o for o in yaml.load_all(text, Loader=loader) if o]
    for o in objects:  # the API server stores Calico's v3 objects as its CRDs
        if o["apiVersion"] == "projectcalico.org/v3":
            o["apiVersion"] = "crd.projectcalico.org/v1"
    first_pod = next(o for o in objects if o["kind"] == "Pod")
    ns = first_pod["metadata"]["namespace"]
    results: dict[str, list[float]] = {"pod added": [], "pod labels changed": [],
                                       "policy added": []}
    with tempfile.TemporaryDirectory(prefix="palisade-latency-") as tmp:
        tmp = pathlib.Path(tmp)
        server = FakeApiServer(tmp, seed=objects)
        kubeconfig = server.kubeconfig(tmp / "kubeconfig")
        node = demo_node_file(args.root, tmp, "latency",
                              f"  source: kubernetes\n  kubeconfig: {kubeconfig}\n"
                              f"  debounce_ms: {args.debounce_ms}\n")
        daemon = Follower([args.palisade, "--config", str(node), "--stats-interval", "0",
                           "--admin-listen", "127.0.0.1:0", "--no-flow-log"], tmp / "daemon.log")
        try:
            first = daemon.wait_for(GENERATION, 600)
            if not first:
                raise RuntimeError("generation 1 never came:\n" + daemon.text()[-3000:])
            print(f"  ({pods} pods, {policies} policies) {first}", flush=True)

            def timed(kind: str, change) -> None:
                mark = daemon.mark()
                change()
                line = daemon.wait_for(GENERATION, 60, mark)
                if not line:
                    raise RuntimeError(f"{kind}: no new generation:\n" + daemon.text()[-2000:])
                results[kind].append(float(re.search(GENERATION, line).group(2)))
                time.sleep(0.05)

            for i in range(args.iterations):
                pod = copy.deepcopy(first_pod)
                pod["metadata"] = {"name": f"latency-pod-{i}", "namespace": ns,
                                   "labels": dict(first_pod["metadata"].get("labels", {}))}
                pod["status"] = {"podIP": f"10.250.{i // 250}.{i % 250 + 1}"}
                timed("pod added", lambda: server.create(f"/api/v1/namespaces/{ns}/pods", pod))
            for i in range(args.iterations):
                name = first_pod["metadata"]["name"]
                path = f"/api/v1/namespaces/{ns}/pods/{name}"

                def relabel():
                    _, current = server.request("GET", path)
                    current["metadata"].setdefault("labels", {})["latency"] = str(i)
                    server.replace(path, current)
                timed("pod labels changed", relabel)
            for i in range(args.iterations):
                policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": f"latency-{i}", "namespace": ns},
                          "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                                   "ingress": [{"ports": [{"port": 20000 + i}]}]}}
                timed("policy added", lambda: server.create(
                    f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies", policy))
        finally:
            daemon.stop()
            server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("palisade")
    parser.add_argument("cluster_manifests")
    parser.add_argument("root", type=pathlib.Path)
    parser.add_argument("--sizes", default="1000x100,10000x1000")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--debounce-ms", type=int, default=10)
    args = parser.parse_args()
    print(f"CPU: {next(l for l in open('/proc/cpuinfo') if l.startswith('model name')).split(':')[1].strip()}, "
          f"{os.cpu_count()} cores; debounce {args.debounce_ms} ms; {args.iterations} changes "
          f"of each kind", flush=True)
    rows = []
    for size in args.sizes.split(","):
        pods, policies = (int(x) for x in size.split("x"))
        for kind, values in measure(args, pods, policies).items():
            rows.append((pods, policies, kind, statistics.median(values), percentile(values, 0.99),
                         max(values)))
    print("| pods | policies | change | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for pods, policies, kind, p50, p99, worst in rows:
        print(f"| {pods} | {policies} | {kind} | {p50:.0f} | {p99:.0f} | {worst:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
