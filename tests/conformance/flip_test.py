#!/usr/bin/env python3
"""Proves the conformance check can fail: with every flow's expectation flipped (allow <->
deny, for the connection and its reply), palisadectl verify must fail every flow of every
scenario and exit non-zero. A third argument names the engine (reference by default); the
flows an engine skips (HTTP for the compiled and dataplane engines) are counted apart."""
import pathlib
import re
import subprocess
import sys
import tempfile

FLIP = {"allow": "deny", "deny": "allow"}


def flip(text: str) -> str:
    return re.sub(r"\b(expect|reply):(\s*)(allow|deny)\b",
                  lambda m: f"{m.group(1)}:{m.group(2)}{FLIP[m.group(3)]}", text)


def main() -> int:
    palisadectl, scenario_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    engine = sys.argv[3] if len(sys.argv) > 3 else "reference"
    files = sorted(scenario_dir.glob("*.yaml"))
    if not files:
        print(f"no scenarios in {scenario_dir}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        flows = 0
        for f in files:
            text = f.read_text()
            flows += len(re.findall(r"\bexpect:\s*(allow|deny)\b", text))
            (pathlib.Path(tmp) / f.name).write_text(flip(text))
        run = subprocess.run([palisadectl, "verify", "--engine", engine, tmp],
                             capture_output=True, text=True)
        lines = run.stdout.splitlines()
        passed_flows = [l for l in lines if l.startswith("ok   ") and "rejected as expected" not in l]
        failed_flows = [l for l in lines if l.startswith("FAIL ") and " — expected " in l]
        skipped = [l for l in lines if l.startswith("skip ")]
        print(f"{len(files)} files, {flows} flows flipped, engine {engine}; "
              f"{len(failed_flows)} failed, {len(passed_flows)} passed, {len(skipped)} skipped; "
              f"exit code {run.returncode}")
        for l in passed_flows[:20]:
            print("passed although flipped:", l)
        if run.returncode == 0 or passed_flows or len(failed_flows) + len(skipped) != flows:
            print(run.stdout[-3000:])
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
