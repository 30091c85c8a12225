"""What the Kubernetes tests share: a fake API server (fake_apiserver.py) over HTTPS with a
token, driven like a real one (writes, faults), a kubeconfig that points at it, and a process
whose output is followed line by line."""
import base64
import json
import os
import pathlib
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
TOKEN = "palisade-test-token"


# A Calico policy the integration tests drop in to change what the three-tier example allows:
# it denies everything into app=backend, ahead of the Kubernetes policies.
QUARANTINE = """apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: quarantine-backend}
spec:
  order: 1
  selector: app == 'backend'
  types: [Ingress]
  ingress:
  - action: Deny
"""


def demo_node_file(root: pathlib.Path, tmp: pathlib.Path, name: str, policy: str,
                   client_mode: bool = False) -> pathlib.Path:
    """config/node-demo.yaml made private to a test: its vhost-user sockets and its conntrack
    state file in `tmp`, its own EAL file prefix, the given `policy:` section (YAML lines
    under it, indented by two), and with `client_mode` its ports in vhost-user client mode."""
    text = (root / "config/node-demo.yaml").read_text()
    text = text.replace("/tmp/palisade-demo/", f"{tmp}/")
    text = text.replace("file_prefix: palisade-demo", f"file_prefix: palisade-{name}-{os.getpid()}")
    text = text.replace("conntrack: {", f"conntrack: {{state_file: {tmp}/conntrack, ", 1)
    text = re.sub(r"policy:\n(  .*\n)+", "policy:\n" + policy, text)
    if client_mode:
        text = text.replace(",queues=1\"", ",queues=1,client=1\"")
    node = tmp / "node.yaml"
    node.write_text(text)
    return node


class Checks:
    """A test's assertions, each printed as it is made; the test fails if any did."""

    def __init__(self):
        self.failures: list[str] = []

    def __call__(self, ok, what: str) -> bool:
        print(("ok: " if ok else "FAIL: ") + what, flush=True)
        if not ok:
            self.failures.append(what)
        return bool(ok)

    def result(self) -> int:
        print("ok" if not self.failures else f"{len(self.failures)} failures")
        return 1 if self.failures else 0


def admin_get(port: int, path: str) -> tuple[int, str]:
    """A GET of the daemon's admin API: (status, body), errors included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def gen(palisade_gen: str, node: pathlib.Path, scenario: pathlib.Path) -> str:
    """palisade-gen's report of one pass over a scenario's flows, and its exit status."""
    run = subprocess.run([palisade_gen, "flows", "--config", str(node), "--scenario", str(scenario)],
                         capture_output=True, text=True, timeout=60)
    return run.stdout + f"\nexit {run.returncode}\n"


class FakeApiServer:
    def __init__(self, workdir: pathlib.Path, *args: str, port: int = 0, seed=None):
        self.workdir = workdir
        self.certs = workdir / "certs"
        if not (self.certs / "ca.crt").exists():
            self.certs.mkdir(exist_ok=True)
            subprocess.run(["bash", str(HERE / "make_test_certs.sh"), str(self.certs)],
                           check=True, capture_output=True)
        port_file = workdir / "apiserver.port"
        port_file.unlink(missing_ok=True)
        command = [sys.executable, str(HERE / "fake_apiserver.py"), "--port", str(port),
                   "--port-file", str(port_file), "--quiet",
                   "--tls-cert", str(self.certs / "server.crt"),
                   "--tls-key", str(self.certs / "server.key"), "--token", TOKEN, *args]
        if seed is not None:
            seed_file = workdir / "seed.json"
            seed_file.write_text(json.dumps({"objects": seed}))
            command += ["--seed-file", str(seed_file)]
        self.proc = subprocess.Popen(command)
        self.token = TOKEN  # what the test's own requests send
        deadline = time.time() + 15
        while not port_file.exists():
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the fake API server did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self.ssl = ssl.create_default_context(cafile=str(self.certs / "ca.crt"))

    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def kubeconfig(self, path: pathlib.Path, token_file: pathlib.Path | None = None) -> pathlib.Path:
        ca = base64.b64encode((self.certs / "ca.crt").read_bytes()).decode()
        user = f"tokenFile: {token_file}" if token_file else f"token: {TOKEN}"
        path.write_text(f"""apiVersion: v1
