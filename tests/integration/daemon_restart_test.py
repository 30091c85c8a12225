#!/usr/bin/env python3
"""Restarts do not break pods: with its vhost-user ports in client mode (`client=1`), the
daemon connects to sockets its pods serve (palisade-gen's virtio-user ports, `server=1`),
so a daemon that crashes and starts again reconnects to the same pods, which never went
away; and its conntrack table, kept in a file (conntrack.state_file), outlives it, so the
pods' connections do too.

1. palisade-gen (the pods and the uplink's far side) starts first and serves the sockets.
2. The daemon connects; every flow of the three-tier example is as expected (round 1), each
   TCP flow opened with a SYN.
3. The daemon is killed (SIGKILL, as a crash) and started again; it reconnects, says it kept
   the connections, and once its first generation is in force every flow is as expected
   again (round 2), each TCP flow now sent as the next data segment of the connection round
   1 opened: no new handshake, so only a kept connection passes.
4. A policy that quarantines backend is added, and the daemon is killed and started again:
   its first generation judges the kept connections again and cuts frontend -> backend
   (round 3, expected from the policy directory as it is now), while the others still pass.
Usage: daemon_restart_test.py PALISADE PALISADE_GEN SOURCE_ROOT"""
import pathlib
import re
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "kube"))
from harness import QUARANTINE, Checks, Follower, demo_node_file  # noqa: E402

FRONTEND_TO_BACKEND = "frontend/frontend-app-1 -> backend/backend-app-1 TCP/80 (established)"


def main() -> int:
    palisade, palisade_gen, root = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]).resolve()
    check = Checks()

    with tempfile.TemporaryDirectory(prefix="palisade-restart-") as tmp:
        tmp = pathlib.Path(tmp)
        policies = tmp / "policies"
        policies.mkdir()
        scenario = policies / "three_tier.yaml"
        shutil.copy(root / "config/examples/01_three_tier_app.yaml", scenario)
        node = demo_node_file(root, tmp, "restart", f"  source: directory\n  directory: {policies}\n",
                              client_mode=True)
        check(node.read_text().count("client=1") == 3,
              "every vhost-user port of the node file is in client mode")

        gen = Follower([palisade_gen, "flows", "--config", str(node), "--scenario", str(scenario),
                        "--rounds", "3", "--wait-file", str(tmp / "go"), "--established",
                        "--judge-by", str(policies)], tmp / "gen.log")
        daemon_args = [palisade, "--config", str(node), "--stats-interval", "0",
                       "--admin-listen", "127.0.0.1:0", "--no-flow-log"]
        daemons = []

        def start(n: int) -> Follower:
            d = Follower(daemon_args, tmp / f"daemon{n}.log")
            daemons.append(d)
            if not check(d.wait_for(r"^palisade: generation 1 in force", 30),
                         f"daemon {n} puts generation 1 in force"):
                raise RuntimeError
            return d

        def crash(d: Follower) -> None:
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait(timeout=10)

        try:
            first = start(1)
            check(re.search(r"^palisade: conntrack: new table in .*/conntrack", first.text(), re.M),
                  "the first daemon makes its conntrack table in the state file")
            (tmp / "go.1").touch()
            check(gen.wait_for(r"^palisade-gen: round 1: 10 flows as expected, 0 not", 60),
                  "round 1: every flow as expected through the first daemon")

            crash(first)
            second = start(2)
            kept = re.search(r"^palisade: conntrack: kept (\d+) connections", second.text(), re.M)
            check(kept and int(kept.group(1)) >= 4,
                  f"the restarted daemon kept the connections ({kept.group(0) if kept else 'no'})")
            (tmp / "go.2").touch()
            check(gen.wait_for(r"^palisade-gen: round 2: 10 flows as expected, 0 not", 60),
                  "round 2: every connection carries data through the restarted daemon, "
                  "with no new handshake")
            check(re.search(r"^ALLOWED " + re.escape(FRONTEND_TO_BACKEND), gen.text(), re.M),
                  "frontend -> backend's connection passed as established after the restart")
            check(re.search(r"VHOST_CONFIG: .*(connected|new device)", second.text()),
                  "the restarted daemon connected to the pods' sockets as a client")

            (policies / "quarantine.yaml").write_text(QUARANTINE)
            crash(second)
            start(3)
            (tmp / "go.3").touch()
            check(gen.wait_for(r"^palisade-gen: round 3: 10 flows as expected, 0 not", 60),
                  "round 3: the kept connections judged again by the new policy")
            check(re.search(r"^DROPPED " + re.escape(FRONTEND_TO_BACKEND), gen.text(), re.M),
                  "the connection the new policy forbids is cut")
            gen.proc.wait(timeout=30)
            check(gen.proc.returncode == 0, f"palisade-gen exits 0 ({gen.proc.returncode})")
        except RuntimeError:
            pass
        finally:
            for d in daemons:
                d.stop()
            gen.stop()
            print("--- palisade-gen")
            print("\n".join(gen.text().splitlines()[-45:]))
            for n, d in enumerate(daemons, 1):
                print(f"--- daemon {n}")
                print("\n".join(l for l in d.text().splitlines()
                                if l.startswith(("palisade:", "VHOST"))))
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
