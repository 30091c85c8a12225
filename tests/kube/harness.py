"""What the Kubernetes tests share: a fake API server (fake_apiserver.py) over HTTPS with a
token, driven like a real one (writes, faults), a kubeconfig that points at it, and a process
whose output is followed line by line."""
import base64
import json
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
