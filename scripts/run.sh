#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing, builds, and runs
# Palisade on its embedded default, without hugepages:
#   1. the example policies (config/examples/) through the three engines: the reference
#      evaluator, the compiled rte_acl tables, and the packet path on in-process ports;
#   2. the daemon itself (config/node-demo.yaml: node-a of the three-tier example, its pods on
#      vhost-user ports), with palisade-gen playing the pods and the rest of the cluster over
#      virtio-user from a second process: each flow is sent as real packets, and both sides
#      print what happened — palisade-gen where each packet came out, the daemon which
#      policy allowed or denied each connection.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
echo
echo "== Verdicts of the example policies (config/examples/), reference engine"
build/control/ctl/palisadectl verify --engine reference config/examples/
echo
echo "== The same flows through the compiled rte_acl tables and through the packet path"
build/control/ctl/palisadectl verify --engine compiled --quiet config/examples/
build/control/ctl/palisadectl verify --engine dataplane --quiet config/examples/

echo
echo "== The daemon: palisade --config config/node-demo.yaml (vhost-user ports, no hugepages)"
log=$(mktemp /tmp/palisade-daemon.XXXXXX.log)
build/control/palisade --config config/node-demo.yaml --stats-interval 0 >"$log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "in force" "$log" && break
  if ! kill -0 $daemon 2>/dev/null; then
    cat "$log"
    echo "run.sh: the daemon did not start"
    exit 1
  fi
  sleep 0.1
done
echo "-- palisade-gen: each flow's first packet from its source's port, and the reply"
gen_status=0
build/perf/palisade-gen flows --config config/node-demo.yaml \
  --scenario config/examples/01_three_tier_app.yaml 2>&1 |
  grep -v -E '^(EAL|TELEMETRY|VHOST_CONFIG|virtio_user)' || gen_status=$?
kill -TERM $daemon
wait $daemon || true
trap - EXIT
echo "-- the daemon's log: generations, one line per judged connection, counters"
grep -E '^(palisade|flow|stats):' "$log"
rm -f "$log"
exit $gen_status
