#!/usr/bin/env python3
"""Restarts do not break pods: with its vhost-user ports in client mode (`client=1`), the
daemon connects to sockets its pods serve (palisade-gen's virtio-user ports, `server=1`),
so a daemon that crashes and starts again reconnects to the same pods, which never went
away.

1. palisade-gen (the pods and the uplink's far side) starts first and serves the sockets.
2. The daemon connects; every flow of the three-tier example is as expected (round 1).
3. The daemon is killed (SIGKILL, as a crash) and started again; it reconnects, and once its
   first generation is in force every flow is as expected again (round 2), through the same
   virtio-user ports.
Usage: daemon_restart_test.py PALISADE PALISADE_GEN SOURCE_ROOT"""
import pathlib
import re
import signal
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "kube"))
from harness import Checks, Follower, demo_node_file  # noqa: E402


def main() -> int:
    palisade, palisade_gen, root = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]).resolve()
    check = Checks()

    with tempfile.TemporaryDirectory(prefix="palisade-restart-") as tmp:
        tmp = pathlib.Path(tmp)
        scenario = root / "config/examples/01_three_tier_app.yaml"
        node = demo_node_file(root, tmp, "restart", f"  source: directory\n  directory: {scenario}\n",
                              client_mode=True)
        check(node.read_text().count("client=1") == 3,
              "every vhost-user port of the node file is in client mode")

        gen = Follower([palisade_gen, "flows", "--config", str(node), "--scenario", str(scenario),
                        "--rounds", "2", "--wait-file", str(tmp / "go")], tmp / "gen.log")
        daemon_args = [palisade, "--config", str(node), "--stats-interval", "0",
                       "--admin-listen", "127.0.0.1:0", "--no-flow-log"]
        first = second = None
        try:
            first = Follower(daemon_args, tmp / "daemon1.log")
            if not check(first.wait_for(r"^palisade: generation 1 in force", 30),
                         "the first daemon puts generation 1 in force"):
                raise RuntimeError
            (tmp / "go.1").touch()
            check(gen.wait_for(r"^palisade-gen: round 1: 10 flows as expected, 0 not", 60),
                  "round 1: every flow as expected through the first daemon")

            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait(timeout=10)
            second = Follower(daemon_args, tmp / "daemon2.log")
            check(second.wait_for(r"^palisade: generation 1 in force", 30),
                  "the restarted daemon puts generation 1 in force")
            (tmp / "go.2").touch()
            check(gen.wait_for(r"^palisade-gen: round 2: 10 flows as expected, 0 not", 60),
                  "round 2: every flow as expected through the restarted daemon, same pods")
            gen.proc.wait(timeout=30)
            check(gen.proc.returncode == 0, f"palisade-gen exits 0 ({gen.proc.returncode})")
            check(re.search(r"VHOST_CONFIG: .*(connected|new device)", second.text()),
                  "the restarted daemon connected to the pods' sockets as a client")
        except RuntimeError:
            pass
        finally:
            for d in (first, second):
                if d is not None:
                    d.stop()
            gen.stop()
            print("--- palisade-gen")
            print("\n".join(gen.text().splitlines()[-40:]))
            if second is not None:
                print("--- restarted daemon")
                print("\n".join(l for l in second.text().splitlines() if l.startswith(("palisade:", "VHOST"))))
    return check.result()


if __name__ == "__main__":
    sys.exit(main())
