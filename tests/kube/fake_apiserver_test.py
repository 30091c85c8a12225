#!/usr/bin/env python3
"""The fake Kubernetes API server held to the protocol a client relies on: discovery, writes,
paginated lists that answer one snapshot, watch streams read chunk by chunk (replay, live
events, bookmarks, 410 after compaction), bearer tokens and client certificates over
verified TLS, and every fault of /fake/faults doing what it says.

Two servers run for the whole test: one over plain HTTP (pages of 3, bookmarks every 0.2 s,
cilium.io not installed) and one over HTTPS (a token, client certificates, a seed file, and a
too-old watch answered with HTTP 410). Usage: fake_apiserver_test.py"""
import http.client
import json
import os
import pathlib
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = pathlib.Path(__file__).resolve().parent
TOKEN = "s3cret-token"
DEFAULT = object()  # "the server's own token" for the request helpers

SEED = {"objects": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "seeded"}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
     "metadata": {"name": "deny-all", "namespace": "seeded"}, "spec": {"podSelector": {}}},
    {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
     "metadata": {"name": "default-deny"}, "spec": {"selector": "all()"}},
    {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
     "metadata": {"name": "l3", "namespace": "seeded"}, "spec": {"endpointSelector": {}}},
]}


class Response:
    def __init__(self, status, headers, data):
        self.status, self.headers, self.data = status, headers, data

    def json(self):
        return json.loads(self.data)


class FakeServer:
    def __init__(self, workdir, name, *args, certs=None, token=None):
        port_file = workdir / f"{name}.port"
        command = [sys.executable, str(HERE / "fake_apiserver.py"), "--port", "0",
                   "--port-file", str(port_file), "--quiet", *args]
        if certs:
            command += ["--tls-cert", str(certs / "server.crt"),
                        "--tls-key", str(certs / "server.key")]
        if token:
            command += ["--token", token]
        self.proc = subprocess.Popen(command)
        SERVERS.append(self)
        self.token = token
        self.context = None
        if certs:
            self.context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        deadline = time.time() + 10
        while not port_file.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{name} server did not start: {self.proc.returncode}")
            time.sleep(0.02)
        self.port = int(port_file.read_text())

    def connection(self, context=None):
        if self.context:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=5,
                                               context=context or self.context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)

    def request(self, method, path, body=None, token=DEFAULT, conn=None, context=None):
        token = self.token if token is DEFAULT else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        own = conn is None
        conn = conn or self.connection(context)
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            if own:
                conn.close()

    def call(self, method, path, body=None, expect=200):
        r = self.request(method, path, body)
        if r.status != expect:
            raise AssertionError(f"{method} {path}: {r.status} {r.data[:300]!r}")
        return r.json()

    def fault(self, **fault):
        return self.call("POST", "/fake/faults", fault)

    def stats(self):
        return self.call("GET", "/fake/stats")

    def rv(self):
        return int(self.stats()["resourceVersion"])

    def create_pod(self, namespace, name, labels=None):
        pod = {"metadata": {"name": name, "labels": labels or {}}}
        return self.call("POST", f"/api/v1/namespaces/{namespace}/pods", pod, expect=201)

    def watch(self, path, token=DEFAULT):
        return WatchStream(self, path, self.token if token is DEFAULT else token)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=5)


