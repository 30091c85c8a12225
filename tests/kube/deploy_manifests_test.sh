#!/usr/bin/env bash
# Checks config/deploy/ against a real API server (scripts/kube-apiserver.sh, v1.20.2):
#   1. every manifest passes kubectl's client-side validation;
#   2. the CRDs apply and become Established, and the rest passes the server's validation and
#      admission (--dry-run=server: privileged pods, hugepages, system-node-critical);
#   3. the CRDs' schemas accept the seed policies and refuse unknown and mistyped fields
#      (crd_schema_check.py);
#   4. the ConfigMap's node file passes `palisade --check` (when Palisade is built);
#   5. the ClusterRole gives the DaemonSet's service account get/list/watch on exactly what
#      Palisade reads, and nothing more (kubectl auth can-i, answered by the server's RBAC).
# The first run builds the API server (several minutes); later runs take about 15 s.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
deploy=$repo/config/deploy
apiserver=$repo/scripts/kube-apiserver.sh

"$apiserver" build
kubectl_bin=$("$apiserver" bindir)/kubectl

dir=$(mktemp -d /tmp/palisade-deploy-test.XXXXXX)
cleanup() {
  "$apiserver" stop "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

failures=0
# On stdout, with the ok lines, so that the two keep their order in a log.
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
step() { echo "--- $*"; }

# CRDs are applied by the test itself (step 2), after the client-side checks.
"$apiserver" start "$dir" --no-crds >/dev/null
k() { "$kubectl_bin" --kubeconfig "$dir/kubeconfig" "$@"; }

# Runs a kubectl command; on failure prints its output and counts it.
expect_ok() {
  local what=$1 out
  shift
  if out=$(k "$@" 2>&1); then
    echo "ok: $what"
  else
    fail "$what: kubectl $*"
    while IFS= read -r line; do echo "    $line"; done <<<"$out"
  fi
}

step "client-side validation"
expect_ok "CRDs (--dry-run=client)" apply --dry-run=client -f "$deploy/crds/"
expect_ok "manifests (--dry-run=client)" apply --dry-run=client -f "$deploy/"

step "CRDs for real, then the manifests through the server's validation and admission"
expect_ok "CRDs applied" apply -f "$deploy/crds/"
expect_ok "CRDs Established" wait --for condition=established --timeout=60s -f "$deploy/crds/"
# A server-side dry run persists nothing, so the namespace the other objects go into must
# exist for real first (NamespaceLifecycle admission refuses objects in a missing one).
expect_ok "namespace applied" apply -f "$deploy/00-namespace.yaml"
expect_ok "manifests (--dry-run=server)" apply --dry-run=server -f "$deploy/"

step "the CRDs' schemas: the seed policies accepted, unknown and mistyped fields refused"
seeds=("$repo"/tests/conformance/seed*.yaml)
if [ -d "$repo/../shared/spec/seed-policies" ]; then
  seeds+=("$repo/../shared/spec/seed-policies")
fi
if out=$(python3 "$repo/tests/kube/crd_schema_check.py" "$kubectl_bin" "$dir/kubeconfig" \
  "${seeds[@]}" 2>&1); then
  echo "$out"
else
  echo "$out"
  fail "the CRDs' schemas (tests/kube/crd_schema_check.py)"
fi

step "the node file in the ConfigMap"
# The daemon's own parser, as the DaemonSet would run it (NODE_NAME from the downward API).
palisade=${PALISADE:-$repo/build/control/palisade}
if [ -x "$palisade" ]; then
  k create --dry-run=client -f "$deploy/40-configmap.yaml" -o jsonpath='{.data.node\.yaml}' \
    >"$dir/node.yaml"
  if out=$(NODE_NAME=node-1.example.com "$palisade" --check --config "$dir/node.yaml" 2>&1); then
    echo "ok: palisade --check accepts it"
  else
    fail "palisade --check rejects the ConfigMap's node file"
    while IFS= read -r line; do echo "    $line"; done <<<"$out"
  fi
else
  echo "skipped: no $palisade (build Palisade, or set PALISADE)"
fi

step "RBAC of system:serviceaccount:palisade-system:palisade"
expect_ok "service account, ClusterRole and binding applied" apply \
  -f "$deploy/10-serviceaccount.yaml" -f "$deploy/20-clusterrole.yaml" \
  -f "$deploy/30-clusterrolebinding.yaml"

sa=system:serviceaccount:palisade-system:palisade
# `kubectl auth can-i` prints yes or no on stdout and exits 0 or 1; its warnings (an unknown
# resource, a cluster-scoped one asked about in all namespaces) go to stderr, shown only when
# the answer is not the expected one.
can_i() {
  local verb=$1 resource=$2
  shift 2
  k auth can-i --as="$sa" "$verb" "$resource" "$@" 2>"$dir/can-i.err" || true
}
why() {
  if [ -s "$dir/can-i.err" ]; then
    echo " ($(tr '\n' ' ' <"$dir/can-i.err"))"
  fi
}

# Everything Palisade reads: resource.group, as `kubectl auth can-i` takes them.
allowed=(
  namespaces pods serviceaccounts nodes
  networkpolicies.networking.k8s.io
  networkpolicies.crd.projectcalico.org
  globalnetworkpolicies.crd.projectcalico.org
  tiers.crd.projectcalico.org
  networksets.crd.projectcalico.org
  globalnetworksets.crd.projectcalico.org
  hostendpoints.crd.projectcalico.org
  stagednetworkpolicies.crd.projectcalico.org
  stagedglobalnetworkpolicies.crd.projectcalico.org
  stagedkubernetesnetworkpolicies.crd.projectcalico.org
  ciliumnetworkpolicies.cilium.io
  ciliumclusterwidenetworkpolicies.cilium.io
  customresourcedefinitions.apiextensions.k8s.io
)
checked=0
before=$failures
for r in "${allowed[@]}"; do
  for verb in get list watch; do
    # Cluster-wide (--all-namespaces) for the namespaced ones: the daemon watches every
    # namespace, and a namespace-less check of a namespaced resource means "default".
    got=$(can_i "$verb" "$r" --all-namespaces)
    checked=$((checked + 1))
    [ "$got" = yes ] || fail "$verb $r should be allowed, got: $got$(why)"
  done
done
if [ "$failures" -eq "$before" ]; then
  echo "ok: get/list/watch allowed on ${#allowed[@]} resources ($checked checks)"
fi

# Writes to what it reads, and reads of what it has no business with.
denied=(
  "create pods" "delete pods" "update pods" "patch pods"
  "create networkpolicies.networking.k8s.io" "delete networkpolicies.networking.k8s.io"
  "update globalnetworkpolicies.crd.projectcalico.org"
  "delete ciliumnetworkpolicies.cilium.io"
  "create customresourcedefinitions.apiextensions.k8s.io"
  "get secrets" "list secrets" "watch secrets" "get configmaps"
  "update nodes" "list services" "list endpoints"
  "list networkpolicies.projectcalico.org"
  "list ciliumendpoints.cilium.io"
  "impersonate users"
)
before=$failures
for d in "${denied[@]}"; do
  # shellcheck disable=SC2086 # "verb resource" splits into its two words on purpose
  got=$(can_i $d --all-namespaces)
  [ "$got" = no ] || fail "$d should be denied, got: $got$(why)"
done
if [ "$failures" -eq "$before" ]; then
  echo "ok: ${#denied[@]} other requests denied"
fi

if [ "$failures" -ne 0 ]; then
  echo "deploy_manifests_test: $failures failure(s)" >&2
  exit 1
fi
echo "deploy_manifests_test: all checks passed"
