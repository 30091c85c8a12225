#!/usr/bin/env python3
"""Holds the C++ sources (*.h, *.cc) to the project's .clang-format, so that formatting never
shows up in review and a reformat never hides a change. It runs clang-format in dry-run mode
on the files git tracks (every file under the root when it is not a git checkout) and names
every file that clang-format would change, with clang-format's own file:line warnings.

Usage: format_check.py SOURCE_ROOT [CLANG_FORMAT]   (CLANG_FORMAT defaults to clang-format)"""
import concurrent.futures
import os
import pathlib
import re
import shutil
import subprocess
import sys

BATCH = 40        # files per clang-format run
WORKERS = 2       # clang-format runs at a time
SHOWN_LINES = 20  # lines of clang-format's output shown per failing batch
WARNING = re.compile(r"^(.+?):(\d+):\d+: (?:warning|error): ")


def git_files(root: pathlib.Path) -> list[str] | None:
    """The tracked *.h and *.cc files, or None when git or the checkout is missing."""
    if shutil.which("git") is None:
        return None
    try:
        listed = subprocess.run(["git", "-C", str(root), "ls-files", "*.h", "*.cc"],
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return listed.stdout.splitlines()


def walked_files(root: pathlib.Path) -> list[str]:
    """The *.h and *.cc files under root, outside .git and build*/ folders."""
    found = []
    for directory, folders, files in os.walk(root):
        folders[:] = [f for f in folders if f != ".git" and not f.startswith("build")]
        for name in files:
            if name.endswith((".h", ".cc")):
                found.append(pathlib.Path(directory, name).relative_to(root).as_posix())
    return found


def sources(root: pathlib.Path) -> list[str]:
    """Root-relative paths to check; tracked files removed from the work tree are left out."""
    listed = git_files(root)
    if listed is None:
        listed = walked_files(root)
    return sorted(f for f in listed if (root / f).is_file())


def check_batch(clang_format: str, root: pathlib.Path,
                batch: list[str]) -> tuple[list[tuple[str, int]], str]:
    """Runs clang-format on one batch; returns ([(file it would change, first line), ...],
    its output)."""
    run = subprocess.run([clang_format, "--style=file", "--dry-run", "--Werror", *batch],
                         cwd=root, capture_output=True, text=True)
    output = run.stdout + run.stderr
    if run.returncode == 0:
        return [], output
    first_line = {}
    for match in filter(None, map(WARNING.match, output.splitlines())):
        first_line.setdefault(match.group(1), int(match.group(2)))
    failing = [(f, first_line[f]) for f in batch if f in first_line]
    # A failure that names no file (a bad .clang-format, a crash) fails the whole batch.
    return failing or [(f, 1) for f in batch], output


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print("usage: format_check.py SOURCE_ROOT [CLANG_FORMAT]")
        return 1
    root = pathlib.Path(sys.argv[1]).resolve()
    clang_format = sys.argv[2] if len(sys.argv) == 3 else "clang-format"
    found = shutil.which(clang_format)
    if found is None:
        print(f"{clang_format} not found: install clang-format (the test script does) "
              f"or pass its path as the second argument")
        return 1
    files = sources(root)
    if not files:
        print(f"no C++ sources under {root}")
        return 1
    batches = [files[i:i + BATCH] for i in range(0, len(files), BATCH)]
    failing = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = pool.map(lambda batch: check_batch(found, root, batch), batches)
        for batch_failing, output in results:
            if not batch_failing:
                continue
            failing += batch_failing
            lines = output.splitlines()
            print("\n".join(lines[:SHOWN_LINES]))
            if len(lines) > SHOWN_LINES:
                print(f"... {len(lines) - SHOWN_LINES} more lines of clang-format output")
    for path, line in failing:
        print(f"{path}:{line}: not formatted")
    print(f"{len(files)} files checked, {len(failing)} not formatted "
          f"(run: clang-format -i FILE...)")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