kind: Config
current-context: fake
clusters: [{{name: fake, cluster: {{server: "{self.url()}", certificate-authority-data: {ca}}}}}]
users: [{{name: palisade, user: {{{user}}}}}]
contexts: [{{name: fake, context: {{cluster: fake, user: palisade}}}}]
""")
        return path

    def request(self, method: str, path: str, body=None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url() + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def create(self, collection: str, obj: dict) -> None:
        status, body = self.request("POST", collection, obj)
        if status != 201 and status != 200:
            raise RuntimeError(f"POST {collection}: {status} {body}")

    def replace(self, item: str, obj: dict) -> None:
        status, body = self.request("PUT", item, obj)
        if status != 200:
            raise RuntimeError(f"PUT {item}: {status} {body}")

    def delete(self, item: str) -> None:
        status, body = self.request("DELETE", item)
        if status != 200:
            raise RuntimeError(f"DELETE {item}: {status} {body}")

    def fault(self, **fault) -> None:
        status, body = self.request("POST", "/fake/faults", fault)
        if status != 200:
            raise RuntimeError(f"fault {fault}: {status} {body}")

    def stats(self) -> dict:
        return self.request("GET", "/fake/stats")[1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Follower:
    """A process whose stdout+stderr lines are collected as they come."""

    def __init__(self, command: list[str], log: pathlib.Path):
        self.log = log
        self.lines: list[str] = []
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with open(self.log, "w") as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()
                with self.lock:
                    self.lines.append(line.rstrip("\n"))

    def mark(self) -> int:
        with self.lock:
            return len(self.lines)

    def wait_for(self, pattern: str, seconds: float, since: int = 0) -> str | None:
        deadline = time.time() + seconds
        regex = re.compile(pattern)
        while time.time() < deadline:
            with self.lock:
                for line in self.lines[since:]:
                    if regex.search(line):
                        return line
            if self.proc.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.05)
        return None

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        return self.proc.returncode


# kind -> (API path prefix, resource, namespaced), for writing objects to a real API server.
RESOURCES = {
    ("v1", "Namespace"): ("/api/v1", "namespaces", False),
    ("v1", "Node"): ("/api/v1", "nodes", False),
    ("v1", "Pod"): ("/api/v1", "pods", True),
    ("v1", "ServiceAccount"): ("/api/v1", "serviceaccounts", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    ("crd.projectcalico.org/v1", "GlobalNetworkPolicy"):
        ("/apis/crd.projectcalico.org/v1", "globalnetworkpolicies", False),
    ("crd.projectcalico.org/v1", "NetworkPolicy"):
        ("/apis/crd.projectcalico.org/v1", "networkpolicies", True),
    ("crd.projectcalico.org/v1", "Tier"): ("/apis/crd.projectcalico.org/v1", "tiers", False),
    ("cilium.io/v2", "CiliumNetworkPolicy"): ("/apis/cilium.io/v2", "ciliumnetworkpolicies", True),
}


def collection_of(obj: dict) -> str:
    prefix, resource, namespaced = RESOURCES[(obj["apiVersion"], obj["kind"])]
    if namespaced:
        return f"{prefix}/namespaces/{obj['metadata'].get('namespace', 'default')}/{resource}"
    return f"{prefix}/{resource}"


class RealApiServer(FakeApiServer):
    """kube-apiserver v1.20.2 and etcd from Debian (scripts/kube-apiserver.sh), with the same
    interface as the fake one (no faults). There is no kubelet or controller manager, so a
    test writes what those would: each namespace's default service account, and each pod's
    status (its IPs) through the status subresource."""

    def __init__(self, workdir: pathlib.Path, script: pathlib.Path):
        self.workdir = workdir
        self.dir = workdir / "apiserver"
        self.script = script
        start = subprocess.run(["bash", str(script), "start", str(self.dir)], capture_output=True,
                               text=True, timeout=300)
        if start.returncode != 0:
            raise RuntimeError("kube-apiserver did not start:\n" + start.stdout + start.stderr)
        self.token = (self.dir / "token").read_text().strip()
        self.server_url = (self.dir / "url").read_text().strip()
        self.port = int(self.server_url.rsplit(":", 1)[1].rstrip("/"))
        self.ssl = ssl.create_default_context(cafile=str(self.dir / "ca.crt"))
        self.namespaces_with_accounts: set[str] = set()

    def url(self) -> str:
        return self.server_url

    def kubeconfig(self, path: pathlib.Path, token_file: pathlib.Path | None = None) -> pathlib.Path:
        return self.dir / "kubeconfig"

    def create(self, collection: str, obj: dict) -> None:
        obj = json.loads(json.dumps(obj))
        if obj["kind"] == "Pod":
            ns = obj["metadata"].get("namespace", "default")
            if ns not in self.namespaces_with_accounts:
                status, _ = self.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts",
                                         {"apiVersion": "v1", "kind": "ServiceAccount",
                                          "metadata": {"name": "default", "namespace": ns}})
                self.namespaces_with_accounts.add(ns)
            # No token controller runs, so nothing could be mounted.
            obj["spec"]["automountServiceAccountToken"] = False
        # A create ignores status: pods' IPs and nodes' addresses go through /status.
        status = obj.pop("status", None) if obj["kind"] in ("Pod", "Node") else None
        super().create(collection, obj)
        if status:
            path = f"{collection}/{obj['metadata']['name']}"
            _, current = self.request("GET", path)
            current["status"] = status
            self.replace(path + "/status", current)

    def replace(self, item: str, obj: dict) -> None:
        # An update of a custom resource must name the version it replaces.
        obj = json.loads(json.dumps(obj))
        if "resourceVersion" not in obj["metadata"]:
            _, current = self.request("GET", item.removesuffix("/status"))
            obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        super().replace(item, obj)

    def seed(self, objects: list[dict]) -> None:
        for obj in objects:
            collection = collection_of(obj)
            if obj["kind"] == "Namespace" and self.request(
                    "GET", f"{collection}/{obj['metadata']['name']}")[0] == 200:
                self.replace(f"{collection}/{obj['metadata']['name']}", obj)  # kube-system
                continue
            self.create(collection, obj)

    def fault(self, **fault) -> None:
        raise RuntimeError("a real API server takes no faults")

    def stop(self) -> None:
        subprocess.run(["bash", str(self.script), "stop", str(self.dir)], capture_output=True,
                       timeout=60)
