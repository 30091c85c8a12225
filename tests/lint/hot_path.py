#!/usr/bin/env python3
"""Holds the code a worker runs per burst (dataplane/hot/) to the hot-path rules of STYLE.md:
no allocation, no locks, no system calls, no exceptions, no formatted strings. It checks the
includes against an allow-list and looks for the constructs that would break the rules;
every finding names the file and line.

Usage: hot_path.py HOT_DIR [LOOP_FILE ...]. HOT_DIR holds the burst's stages and what they are
made of; each LOOP_FILE (the worker's loop, dataplane/worker.cc, which starts the stages and
includes the dataplane's headers to find the generation in force) is checked for the
constructs only, not for its includes."""
import pathlib
import re
import sys

ALLOWED_SYSTEM = {
    "algorithm", "array", "atomic", "bit", "cstddef", "cstdint", "cstring", "limits",
    "optional", "span", "string_view", "type_traits", "utility",
}
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
# Headers of other folders that hold only constants.
ALLOWED_OUTSIDE = {"policy/ipproto.h"}
FORBIDDEN = [
    (re.compile(r"\bnew\b(?!\s*\()"), "operator new allocates"),
    (re.compile(r"\b(malloc|calloc|realloc|rte_malloc|rte_zmalloc)\s*\("), "allocates"),
    (re.compile(r"\bthrow\b"), "throws"),
    (re.compile(r"\bstd::(string|vector|map|unordered_map|function|mutex|shared_ptr)\b"),
     "allocates or locks"),
    (re.compile(r"\b(printf|fprintf|snprintf|RTE_LOG|std::cout|std::cerr)\b"),
     "formats text on the hot path; record a fixed-size event instead"),
]


def check(path: pathlib.Path, check_includes: bool = True) -> list[str]:
    problems = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("//", 1)[0]
        include = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', code)
        if include and not check_includes:
            continue
        if include:
            kind, name = include.groups()
            ok = (kind == "<" and (name in ALLOWED_SYSTEM or re.fullmatch(r"rte_\w+\.h", name))) or (
                kind == '"' and (name.startswith("dataplane/hot/") or name in ALLOWED_OUTSIDE))
            if not ok:
                close = ">" if kind == "<" else '"'
                problems.append(f"{path}:{number}: #include {kind}{name}{close} is not allowed in hot/")
            continue
        words = STRING.sub('""', code)  # what a string literal says is no construct
        for pattern, why in FORBIDDEN:
            if pattern.search(words):
                problems.append(f"{path}:{number}: {why}: {line.strip()}")
    return problems


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    files = sorted(root.glob("*.h")) + sorted(root.glob("*.cc"))
    if not files:
        print(f"no hot-path sources under {root}")
        return 1
    stages = [pathlib.Path(a) for a in sys.argv[2:]]
    missing = [str(f) for f in stages if not f.is_file()]
    if missing:
        print("no such stage file: " + ", ".join(missing))
        return 1
    problems = [p for f in files for p in check(f)]
    problems += [p for f in stages for p in check(f, check_includes=False)]
    for p in problems:
        print(p)
    print(f"{len(files) + len(stages)} hot-path files checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