class WatchStream:
    """A connection read off the socket by hand, so the chunks are seen as they were sent."""

    def __init__(self, server, path, token):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        if server.context:
            sock = server.context.wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock, self.buf = sock, b""
        self.send(path, token)

    def send(self, path, token=None):
        """A request on this connection (again, once a stream has ended)."""
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line, *header_lines = self._until(b"\r\n\r\n").decode().split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {}
        for line in header_lines:
            name, value = line.split(":", 1)
            self.headers[name.strip().lower()] = value.strip()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the connection closed")
        self.buf += data

    def _until(self, separator):
        while separator not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(separator, 1)
        return head

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def body(self):
        return json.loads(self._take(int(self.headers["content-length"])))

    def chunk(self):
        """The next chunk's data; b"" for the terminating chunk. EOFError when the connection
        ends without one."""
        size = int(self._until(b"\r\n").split(b";")[0], 16)
        data = self._take(size)
        if self._take(2) != b"\r\n":
            raise AssertionError("a chunk does not end with CRLF")
        return data

    def event(self, skip_bookmarks=False):
        while True:
            data = self.chunk()
            if not data:
                raise AssertionError("the stream ended where an event was expected")
            if not data.endswith(b"\n") or data.count(b"\n") != 1:
                raise AssertionError(f"a chunk is not one JSON line: {data[:200]!r}")
            event = json.loads(data)
            if not (skip_bookmarks and event["type"] == "BOOKMARK"):
                return event

    def idle_for(self, seconds):
        """True when nothing at all arrives for that long."""
        if self.buf:
            return False
        return not select.select([self.sock], [], [], seconds)[0]

    def close(self):
        self.sock.close()


