#!/usr/bin/env python3
"""Palisade's Kubernetes client against a protocol peer: `palisadectl policies --watch` (the
daemon's KubeSource, list/watch of every kind) reads a fake API server over HTTPS with a
token file, while the server is driven like a real one and made to fail in each way a real
one does:

 1. paginated lists (pages of 2), an invalid object rejected alone with its name and field,
    a CRD group that is not installed reported once;
 2. watch events: added and deleted objects show up;
 3. a dropped watch is resumed from its resourceVersion (no new list);
 4. a compacted resourceVersion (410 in the watch stream) makes a fresh list;
 5. 500s on the watch back off and recover; a garbage line in a stream ends that watch;
 6. a stalled watch is dropped after the read timeout and resumed;
 7. a CRD group installed later is found and listed;
 8. a rotated token is read from the token file again;
 9. an invalid modification keeps the last good version.
Usage: kube_client_test.py PALISADECTL"""
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from harness import TOKEN, FakeApiServer, Follower  # noqa: E402


def netpol(name: str, port: int = 80) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "prod"},
            "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": port}]}]}}


def pod(name: str, ip: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "prod", "labels": {"app": name}},
            "spec": {"nodeName": "node-a"}, "status": {"podIP": ip}}


SEED = ([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}}] +
        [pod(f"p{i}", f"10.0.0.{i + 1}") for i in range(5)] +
        [netpol("db", 5432)] +
        [dict(netpol("bad"), spec={"podSelector": {}, "ingress": [{"ports": [{"port": 80, "protcol": "TCP"}]}]})])

NP = "/apis/networking.k8s.io/v1/networkpolicies"
NP_NS = "/apis/networking.k8s.io/v1/namespaces/prod/networkpolicies"


