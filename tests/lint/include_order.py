#!/usr/bin/env python3
"""Holds the quoted includes of the C++ sources (*.h, *.cc) to the project's layering, so that
the layers stay separable: the policy model builds without the dataplane, the per-packet code
(dataplane/hot/) pulls in nothing that allocates or throws, the policy sources know nothing of
the daemon, and only the tools at the top (palisadectl, perf, tests) see everything.

Each folder in LAYERS may include its own folder and the folders listed for it; the rule for a
file is the one of its longest matching folder prefix, and a file in no listed folder (config/,
scripts/, ...) is not checked. Every checked file's quoted includes must also name a file that
exists relative to SOURCE_ROOT; tests/ are checked for that only. Text after // is ignored, and
so are <system> includes. Every finding names the file and line.

Usage: include_order.py SOURCE_ROOT
       include_order.py --self-test   (runs the check on a made-up tree with known faults and
                                       fails unless it finds exactly those faults)"""
import pathlib
import posixpath
import re
import sys
import tempfile

# Folder of the including file -> what it may include. "x/" allows only the files directly in
# x/, "x/**" allows x/ and every folder below it, "x/f.h" that one file; None allows anything
# in the tree.
LAYERS = {
    # The policy model and compiler: pure C++, shared by everything, depends on nothing else.
    "policy/": ["policy/**"],
    # Per-packet code run by the workers: only its own headers, so nothing that allocates,
    # locks or throws can reach a burst through an include; and the IP protocol numbers, plain
    # constants whose one home is policy/.
    "dataplane/hot/": ["dataplane/hot/**", "policy/ipproto.h"],
    # Setup and tables of the dataplane: builds on the hot path and the compiled policy, never
    # on the control plane that drives it.
    "dataplane/": ["dataplane/", "dataplane/hot/**", "policy/**"],
    # Where policy comes from (directories, Kubernetes): turns objects into policy, and knows
    # nothing of the daemon or the dataplane it feeds.
    "control/source/": ["control/source/**", "policy/**"],
    # Offline verification: reads policy from the sources and runs it through the dataplane's
    # evaluators, but is not part of the daemon.
    "control/verify/": ["control/verify/**", "control/source/**", "dataplane/**", "policy/**"],
    # The daemon: wires sources to the dataplane; must not depend on the CLI or on verify.
    "control/": ["control/", "control/source/**", "dataplane/**", "policy/**"],
    # palisadectl: the operator's tool, may use the daemon's admin protocol and verify.
    "control/ctl/": ["control/ctl/**", "control/", "control/verify/**", "control/source/**",
                     "dataplane/**", "policy/**"],
    # Benchmarks and generators: drive any production code, but production never includes them.
    "perf/": ["perf/**", "control/**", "dataplane/**", "policy/**"],
    # Tests may include anything in the tree; their includes must only exist.
    "tests/": None,
}

INCLUDE = re.compile(r'\s*#\s*include\s*"([^"]+)"')
SKIPPED_DIRS = [".git", "tests/fuzz/corpus"]  # plus any top-level build*/


def skipped(relative: str) -> bool:
    """True for a path in a build folder, the git metadata or the fuzz corpus."""
    if relative.split("/", 1)[0].startswith("build"):
        return True
    return any(relative == d or relative.startswith(d + "/") for d in SKIPPED_DIRS)


def sources(root: pathlib.Path) -> list[str]:
    """The C++ files under root, as sorted root-relative paths with / separators."""
    found = []
    for path in root.rglob("*"):
        if path.suffix in (".h", ".cc") and path.is_file():
            relative = path.relative_to(root).as_posix()
            if not skipped(relative):
                found.append(relative)
    return sorted(found)


def rule_for(relative: str) -> str | None:
    """The LAYERS key whose folder is the longest prefix of the file's path, if any."""
    matches = [folder for folder in LAYERS if relative.startswith(folder)]
    return max(matches, key=len) if matches else None


def allows(pattern: str, target: str) -> bool:
    """Whether one LAYERS entry ("x/" or "x/**") admits the root-relative target."""
    if pattern.endswith("/**"):
        return target.startswith(pattern[:-2])
    if not pattern.endswith("/"):
        return target == pattern
    return target.startswith(pattern) and "/" not in target[len(pattern):]


def describe(pattern: str) -> str:
    if pattern.endswith("/**"):
        return pattern[:-2]
    return pattern + " (top level)" if pattern.endswith("/") else pattern


