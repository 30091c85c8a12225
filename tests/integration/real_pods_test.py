#!/usr/bin/env python3
"""Real pods: two net_tap ports of the daemon moved into network namespaces, each with its
pod's /32, MAC and a default route via 169.254.1.1, are pods with real Linux TCP stacks
(window scaling, SACK, timestamps), which is what window tracking must never get wrong.

1. A 20 MB HTTP download from the server pod to the client pod, on the one port policy
   allows, arrives whole (same SHA-256), and no segment of it is dropped as out of window.
2. The port policy does not allow is closed: curl times out, and the daemon logs the DENY.
3. A rate-limited download (12 MB at 2 MB/s) spans a crash of the daemon (SIGKILL) and its
   restart: the new daemon keeps the connection (conntrack.state_file), its tap ports are
   moved back into the pods' namespaces, and the download completes whole without a new
   connection.
Needs root and `ip netns` (it makes network namespaces); exits 77 (skipped) without them.
Usage: real_pods_test.py PALISADE SOURCE_ROOT"""
import hashlib
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "kube"))
from harness import Checks, Follower, admin_get  # noqa: E402

PODS = {  # name: (namespace name, address, MAC)
    "client": ("palisade-rp-client", "10.1.1.5", "02:00:0a:01:01:05"),
    "server": ("palisade-rp-server", "10.1.2.5", "02:00:0a:01:02:05"),
}
POLICY = """objects:
  - {apiVersion: v1, kind: Namespace, metadata: {name: app, labels: {kubernetes.io/metadata.name: app}}}
  - apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: app, labels: {app: client}}
    spec: {nodeName: node-a, containers: [{name: c, image: curl}]}
    status: {podIP: 10.1.1.5}
  - apiVersion: v1
    kind: Pod
    metadata: {name: server, namespace: app, labels: {app: server}}
    spec: {nodeName: node-a, containers: [{name: s, image: python, ports: [{containerPort: 8080}]}]}
    status: {podIP: 10.1.2.5}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: server-from-client, namespace: app}
    spec:
      podSelector: {matchLabels: {app: server}}
      ingress:
        - from: [{podSelector: {matchLabels: {app: client}}}]
          ports: [{protocol: TCP, port: 8080}]
flows:
  - {src: app/client, dst: app/server, proto: TCP, dport: 8080, expect: allow}
"""


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=60)