def main() -> int:
    palisadectl = sys.argv[1]
    failures: list[str] = []

    def check(ok, what: str) -> bool:
        if not ok:
            failures.append(what)
            print("FAIL:", what, flush=True)
        else:
            print("ok:", what, flush=True)
        return bool(ok)

    with tempfile.TemporaryDirectory(prefix="palisade-kube-") as tmp:
        tmp = pathlib.Path(tmp)
        server = FakeApiServer(tmp, "--page-limit-max", "2", "--without-group", "cilium.io",
                               "--bookmark-interval", "0.5", seed=SEED)
        token_file = tmp / "token"
        token_file.write_text(TOKEN + "\n")
        kubeconfig = server.kubeconfig(tmp / "kubeconfig", token_file=token_file)
        client = Follower([palisadectl, "policies", "--kubeconfig", str(kubeconfig), "--watch",
                           "--missing-recheck", "1", "--read-timeout", "3",
                           "--watch-timeout", "60"], tmp / "client.log")
        try:
            # 1. The first complete view.
            check(client.wait_for(r"^\d+ objects in force, 1 rejected \(1 held as isolation\), "
                                  r"1 held back; in sync", 20),
                  "the first view is complete, with one object rejected")
            text = client.text()
            check("Pod prod/p4 (api)" in text and "Pod prod/p0 (api)" in text,
                  "every page of a paginated list was read (5 pods in pages of 2)")
            check(server.stats()["lists"].get("/api/v1/pods", 0) >= 3,
                  "the pods list took several pages")
            check("rejected: api: NetworkPolicy prod/bad: spec.ingress[0].ports[0].protcol" in text,
                  "the invalid object is rejected with its name and field")
            check("NetworkPolicy prod/db (api)" in text, "the valid objects beside it apply")
            check(client.wait_for(r"ciliumnetworkpolicies\.cilium\.io: not served", 5),
                  "a kind whose CRD is not installed is reported")

            # 2. Watch events.
            mark = client.mark()
            server.create(NP_NS, netpol("web"))
            check(client.wait_for(r"^\+ NetworkPolicy prod/web$", 10, mark), "an added object shows up")
            mark = client.mark()
            server.delete("/api/v1/namespaces/prod/pods/p0")
            check(client.wait_for(r"^- Pod prod/p0$", 10, mark), "a deleted object goes away")

            # 3. A dropped watch resumes from its resourceVersion, without a new list.
            lists_before = server.stats()["lists"].get(NP, 0)
            server.fault(drop_watches=True)
            time.sleep(0.5)
            mark = client.mark()
            server.create(NP_NS, netpol("after-drop"))
            check(client.wait_for(r"^\+ NetworkPolicy prod/after-drop$", 10, mark),
                  "an object created after the watches dropped shows up")
            check(server.stats()["lists"].get(NP, 0) == lists_before,
                  "the dropped watch was resumed, not replaced by a new list")

            # 4. A compacted resourceVersion: 410 in the stream, then a fresh list.
            # The stall holds back the bookmarks that would hand the client the compacted
            # resourceVersion itself before its watch drops.
            mark = client.mark()
            server.fault(stall_watch=True)
            server.fault(compact=True)
            server.fault(drop_watches=True)
            time.sleep(0.3)
            server.fault(stall_watch=False)
            check(client.wait_for(r"networkpolicies\.networking\.k8s\.io: watch error 410", 10, mark),
                  "the 410 in the watch stream is seen")
            check(client.wait_for(r"networkpolicies\.networking\.k8s\.io: listed", 10, mark),
                  "a 410 leads to a fresh list")
            mark = client.mark()
            server.create(NP_NS, netpol("after-compact"))
            check(client.wait_for(r"^\+ NetworkPolicy prod/after-compact$", 10, mark),
                  "watching resumes after the relist")

            # 5. Server errors back off and recover; a garbage line ends a watch.
            mark = client.mark()
            server.fault(status=500, count=3, path_prefix="/api/v1/pods", watch=True)
            server.fault(drop_watches=True)
            check(client.wait_for(r"^source: pods: watch failed: HTTP 500.*retrying in", 10, mark),
                  "a 500 on the watch is logged with the backoff")
            server.create("/api/v1/namespaces/prod/pods", pod("late", "10.0.0.99"))
            check(client.wait_for(r"^\+ Pod prod/late$", 40, mark), "the watch recovers after the 500s")
            mark = client.mark()
            server.fault(garbage=1, garbage_mode="line", path_prefix=NP, watch=True)
            server.fault(drop_watches=True)
            check(client.wait_for(r"networkpolicies\.networking\.k8s\.io: watch sent a line that is "
                                  r"not an event", 10, mark), "a garbage line in a watch is reported")
            server.create(NP_NS, netpol("after-garbage"))
            check(client.wait_for(r"^\+ NetworkPolicy prod/after-garbage$", 15, mark),
                  "watching resumes after the garbage")

            # 6. A stalled watch is given up after the read timeout.
            mark = client.mark()
            server.fault(stall_watch=True)
            check(client.wait_for(r"watch failed: .*retrying in", 15, mark),
                  "a silent watch is dropped after the read timeout")
            server.fault(stall_watch=False)
            server.create(NP_NS, netpol("after-stall"))
            check(client.wait_for(r"^\+ NetworkPolicy prod/after-stall$", 40, mark),
                  "watching resumes after the stall")

            # 7. A CRD installed later.
            mark = client.mark()
            server.fault(install_group="cilium.io")
            check(client.wait_for(r"ciliumnetworkpolicies\.cilium\.io: listed 0", 10, mark),
                  "a CRD group installed later is found and listed")
            server.create("/apis/cilium.io/v2/namespaces/prod/ciliumnetworkpolicies",
                          {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                           "metadata": {"name": "l3", "namespace": "prod"},
                           "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}]}})
            check(client.wait_for(r"^\+ CiliumNetworkPolicy prod/l3$", 10, mark),
                  "its objects are watched")

            # 8. Token rotation: the server takes only the new token; the file holds it.
            mark = client.mark()
            token_file.write_text("rotated-token\n")
            server.fault(tokens=["rotated-token"])  # the old token is refused from now on
            server.token = "rotated-token"
            server.fault(drop_watches=True)
            time.sleep(1.5)
            server.create(NP_NS, netpol("after-rotation"))
            check(client.wait_for(r"^\+ NetworkPolicy prod/after-rotation$", 20, mark),
                  "the rotated token is read again from its file")

            # 9. An invalid modification keeps the last good version.
            mark = client.mark()
            bad = netpol("db", 5432)
            bad["spec"]["ingress"][0]["ports"][0]["port"] = 70000
            status, _ = server.request("PUT", NP_NS + "/db", bad)
            check(status == 200, "the invalid modification was accepted by the server")
            check(client.wait_for(r"^rejected: api: NetworkPolicy prod/db: .*last good version kept",
                                  10, mark), "an invalid modification keeps the last good version")
        finally:
            rc = client.stop()
            server.stop()
            check(rc in (0, 1), f"palisadectl stops cleanly on SIGTERM (exit {rc})")
            print("--- palisadectl output")
            print(client.text())
    print("ok" if not failures else f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