def wait_until(predicate, seconds=3.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def names(items):
    return [item["metadata"]["name"] for item in items]


PLAIN = TLS = None
WORKDIR = None
SERVERS = []


def kill_servers_and_exit(*_):
    # A test killed on its timeout must not leave its servers behind.
    for server in SERVERS:
        server.proc.kill()
    os._exit(1)


def setUpModule():
    global PLAIN, TLS, WORKDIR
    signal.signal(signal.SIGTERM, kill_servers_and_exit)
    WORKDIR = pathlib.Path(tempfile.mkdtemp(prefix="fake-apiserver-"))
    subprocess.run(["sh", str(HERE / "make_test_certs.sh"), str(WORKDIR / "certs")],
                   check=True)
    (WORKDIR / "seed.json").write_text(json.dumps(SEED))
    PLAIN = FakeServer(WORKDIR, "plain", "--page-limit-max", "3", "--bookmark-interval", "0.2",
                       "--without-group", "cilium.io")
    TLS = FakeServer(WORKDIR, "tls", "--client-ca", str(WORKDIR / "certs" / "ca.crt"),
                     "--seed-file", str(WORKDIR / "seed.json"), "--watch-410-as-http",
                     certs=WORKDIR / "certs", token=TOKEN)


def tearDownModule():
    for server in (PLAIN, TLS):
        if server and server.proc.poll() is None:
            server.stop()
    shutil.rmtree(WORKDIR, ignore_errors=True)


class DiscoveryTest(unittest.TestCase):
    def test_core_and_groups(self):
        self.assertEqual(PLAIN.call("GET", "/api")["versions"], ["v1"])
        groups = {g["name"]: g for g in PLAIN.call("GET", "/apis")["groups"]}
        self.assertEqual(sorted(groups), ["crd.projectcalico.org", "networking.k8s.io"])
        self.assertEqual(groups["crd.projectcalico.org"]["preferredVersion"]["groupVersion"],
                         "crd.projectcalico.org/v1")
        core = {r["name"]: r for r in PLAIN.call("GET", "/api/v1")["resources"]}
        self.assertEqual(core["pods"]["kind"], "Pod")
        self.assertTrue(core["pods"]["namespaced"])
        self.assertFalse(core["namespaces"]["namespaced"])
        self.assertIn("watch", core["pods"]["verbs"])
        calico = PLAIN.call("GET", "/apis/crd.projectcalico.org/v1")
        self.assertEqual(calico["kind"], "APIResourceList")
        kinds = {r["name"]: (r["kind"], r["namespaced"]) for r in calico["resources"]}
        self.assertEqual(kinds["globalnetworkpolicies"], ("GlobalNetworkPolicy", False))
        self.assertEqual(kinds["stagedkubernetesnetworkpolicies"],
                         ("StagedKubernetesNetworkPolicy", True))
        self.assertEqual(len(kinds), 9)
        self.assertEqual(PLAIN.call("GET", "/version")["gitVersion"], "v1.20.2-fake")
        self.assertEqual(PLAIN.request("GET", "/healthz").data, b"ok")

    def test_unknown_paths_are_404_status(self):
        for path in ("/api/v2", "/apis/networking.k8s.io/v1/widgets", "/nope",
                     "/api/v1/namespaces/x/namespaces", "/api/v1/pods/name-without-namespace"):
            r = PLAIN.request("GET", path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json()["reason"], "NotFound", path)

    def test_keep_alive(self):
        conn = PLAIN.connection()
        first = PLAIN.request("GET", "/api/v1/pods", conn=conn)
        sock = conn.sock
        second = PLAIN.request("GET", "/api", conn=conn)
        self.assertEqual((first.status, second.status), (200, 200))
        self.assertIsNotNone(sock)
        self.assertIs(conn.sock, sock, "the second request needed a new connection")
        conn.close()


class WriteTest(unittest.TestCase):
    def test_create_get_replace_delete(self):
        base = "/api/v1/namespaces/writes/pods"
        pod = PLAIN.create_pod("writes", "p")
        self.assertEqual((pod["kind"], pod["apiVersion"]), ("Pod", "v1"))
        self.assertEqual(pod["metadata"]["namespace"], "writes")
        for field in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertTrue(pod["metadata"].get(field), field)
        again = PLAIN.request("POST", base, {"metadata": {"name": "p"}})
        self.assertEqual(again.status, 409)
        self.assertEqual(again.json()["reason"], "AlreadyExists")
        self.assertEqual(PLAIN.call("GET", f"{base}/p"), pod)

        changed = dict(pod, spec={"nodeName": "n1"})
        replaced = PLAIN.call("PUT", f"{base}/p", changed)
        self.assertEqual(replaced["metadata"]["uid"], pod["metadata"]["uid"])
        self.assertGreater(int(replaced["metadata"]["resourceVersion"]),
                           int(pod["metadata"]["resourceVersion"]))
        self.assertEqual(replaced["spec"], {"nodeName": "n1"})
        stale = PLAIN.request("PUT", f"{base}/p", changed)  # still the first resourceVersion
        self.assertEqual((stale.status, stale.json()["reason"]), (409, "Conflict"))
        absent = PLAIN.request("PUT", f"{base}/q", {"metadata": {"name": "q"}})
        self.assertEqual(absent.status, 404)

        deleted = PLAIN.call("DELETE", f"{base}/p")
        self.assertEqual(deleted["metadata"]["name"], "p")
        self.assertEqual(PLAIN.request("GET", f"{base}/p").status, 404)
        self.assertEqual(PLAIN.request("DELETE", f"{base}/p").status, 404)

    def test_cluster_scoped_and_crd_objects_keep_their_kind(self):
        gnp = {"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
               "metadata": {"name": "allow-dns"}, "spec": {"order": 10}}
        made = PLAIN.call("POST", "/apis/crd.projectcalico.org/v1/globalnetworkpolicies", gnp,
                          expect=201)
        self.assertNotIn("namespace", made["metadata"])
        self.assertEqual(made["spec"], {"order": 10})
        ns = PLAIN.call("POST", "/api/v1/namespaces", {"metadata": {"name": "cs"}}, expect=201)
        self.assertEqual(ns["kind"], "Namespace")
        mismatch = PLAIN.request("POST", "/api/v1/namespaces/a/pods",
                                 {"metadata": {"name": "x", "namespace": "b"}})
        self.assertEqual(mismatch.status, 400)

    def test_bulk_objects(self):
        objects = [{"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "sa", "namespace": "bulk"}},
                   {"apiVersion": "crd.projectcalico.org/v1", "kind": "Tier",
                    "metadata": {"name": "security"}, "spec": {"order": 100}}]
        self.assertEqual(PLAIN.call("POST", "/fake/objects", {"objects": objects})["created"], 2)
        objects[1]["spec"]["order"] = 200
        result = PLAIN.call("POST", "/fake/objects", {"objects": objects})
        self.assertEqual((result["created"], result["replaced"]), (0, 2))
        tier = PLAIN.call("GET", "/apis/crd.projectcalico.org/v1/tiers/security")
        self.assertEqual(tier["spec"]["order"], 200)
        unknown = PLAIN.request("POST", "/fake/objects",
                                {"objects": [{"apiVersion": "v9", "kind": "Thing"}]})
        self.assertEqual(unknown.status, 400)


class ListTest(unittest.TestCase):
    def test_pages_answer_one_snapshot(self):
        expected = [f"p{i}" for i in range(7)]
        for name in expected:
            PLAIN.create_pod("paging", name)
        path = "/api/v1/namespaces/paging/pods?limit=100"  # capped at 3 by --page-limit-max
        first = PLAIN.call("GET", path)
        self.assertEqual((first["kind"], first["apiVersion"]), ("PodList", "v1"))
        self.assertEqual(len(first["items"]), 3)
        self.assertEqual(first["metadata"]["remainingItemCount"], 4)
        snapshot_rv = first["metadata"]["resourceVersion"]
        PLAIN.create_pod("paging", "late")  # after the first page: not in this list
        pages, token = [first], first["metadata"]["continue"]
        while token:
            page = PLAIN.call("GET", f"{path}&continue={token}")
            self.assertEqual(page["metadata"]["resourceVersion"], snapshot_rv)
            pages.append(page)
            token = page["metadata"].get("continue")
        self.assertEqual([len(p["items"]) for p in pages], [3, 3, 1])
        items = [item for p in pages for item in p["items"]]
        self.assertEqual(names(items), expected)
        for item in items:
            self.assertNotIn("kind", item)
            self.assertNotIn("apiVersion", item)
        fresh = PLAIN.call("GET", "/api/v1/namespaces/paging/pods?limit=10&continue=")
        self.assertIn("late", names(fresh["items"]))
        self.assertGreater(int(fresh["metadata"]["resourceVersion"]), int(snapshot_rv))

    def test_cluster_wide_list_spans_namespaces(self):
        PLAIN.create_pod("wide-a", "x")
        PLAIN.create_pod("wide-b", "y")
        items, token = [], ""
        while True:
            page = PLAIN.call("GET", f"/api/v1/pods?limit=2&continue={token}")
            self.assertLessEqual(len(page["items"]), 2)
            items += page["items"]
            token = page["metadata"].get("continue")
            if not token:
                break
        keys = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items}
        self.assertTrue({("wide-a", "x"), ("wide-b", "y")} <= keys)

    def test_bad_and_expired_continue(self):
        garbage = PLAIN.request("GET", "/api/v1/pods?limit=1&continue=not-a-token!")
        self.assertEqual(garbage.status, 400)
        self.assertEqual(garbage.json()["reason"], "BadRequest")
        for name in ("a", "b"):
            PLAIN.create_pod("expiring", name)
        token = PLAIN.call("GET", "/api/v1/namespaces/expiring/pods?limit=1")["metadata"][
            "continue"]
        other = PLAIN.request("GET", f"/api/v1/namespaces/other/pods?limit=1&continue={token}")
        self.assertEqual(other.status, 400)
        PLAIN.fault(compact=True)
        expired = PLAIN.request("GET", f"/api/v1/namespaces/expiring/pods?continue={token}")
        self.assertEqual(expired.status, 410)
        self.assertEqual((expired.json()["reason"], expired.json()["code"]), ("Expired", 410))


class WatchTest(unittest.TestCase):
    def test_replay_then_live_events(self):
        start = PLAIN.rv()
        PLAIN.create_pod("w1", "a")
        PLAIN.create_pod("w1-other", "elsewhere")
        PLAIN.create_pod("w1", "b")
        w = PLAIN.watch(f"/api/v1/namespaces/w1/pods?watch=1&resourceVersion={start}"
                        "&timeoutSeconds=2")
        self.assertEqual(w.status, 200)
        self.assertEqual(w.headers["transfer-encoding"], "chunked")
        self.assertEqual(w.headers["content-type"], "application/json")
        replay = [w.event(), w.event()]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in replay],
                         [("ADDED", "a"), ("ADDED", "b")])
        self.assertEqual((replay[0]["object"]["kind"], replay[0]["object"]["apiVersion"]),
                         ("Pod", "v1"))
        live = PLAIN.create_pod("w1", "c")
        added = w.event()
        self.assertEqual((added["type"], added["object"]), ("ADDED", live))
        PLAIN.call("PUT", "/api/v1/namespaces/w1/pods/c", dict(live, spec={"x": 1}))
        modified = w.event()
        self.assertEqual((modified["type"], modified["object"]["spec"]), ("MODIFIED", {"x": 1}))
        PLAIN.call("DELETE", "/api/v1/namespaces/w1/pods/c")
        deleted = w.event()
        self.assertEqual(deleted["type"], "DELETED")
        self.assertGreater(int(deleted["object"]["metadata"]["resourceVersion"]),
                           int(modified["object"]["metadata"]["resourceVersion"]))
        # timeoutSeconds ends the stream cleanly, with the terminating chunk, and the
        # connection serves the next request.
        self.assertEqual(w.chunk(), b"")
        w.send("/api/v1/namespaces/w1/pods")
        self.assertEqual((w.status, names(w.body()["items"])), (200, ["a", "b"]))
        w.close()

    def test_watch_from_now_and_watch_true(self):
        PLAIN.create_pod("w2", "before")
        w = PLAIN.watch("/api/v1/namespaces/w2/pods?watch=true&resourceVersion=0")
        self.assertTrue(w.idle_for(0.3))
        PLAIN.create_pod("w2", "after")
        self.assertEqual(w.event()["object"]["metadata"]["name"], "after")
        w.close()

    def test_cluster_scoped_watch(self):
        start = PLAIN.rv()
        PLAIN.call("POST", "/apis/crd.projectcalico.org/v1/globalnetworksets",
                   {"metadata": {"name": "gns"}}, expect=201)
        w = PLAIN.watch("/apis/crd.projectcalico.org/v1/globalnetworksets?watch=1"
                        f"&resourceVersion={start}")
        event = w.event()
        self.assertEqual((event["object"]["kind"], event["object"]["apiVersion"]),
                         ("GlobalNetworkSet", "crd.projectcalico.org/v1"))
        w.close()

    def test_bookmarks_only_when_asked(self):
        rv = str(PLAIN.rv())
        w = PLAIN.watch(f"/api/v1/namespaces/w3/pods?watch=1&resourceVersion={rv}"
                        "&allowWatchBookmarks=true")
        started = time.time()
        bookmark = w.event()
        self.assertLess(time.time() - started, 1.0)
        self.assertEqual(bookmark, {"type": "BOOKMARK", "object": {
            "kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}})
        w.close()
        quiet = PLAIN.watch(f"/api/v1/namespaces/w3/pods?watch=1&resourceVersion={rv}")
        self.assertTrue(quiet.idle_for(0.6), "a bookmark came unasked")
        quiet.close()

    def test_too_old_watch_gets_error_event(self):
        old = PLAIN.rv()
        PLAIN.fault(compact=True)
        w = PLAIN.watch(f"/api/v1/pods?watch=1&resourceVersion={old}")
        self.assertEqual(w.status, 200)
        error = w.event()
        self.assertEqual(error["type"], "ERROR")
        self.assertEqual({k: error["object"][k] for k in ("kind", "code", "reason")},
                         {"kind": "Status", "code": 410, "reason": "Expired"})
        self.assertEqual(w.chunk(), b"")
        w.close()
        current = PLAIN.rv()
        ok = PLAIN.watch(f"/api/v1/namespaces/w4/pods?watch=1&resourceVersion={current}")
        self.assertTrue(ok.idle_for(0.3))
        PLAIN.create_pod("w4", "fine")
        self.assertEqual(ok.event()["type"], "ADDED")
        ok.close()

    def test_too_old_watch_as_http_410(self):
        # At run time on the plain server, and from the command line on the TLS one.
        PLAIN.fault(watch_410_as_http=True)
        try:
            old = PLAIN.rv()
            PLAIN.fault(compact=True)
            r = PLAIN.request("GET", f"/api/v1/pods?watch=1&resourceVersion={old}")
            self.assertEqual((r.status, r.json()["reason"]), (410, "Expired"))
        finally:
            PLAIN.call("POST", "/fake/reset_faults")
        old = TLS.rv()
        TLS.fault(compact=True)
        r = TLS.request("GET", f"/api/v1/pods?watch=1&resourceVersion={old}")
        self.assertEqual((r.status, r.json()["code"]), (410, 410))


class FaultTest(unittest.TestCase):
    def tearDown(self):
        PLAIN.call("POST", "/fake/reset_faults")

    def test_status_for_count_requests(self):
        path = "/api/v1/namespaces/f500/pods"
        PLAIN.fault(status=500, count=2, path_prefix=path)
        self.assertEqual(PLAIN.request("GET", "/api/v1/namespaces/other/pods").status, 200)
        for _ in range(2):
            r = PLAIN.request("GET", path)
            self.assertEqual(r.status, 500)
            self.assertEqual((r.json()["kind"], r.json()["reason"]), ("Status", "InternalError"))
        self.assertEqual(PLAIN.request("GET", path).status, 200)

    def test_throttled_with_retry_after(self):
        PLAIN.fault(status=429, retry_after=3, path_prefix="/api/v1/namespaces/f429")
        r = PLAIN.request("GET", "/api/v1/namespaces/f429/pods")
        self.assertEqual((r.status, r.headers.get("retry-after")), (429, "3"))
        self.assertEqual(r.json()["reason"], "TooManyRequests")

    def test_fault_for_watches_only(self):
        path = "/api/v1/namespaces/f503/pods"
        PLAIN.fault(status=503, watch=True, path_prefix=path)
        self.assertEqual(PLAIN.request("GET", path).status, 200)
        self.assertEqual(PLAIN.request("GET", path + "?watch=1&timeoutSeconds=1").status, 503)

    def test_garbage_list(self):
        PLAIN.fault(garbage=True, path_prefix="/api/v1/namespaces/junk")
        r = PLAIN.request("GET", "/api/v1/namespaces/junk/pods")
        self.assertEqual(r.status, 200)
        with self.assertRaises(ValueError):
            r.json()
        self.assertEqual(PLAIN.request("GET", "/api/v1/namespaces/junk/pods").json()["kind"],
                         "PodList")

    def watch_with_garbage(self, namespace, mode):
        start = PLAIN.rv()
        PLAIN.create_pod(namespace, "p")
        PLAIN.fault(garbage=True, garbage_mode=mode, path_prefix=f"/api/v1/namespaces/{namespace}")
        w = PLAIN.watch(f"/api/v1/namespaces/{namespace}/pods?watch=1&resourceVersion={start}")
        self.assertEqual(w.event()["object"]["metadata"]["name"], "p")
        with self.assertRaises(ValueError):
            w.event()
        return w

    def test_garbage_line_in_watch(self):
        w = self.watch_with_garbage("junk-line", "line")
        PLAIN.create_pod("junk-line", "q")
        self.assertEqual(w.event()["object"]["metadata"]["name"], "q")
        w.close()

    def test_garbage_then_close_in_watch(self):
        w = self.watch_with_garbage("junk-close", "close")
        self.assertEqual(w.chunk(), b"")
        w.close()

    def test_drop_watches(self):
        path = "/api/v1/namespaces/dropped/pods"
        streams = [PLAIN.watch(f"{path}?watch=1"), PLAIN.watch(f"{path}?watch=1")]
        self.assertTrue(wait_until(
            lambda: PLAIN.stats()["active_watches"].get(path) == 2))
        self.assertEqual(PLAIN.stats()["watches_opened"][path], 2)
        PLAIN.fault(drop_watches=True)
        for w in streams:
            with self.assertRaises(EOFError):  # no terminating chunk
                w.chunk()
            w.close()
        self.assertTrue(wait_until(lambda: path not in PLAIN.stats()["active_watches"]))

    def test_slow(self):
        PLAIN.fault(slow_ms=500, path_prefix="/api/v1/namespaces/slow")
        started = time.time()
        self.assertEqual(PLAIN.request("GET", "/api/v1/namespaces/slow/pods").status, 200)
        self.assertGreaterEqual(time.time() - started, 0.5)
        started = time.time()
        PLAIN.request("GET", "/api/v1/namespaces/slow/pods")
        self.assertLess(time.time() - started, 0.4)

    def test_stalled_watch_sends_nothing_until_cleared(self):
        w = PLAIN.watch("/api/v1/namespaces/stall/pods?watch=1&allowWatchBookmarks=1")
        self.assertEqual(w.event()["type"], "BOOKMARK")
        PLAIN.fault(stall_watch=True)
        deadline = time.time() + 1
        while not w.idle_for(0.3):  # what was on its way before the stall
            self.assertLess(time.time(), deadline, "a stalled watch keeps sending")
            w.chunk()
        PLAIN.create_pod("stall", "held")
        self.assertTrue(w.idle_for(0.8), "a stalled watch sent something")
        PLAIN.fault(stall_watch=False)
        event = w.event(skip_bookmarks=True)
        self.assertEqual((event["type"], event["object"]["metadata"]["name"]), ("ADDED", "held"))
        w.close()

    def test_group_uninstalled_then_installed(self):
        path = "/apis/cilium.io/v2/ciliumnetworkpolicies"
        r = PLAIN.request("GET", path)
        self.assertEqual((r.status, r.json()["reason"]), (404, "NotFound"))
        self.assertEqual(PLAIN.request("GET", "/apis/cilium.io/v2").status, 404)
        PLAIN.fault(install_group="cilium.io")
        try:
            self.assertEqual(PLAIN.call("GET", path)["kind"], "CiliumNetworkPolicyList")
            groups = [g["name"] for g in PLAIN.call("GET", "/apis")["groups"]]
            self.assertIn("cilium.io", groups)
            kinds = [r["kind"] for r in PLAIN.call("GET", "/apis/cilium.io/v2")["resources"]]
            self.assertEqual(sorted(kinds),
                             ["CiliumClusterwideNetworkPolicy", "CiliumNetworkPolicy"])
        finally:
            PLAIN.fault(uninstall_group="cilium.io")
        self.assertEqual(PLAIN.request("GET", path).status, 404)

    def test_bad_faults_are_refused(self):
        for fault in ({"bogus": 1}, {"status": 500, "count": 0},
                      {"garbage": True, "garbage_mode": "sideways"},
                      {"install_group": "example.com"}, {"status": "500"},
                      {"tokens": "not-a-list"}, {"slow_ms": 1, "path_prefix": 7}):
            self.assertEqual(PLAIN.request("POST", "/fake/faults", fault).status, 400, fault)

    def test_stats_count_requests(self):
        path = "/api/v1/namespaces/counted/pods"
        before = PLAIN.stats()
        PLAIN.request("GET", path)
        PLAIN.request("GET", path)
        after = PLAIN.stats()
        self.assertEqual(after["requests"].get(path, 0) - before["requests"].get(path, 0), 2)
        self.assertEqual(after["lists"][path] - before["lists"].get(path, 0), 2)
        self.assertEqual(after["last_request"]["path"], path)


class TlsTest(unittest.TestCase):
    def test_certificate_verifies_against_the_test_ca(self):
        self.assertEqual(TLS.request("GET", "/healthz").status, 200)
        with self.assertRaises(ssl.SSLCertVerificationError):
            TLS.request("GET", "/healthz", context=ssl.create_default_context())

    def test_token_required(self):
        for token in (None, "wrong"):
            r = TLS.request("GET", "/api/v1/pods", token=token)
            self.assertEqual(r.status, 401, token)
            self.assertEqual(r.json(), {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                        "status": "Failure", "message": "Unauthorized",
                                        "reason": "Unauthorized", "code": 401})
        last = TLS.stats()["last_request"]
        self.assertEqual((last["authorization"], last["bearer"]), (True, "wrong"))
        self.assertEqual(TLS.request("GET", "/healthz", token=None).status, 200)
        self.assertEqual(TLS.request("GET", "/api/v1/pods").status, 200)
        self.assertEqual(TLS.stats()["last_request"]["bearer"], TOKEN)

    def test_rotated_token(self):
        TLS.fault(tokens=["rotated"])
        try:
            self.assertEqual(TLS.request("GET", "/api").status, 401)
            self.assertEqual(TLS.request("GET", "/api", token="rotated").status, 200)
            self.assertEqual(TLS.stats()["last_request"]["bearer"], "rotated")
        finally:
            TLS.fault(tokens=[TOKEN])

    def test_client_certificate_authenticates(self):
        certs = WORKDIR / "certs"
        context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        context.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
        self.assertEqual(TLS.request("GET", "/api/v1/pods", token=None,
                                     context=context).status, 200)
        self.assertEqual(TLS.stats()["last_request"]["client_cert_cn"], "palisade-test-client")

    def test_seeded_objects(self):
        cnp = TLS.call("GET", "/apis/cilium.io/v2/namespaces/seeded/ciliumnetworkpolicies")
        self.assertEqual(names(cnp["items"]), ["l3"])
        gnp = TLS.call("GET", "/apis/crd.projectcalico.org/v1/globalnetworkpolicies")
        self.assertEqual(names(gnp["items"]), ["default-deny"])
        self.assertIn("seeded", names(TLS.call("GET", "/api/v1/namespaces")["items"]))

    def test_watch_over_tls_and_drop(self):
        w = TLS.watch("/apis/networking.k8s.io/v1/networkpolicies?watch=1&resourceVersion=1000")
        event = w.event()
        self.assertEqual((event["type"], event["object"]["metadata"]["name"]),
                         ("ADDED", "deny-all"))
        self.assertTrue(wait_until(lambda: TLS.stats()["totals"]["active_watches"] == 1))
        TLS.fault(drop_watches=True)
        with self.assertRaises(EOFError):
            w.chunk()
        w.close()
        unauthorized = TLS.watch("/api/v1/pods?watch=1", token=None)
        self.assertEqual((unauthorized.status, unauthorized.body()["code"]), (401, 401))
        unauthorized.close()


class LifecycleTest(unittest.TestCase):
    def test_port_file_and_sigterm(self):
        server = FakeServer(WORKDIR, "lifecycle")
        self.assertEqual(server.request("GET", "/healthz").data, b"ok")
        w = server.watch("/api/v1/pods?watch=1")  # an open watch must not hold up the exit
        self.assertEqual(w.status, 200)
        started = time.time()
        self.assertEqual(server.stop(), 0)
        self.assertLess(time.time() - started, 3)
        w.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