def in_pod(pod: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", PODS[pod][0], *args]


def attach(pod: str) -> None:
    """Moves the daemon's tap port of `pod` into the pod's namespace and sets the pod up on
    it, as a CNI would: its MAC, its /32, a default route via the gateway."""
    ns, ip, mac = PODS[pod]
    dev = "pl" + pod
    deadline = time.time() + 15
    while run("ip", "link", "show", dev, check=False).returncode != 0:
        if time.time() > deadline:
            raise RuntimeError(f"the daemon made no tap device {dev}")
        time.sleep(0.1)
    run("ip", "link", "set", dev, "netns", ns)
    run("ip", "-n", ns, "link", "set", "lo", "up")
    run("ip", "-n", ns, "link", "set", dev, "address", mac)
    run("ip", "-n", ns, "addr", "add", f"{ip}/32", "dev", dev)
    run("ip", "-n", ns, "link", "set", dev, "up")
    run("ip", "-n", ns, "route", "add", "169.254.1.1", "dev", dev, "scope", "link")
    run("ip", "-n", ns, "route", "add", "default", "via", "169.254.1.1", "dev", dev)


def sha(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    palisade, root = sys.argv[1], pathlib.Path(sys.argv[2]).resolve()
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("curl") is None or \
            not pathlib.Path("/dev/net/tun").exists():
        print("skipped: needs root, iproute2, curl and /dev/net/tun")
        return 77
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="palisade-real-pods-") as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "policy.yaml").write_text(POLICY)
        www = tmp / "www"
        www.mkdir()
        (www / "big").write_bytes(os.urandom(20_000_000))
        (www / "slow").write_bytes(os.urandom(12_000_000))
        with socket.socket() as s:  # a free port for the admin API
            s.bind(("127.0.0.1", 0))
            admin = s.getsockname()[1]
        node = tmp / "node.yaml"
        node.write_text(f"""node_name: node-a
eal: {{lcores: [0, 1], main_lcore: 0, no_huge: true, memory_mb: 512, file_prefix: palisade-rp-{os.getpid()}}}
mbufs: 8191
workers: [{{lcore: 1}}]
ports:
  - {{name: client, role: pod, devargs: "net_tap0,iface=plclient", pod: app/client, mac: "{PODS['client'][2]}"}}
  - {{name: server, role: pod, devargs: "net_tap1,iface=plserver", pod: app/server, mac: "{PODS['server'][2]}"}}
gateway: {{ipv4: 169.254.1.1, ipv6: "fe80::1", mac: "ee:ee:ee:ee:ee:ee"}}
policy: {{source: directory, directory: {tmp / 'policy.yaml'}}}
conntrack: {{max_flows: 65536, state_file: {tmp / 'conntrack'}}}
admin: {{listen: "127.0.0.1:{admin}"}}
""")
        for ns, _, _ in PODS.values():
            run("ip", "netns", "del", ns, check=False)  # left over from a killed run
            run("ip", "netns", "add", ns)
        args = [palisade, "--config", str(node), "--stats-interval", "0"]
        daemons: list[Follower] = []
        server = None
        try:
            daemons.append(Follower(args, tmp / "daemon1.log"))
            if not check(daemons[0].wait_for(r"^palisade: generation 1 in force", 30),
                         "the daemon puts generation 1 in force"):
                raise RuntimeError
            attach("client")
            attach("server")
            server = subprocess.Popen(in_pod("server", sys.executable, "-m", "http.server", "8080",
                                             "--bind", PODS["server"][1], "--directory", str(www)),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 15
            while "10.1.2.5:8080" not in run(*in_pod("server", "ss", "-ltn")).stdout:
                if time.time() > deadline:
                    raise RuntimeError("the server pod's HTTP server did not start")
                time.sleep(0.1)

            # 1. A download whole, through window tracking.
            got = run(*in_pod("client", "curl", "-sS", "--max-time", "60", "-o", str(tmp / "got"),
                              "-w", "%{http_code} %{size_download}",
                              "http://10.1.2.5:8080/big"), check=False)
            check(got.returncode == 0 and got.stdout == "200 20000000" and
                  sha(tmp / "got") == sha(www / "big"),
                  f"a 20 MB download arrives whole ({got.stdout} {got.stderr.strip()})")
            metrics = admin_get(admin, "/metrics")[1]
            m = re.search(r'reason="tcp_out_of_window"\} (\d+)', metrics)
            check(m and m.group(1) == "0", "no segment of it was out of window "
                                           f"({m.group(0) if m else 'no counter'})")

            # 2. The port policy does not allow.
            closed = run(*in_pod("client", "curl", "-sS", "--max-time", "3",
                                 "http://10.1.2.5:9090/"), check=False)
            check(closed.returncode == 28, f"port 9090 is closed: curl times out ({closed.returncode})")
            check(daemons[0].wait_for(r"^flow: DENY .*10\.1\.1\.5:\d+ \(app/client\) -> "
                                      r"10\.1\.2\.5:9090 .*end of tier", 5),
                  "the daemon logs the denied connection")

            # 3. A download that spans a crash and a restart.
            slow = subprocess.Popen(in_pod("client", "curl", "-sS", "--max-time", "60",
                                           "--limit-rate", "2M", "-o", str(tmp / "slow"),
                                           "-w", "%{http_code} %{size_download} %{num_connects}",
                                           "http://10.1.2.5:8080/slow"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(2)
            daemons[0].proc.send_signal(signal.SIGKILL)
            daemons[0].proc.wait(timeout=10)
            daemons.append(Follower(args, tmp / "daemon2.log"))
            if not check(daemons[1].wait_for(r"^palisade: generation 1 in force", 30),
                         "the restarted daemon puts generation 1 in force"):
                raise RuntimeError
            kept = re.search(r"^palisade: conntrack: kept (\d+) connections", daemons[1].text(),
                             re.M)
            check(kept and int(kept.group(1)) >= 1, "the restarted daemon kept the connections "
                                                     f"({kept.group(0) if kept else 'none'})")
            attach("client")
            attach("server")
            out, err = slow.communicate(timeout=60)
            check(slow.returncode == 0 and out == "200 12000000 1" and
                  sha(tmp / "slow") == sha(www / "slow"),
                  f"the download spanning the restart completes whole, on its one connection "
                  f"({out} {err.strip()})")
        except RuntimeError as e:
            check(False, str(e))
        finally:
            if server is not None:
                server.kill()
            for d in daemons:
                d.stop()
            for ns, _, _ in PODS.values():
                run("ip", "netns", "del", ns, check=False)
            for n, d in enumerate(daemons, 1):
                print(f"--- daemon {n}")
                print("\n".join(l for l in d.text().splitlines()
                                if l.startswith(("palisade:", "flow: DENY")))[-3000:])
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
