#!/usr/bin/env bash
# Every test, from a fresh Debian 12 machine: installs what is missing, builds, runs the unit
# tests and conformance scenarios, then builds the fuzz targets with clang (libFuzzer,
# AddressSanitizer, UndefinedBehaviorSanitizer) and runs each for a short while.
#   PALISADE_FUZZ_SECONDS  seconds per fuzz target (default 20; 0 skips fuzzing)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
bash scripts/build.sh || exit 1
# kube-apiserver and kubectl v1.20.2 from Debian's source package, for the end-to-end tests
# against a real API server: built once (minutes), then cached.
bash scripts/kube-apiserver.sh build || exit 1

failed=0
meson test -C build --print-errorlogs --num-processes 2 || failed=1
# meson's own summary is not one of the closing lines CI reads; say it plainly too.
read -r ok bad < <(python3 - <<'PY'
import json
ok = bad = 0
for line in open("build/meson-logs/testlog.json"):
    r = json.loads(line)["result"]
    ok += r in ("OK", "EXPECTEDFAIL")
    bad += r not in ("OK", "EXPECTEDFAIL", "SKIP")
print(ok, bad)
PY
)

fuzz_seconds=${PALISADE_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
      -Db_lundef=false || exit 1
  fi
  ninja -C build-fuzz || exit 1
  for target in selector_fuzz manifest_fuzz packet_fuzz; do
    corpus=$(mktemp -d)
    cp tests/fuzz/corpus/"${target%_fuzz}"/* "$corpus"/
    echo "== fuzzing $target for ${fuzz_seconds}s"
    if build-fuzz/tests/fuzz/"$target" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
        "$corpus" > "build-fuzz/$target.log" 2>&1; then
      ok=$((ok + 1))
      grep -E 'stat::number_of_executed_units|Done' "build-fuzz/$target.log" | tail -2
    else
      bad=$((bad + 1))
      failed=1
      tail -40 "build-fuzz/$target.log"
    fi
    rm -rf "$corpus"
  done
fi

echo "tests: $ok passed, $bad failed"
exit $failed
