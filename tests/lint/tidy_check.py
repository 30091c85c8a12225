#!/usr/bin/env python3
"""Runs clang-tidy, with the project's .clang-tidy, over the C++ sources of the given folders,
as they are compiled (the build's compile_commands.json), and fails on any finding. Every
finding is printed as clang-tidy names it (file:line:column: check).

Usage: tidy_check.py SOURCE_ROOT BUILD_DIR FOLDER... [--clang-tidy PROGRAM] [--jobs N]
A folder stands for its *.cc files (not its subfolders); headers are checked through them
(.clang-tidy's HeaderFilterRegex)."""
import argparse
import concurrent.futures
import json
import pathlib
import shutil
import subprocess
import sys


def sources(root: pathlib.Path, build: pathlib.Path, folders: list[str]) -> list[str]:
    """The .cc files of the folders that the build compiles, as the database names them."""
    database = json.loads((build / "compile_commands.json").read_text())
    compiled = {str((build / entry["directory"] / entry["file"]).resolve()) for entry in database}
    found = []
    for folder in folders:
        for path in sorted((root / folder).glob("*.cc")):
            if str(path.resolve()) in compiled:
                found.append(str(path.resolve()))
    return found


def tidy(program: str, build: pathlib.Path, path: str) -> tuple[str, str]:
    run = subprocess.run([program, "-p", str(build), "--quiet", path], capture_output=True,
                         text=True)
    findings = [line for line in run.stdout.splitlines()
                if ": warning:" in line or ": error:" in line]
    return path, "\n".join(findings) if findings or run.returncode == 0 else run.stderr[-2000:]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("build")
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--clang-tidy", default="clang-tidy")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    program = shutil.which(args.clang_tidy)
    if program is None:
        print(f"{args.clang_tidy} not found: scripts/install-deps.sh installs clang-tidy")
        return 1
    root, build = pathlib.Path(args.root), pathlib.Path(args.build)
    files = sources(root, build, args.folders)
    if not files:
        print("no compiled sources in " + ", ".join(args.folders))
        return 1
    bad = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for path, findings in pool.map(lambda p: tidy(program, build, p), files):
            if findings:
                bad += 1
                print(findings)
    print(f"{len(files)} files checked with clang-tidy, {bad} with findings")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
