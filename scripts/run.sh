#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing, builds, and runs
# Palisade's policy engine on the bundled example policies (config/examples/), printing per
# flow whether it is allowed or dropped, and by which tier, policy and rule; then checks that
# the rte_acl tables compiled from them give every flow the same verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
echo
echo "== Verdicts of the example policies (config/examples/), reference engine"
build/control/palisadectl verify --engine reference config/examples/
echo
echo "== The same flows through the rte_acl tables compiled from those policies"
build/control/palisadectl verify --engine compiled --quiet config/examples/
