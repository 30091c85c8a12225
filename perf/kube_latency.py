#!/usr/bin/env python3
"""Event-to-enforcement latency of the daemon with the Kubernetes API as its policy source:
the time from a watch event arriving at the daemon to the generation holding it being in
force on the workers, as the daemon measures it itself (its "oldest event in force after N
ms" log line, the same figure /metrics exports as palisade_event_to_enforcement_seconds).

For each cluster size (perf/cluster.h's synthetic cluster, served by the fake API server of
tests/kube/ over HTTPS), the daemon runs on vhost-user ports without hugepages, and each kind
of change is made N times, one at a time (each waits for its generation):
  pod added       a pod in an application namespace (ns0), like its neighbours
  pod relabelled  an ns0 pod's app label toggled, so that other policies select it
  policy added    a NetworkPolicy in ns0
  monitoring pod  a pod added to the monitoring namespace, which every namespace's policy
                  admits: its address enters a rule of most policy sets of the node
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
    pod_objects = [o for o in objects if o["kind"] == "Pod"]
    app_pod = next(o for o in pod_objects if o["metadata"]["namespace"] == "ns0")
    monitoring_pod = next(o for o in pod_objects if o["metadata"]["namespace"] == "monitoring")
    ns = "ns0"
    results: dict[str, list[float]] = {"pod added": [], "pod relabelled": [],
                                       "policy added": [], "monitoring pod": []}
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
                if args.verbose:
                    print(f"    {kind}: {line.split(' in force: ', 1)[1]}", flush=True)
                time.sleep(0.05)

            def add_pod(like: dict, name: str, ip: str) -> None:
                pod = copy.deepcopy(like)
                pod_ns = like["metadata"]["namespace"]
                pod["metadata"] = {"name": name, "namespace": pod_ns,
                                   "labels": dict(like["metadata"].get("labels", {}))}
                pod["status"] = {"podIP": ip}
                timed("pod added" if like is app_pod else "monitoring pod",
                      lambda: server.create(f"/api/v1/namespaces/{pod_ns}/pods", pod))

            for i in range(args.iterations):
                add_pod(app_pod, f"latency-pod-{i}", f"10.250.0.{i + 1}")
            for i in range(args.iterations):
                path = f"/api/v1/namespaces/{ns}/pods/{app_pod['metadata']['name']}"

                def relabel():
                    _, current = server.request("GET", path)
                    current["metadata"]["labels"]["app"] = "a1" if i % 2 == 0 else "a2"
                    server.replace(path, current)
                timed("pod relabelled", relabel)
            for i in range(args.iterations):
                policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": f"latency-{i}", "namespace": ns},
                          "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                                   "ingress": [{"ports": [{"port": 20000 + i}]}]}}
                timed("policy added", lambda: server.create(
                    f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies", policy))
            for i in range(args.iterations):
                add_pod(monitoring_pod, f"latency-monitor-{i}", f"10.251.0.{i + 1}")
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
    parser.add_argument("--verbose", action="store_true", help="print each generation line")
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