def check_file(root: pathlib.Path, relative: str, folder: str) -> list[str]:
    problems = []
    allowed = LAYERS[folder]
    text = (root / relative).read_text(errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        include = INCLUDE.match(line.split("//", 1)[0])
        if not include:
            continue
        name = include.group(1)
        target = posixpath.normpath(name)
        where = f"{relative}:{number}: includes {name}"
        if target.startswith("../") or not (root / target).is_file():
            problems.append(f"{where}: no such file under the source root")
        if allowed is not None and not any(allows(p, target) for p in allowed):
            listed = ", ".join(describe(p) for p in allowed)
            problems.append(f"{where}: {folder} may include only {listed}")
    return problems


def check_tree(root: pathlib.Path) -> tuple[int, list[str]]:
    """Checks every C++ file under a listed folder; returns (files checked, findings)."""
    checked, problems = 0, []
    for relative in sources(root):
        folder = rule_for(relative)
        if folder is None:
            continue
        checked += 1
        problems += check_file(root, relative, folder)
    return checked, problems


# The made-up tree of the self-test: file -> (text, [(line, kind of finding), ...]).
SELF_TEST_TREE = {
    "policy/a.h": ('#include "policy/b.h"\n', []),
    "policy/b.h": ('#include "dataplane/d.h"\n', [(1, "layer")]),
    "policy/c.cc": ('#include "policy/a.h"  // not "control/daemon.h"\n'
                    '// #include "control/daemon.h"\n'
                    '#include <vector>\n'
                    '#include "policy/gone.h"\n', [(4, "missing")]),
    "dataplane/hot/h.h": ('#include "dataplane/hot/h2.h"\n#include "policy/a.h"\n',
                          [(2, "layer")]),
    "dataplane/hot/h2.h": ("", []),
    "dataplane/d.h": ('#include "dataplane/hot/h.h"\n#include "policy/a.h"\n'
                      '#include "dataplane/e.h"\n', []),
    "dataplane/e.h": ('#include "control/daemon.h"\n', [(1, "layer")]),
    "dataplane/x/y.h": ('#include "dataplane/d.h"\n', []),
    "dataplane/w.cc": ('#include "dataplane/x/y.h"\n', [(1, "layer")]),
    "control/source/s.h": ('#include "control/source/kube/k.h"\n#include "policy/a.h"\n', []),
    "control/source/kube/k.h": ('#include "control/source/s.h"\n'
                                '#include "dataplane/d.h"\n', [(2, "layer")]),
    "control/verify/v.h": ('#include "control/source/kube/k.h"\n#include "dataplane/hot/h.h"\n'
                           '#include "control/daemon.h"\n', [(3, "layer")]),
    "control/daemon.h": ('#include "control/source/s.h"\n#include "dataplane/d.h"\n'
                         '#include "control/verify/v.h"\n#include "control/ctl/c.h"\n',
                         [(3, "layer"), (4, "layer")]),
    "control/ctl/c.h": ('#include "control/daemon.h"\n#include "control/verify/v.h"\n'
                        '#include "perf/p.h"\n', [(3, "layer")]),
    "control/old/o.h": ('#include "control/daemon.h"\n', []),
    "control/z.cc": ('#include "control/old/o.h"\n', [(1, "layer")]),
    "perf/p.h": ('#include "control/source/kube/k.h"\n#include "control/ctl/c.h"\n'
                 '#include "tests/t.h"\n', [(3, "layer")]),
    "tests/t.h": ('#include "perf/p.h"\n#include "config/cfg.h"\n#include "tests/nope.h"\n',
                  [(3, "missing")]),
    "tests/deep/u.cc": ('#include "../t.h"\n', [(1, "missing")]),
    "config/cfg.h": ('#include "nowhere.h"\n', []),
    "scripts/gen.cc": ('#include "control/daemon.h"\n', []),
    "build/gen.h": ('#include "nowhere.h"\n', []),
    "build-asan/gen.h": ('#include "nowhere.h"\n', []),
    "tests/fuzz/corpus/seed.cc": ('#include "nowhere.h"\n', []),
}


def self_test() -> int:
    """Runs the check on SELF_TEST_TREE; fails unless it finds exactly the faults planted."""
    expected = {(path, line, kind)
                for path, (_, faults) in SELF_TEST_TREE.items() for line, kind in faults}
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory)
        for path, (text, _) in SELF_TEST_TREE.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        checked, problems = check_tree(root)
    found = set()
    for problem in problems:
        path, line, message = problem.split(":", 2)
        found.add((path, int(line), "missing" if "no such file" in message else "layer"))
    failures = [f"expected but not found: {e}" for e in sorted(expected - found)]
    failures += [f"found but not expected: {f}" for f in sorted(found - expected)]
    want_checked = sum(1 for p in SELF_TEST_TREE
                       if not skipped(p) and rule_for(p) is not None)
    if checked != want_checked:
        failures.append(f"checked {checked} files, expected {want_checked}")
    for failure in failures:
        print(f"self-test: {failure}")
    print(f"self-test: {checked} files checked, {len(problems)} findings, "
          f"{len(expected)} expected: {'FAIL' if failures else 'ok'}")
    return 1 if failures else 0


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print("usage: include_order.py SOURCE_ROOT | --self-test")
        return 1
    root = pathlib.Path(sys.argv[1])
    if not root.is_dir():
        print(f"no such directory: {root}")
        return 1
    checked, problems = check_tree(root)
    for problem in problems:
        print(problem)
    print(f"{checked} files checked, {len(problems)} include problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
