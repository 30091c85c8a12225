#!/usr/bin/env bash
# A real kube-apiserver and etcd on 127.0.0.1, everything from Debian 12, for the tests and
# for trying the `policy: {source: kubernetes}` path without a cluster.
#
#   scripts/kube-apiserver.sh build              build kube-apiserver and kubectl once, cache them
#   scripts/kube-apiserver.sh start DIR [--no-crds]
#                                                etcd + kube-apiserver with state in DIR; applies
#                                                config/deploy/crds/ unless --no-crds
#   scripts/kube-apiserver.sh stop DIR           stop what `start DIR` started
#   scripts/kube-apiserver.sh bindir             print the directory holding the binaries
#
# Why built from source: Debian 12 ships etcd (etcd-server, 3.4.23) but no kube-apiserver
# binary; its `kubernetes` source package (v1.20.2, with vendor/) builds one with Debian's Go
# (1.19), with one vendored library replaced (patch_vendor), in about 7 minutes on two shared
# cores. That is an old API server: NetworkPolicy has no `endPort` (the server drops it without
# a word; kubectl's client-side validation rejects it), and anything newer than v1.20 is missing.
#
# After `start DIR`, DIR holds: kubeconfig (admin, token auth), token, ca.crt, url, the pids
# (etcd.pid, kube-apiserver.pid), the logs (etcd.log, kube-apiserver.log), the keys and etcd/.
# Each start begins with an empty etcd. Starting takes about 6 s, stopping about 4 s.
#
# Environment:
#   PALISADE_KUBE_CACHE   where the build lives (default /var/cache/palisade/kubernetes-v1.20.2);
#                         binaries in $PALISADE_KUBE_CACHE/bin/
#   PALISADE_KUBE_TIMEOUT seconds `start` waits for readiness (default 90)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=1.20.2
cache=${PALISADE_KUBE_CACHE:-/var/cache/palisade/kubernetes-v${version}}
bin=$cache/bin
# Written into $bin/BUILD-INFO; a cache without this line was built another way and is rebuilt.
# Change it whenever the build changes in a way that matters at run time.
recipe="recipe 2: reflect2 v1.0.2"

say() { echo "kube-apiserver.sh: $*"; }
die() {
  echo "kube-apiserver.sh: error: $*" >&2
  exit 1
}

usage() {
  sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# --- build ---------------------------------------------------------------------------------

# Packages the build and `start` need. build-essential and dpkg-dev for the source package,
# rsync because the Kubernetes Makefile copies generated files with it, curl for the readiness
# probe, python3 for picking free ports.
# golang-github-modern-go-reflect2-dev: see patch_vendor.
packages=(golang-go rsync etcd-server dpkg-dev openssl build-essential curl python3
  golang-github-modern-go-reflect2-dev)

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]}; run this as root once"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# `apt-get source` needs deb-src entries. Debian 12 images carry only `Types: deb` stanzas in
# debian.sources, so this writes a copy of them as deb-src into a file of its own (leaving the
# system's file as it is), and refreshes the index once.
enable_deb_src() {
  if apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes'; then
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "apt has no deb-src entries; run this as root once"
  local src=/etc/apt/sources.list.d/debian.sources
  local dst=/etc/apt/sources.list.d/palisade-deb-src.sources
  if [ -f "$src" ]; then
    sed -n 's/^Types:.*/Types: deb-src/; p' "$src" >"$dst"
  elif [ -f /etc/apt/sources.list ]; then
    dst=/etc/apt/sources.list.d/palisade-deb-src.list
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list >"$dst"
  else
    die "no apt sources found to derive deb-src entries from"
  fi
  say "added deb-src entries in $dst; apt-get update"
  apt-get update -qq
}

# Kubernetes v1.20 vendors github.com/modern-go/reflect2 v1.0.1, which iterates maps through
# Go runtime internals whose layout changed in Go 1.18: built with Debian's Go 1.19, the API
# server dies with "fatal error: fault" (SIGSEGV in mapiterinit) on the first custom resource
# it encodes. v1.0.2 fixes that and is what Debian ships; json-iterator v1.1.10 works with it.
# The module lists are updated too, so that the vendor tree says what it holds.
patch_vendor() {
  local src=$1 fixed=/usr/share/gocode/src/github.com/modern-go/reflect2
  [ -f "$fixed/go_above_118.go" ] || die "$fixed has no Go 1.18 support; is golang-github-modern-go-reflect2-dev 1.0.2 installed?"
  local dst=$src/vendor/github.com/modern-go/reflect2
  # The sources only: the vendored LICENSE stays (the same license).
  rm -f "$dst"/*.go "$dst"/*.s
  cp "$fixed"/*.go "$fixed"/*.s "$dst/"
  sed -i 's|github.com/modern-go/reflect2 v1.0.1|github.com/modern-go/reflect2 v1.0.2|g' \
    "$src/go.mod" "$src/vendor/modules.txt"
  say "vendor: github.com/modern-go/reflect2 v1.0.1 -> v1.0.2 (Debian's, for Go >= 1.18)"
}

cached() {
  [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kubectl" ] && command -v etcd >/dev/null &&
    grep -qxF "$recipe" "$bin/BUILD-INFO" 2>/dev/null
}

cmd_build() {
  if cached; then
    say "cached: $bin/kube-apiserver $bin/kubectl (etcd: $(command -v etcd))"
    return 0
  fi
  install_packages
  mkdir -p "$cache"
  # One build at a time: a second caller waits, then finds the cache full.
  exec 9>"$cache/.lock"
  flock 9
  if cached; then
    say "cached (built meanwhile): $bin/kube-apiserver $bin/kubectl"
    return 0
  fi
  enable_deb_src

  local work=$cache/work
  rm -rf "$work"
  mkdir -p "$work"
  local started=$SECONDS
  say "downloading Debian's kubernetes source package into $work"
  # As root, apt warns that its _apt sandbox user cannot write into the directory; harmless,
  # so the output goes to a log shown only on failure.
  if ! (cd "$work" && apt-get source --download-only kubernetes) >"$work/download.log" 2>&1; then
    tail -n 20 "$work/download.log" >&2
    die "apt-get source kubernetes failed"
  fi
  local dscs=("$work"/kubernetes_*.dsc) dsc
  dsc=${dscs[0]}
  [ -f "$dsc" ] || die "apt-get source kubernetes downloaded no .dsc"
  case "$dsc" in
    *"$version"*) ;;
    *) die "expected kubernetes $version, Debian has $(basename "$dsc"); set PALISADE_KUBE_CACHE and adjust version" ;;
  esac
  say "unpacking $(basename "$dsc")"
  # dpkg-source cannot check the signature without Debian's keyring of uploaders (gpgv says
  # so on stderr); apt already checked the files' hashes against the signed Release.
  dpkg-source -q -x "$dsc" "$work/src" >/dev/null 2>&1 || die "dpkg-source -x $dsc failed"

  patch_vendor "$work/src"

  # Go's state stays in the cache, never in $HOME (the Makefile sets its own GOPATH, under
  # _output/ in the source tree). The build uses the vendored modules only and must not reach
  # the network (there is none besides Debian's mirror); GOTOOLCHAIN=local stops a newer Go
  # from fetching another toolchain.
  export GOPATH=$cache/gopath GOCACHE=$cache/gocache GOFLAGS=-mod=vendor GOPROXY=off
  export GO111MODULE=on GOTOOLCHAIN=local GOTELEMETRY=off
  # No git checkout to read the version from: given here, `kube-apiserver --version` and
  # `kubectl version` say v1.20.2, and the Makefile does not try git.
  export KUBE_GIT_VERSION=v$version KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian
  local go_version
  go_version=$(go version | cut -d' ' -f3)
  say "building kube-apiserver and kubectl with $go_version (about 7 minutes)"
  if ! (cd "$work/src" && make WHAT="cmd/kube-apiserver cmd/kubectl" >"$work/build.log" 2>&1); then
    tail -n 40 "$work/build.log" >&2
    die "build failed; full log in $work/build.log"
  fi
  local out=$work/src/_output/bin
  if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kubectl" ]; then
    die "build produced no binaries in $out"
  fi
  mkdir -p "$bin.tmp"
  cp "$out/kube-apiserver" "$out/kubectl" "$bin.tmp/"
  printf '%s\n' "$recipe" "source: $(basename "$dsc" .dsc) (Debian)" "go: $go_version" \
    "vendor: github.com/modern-go/reflect2 v1.0.2 from golang-github-modern-go-reflect2-dev" \
    >"$bin.tmp/BUILD-INFO"
  rm -rf "$bin"
  mv "$bin.tmp" "$bin"
  # The source tree and Go's caches are several GiB; only the binaries are worth keeping.
  rm -rf "$work" "$GOCACHE" "$GOPATH"
  say "built in $((SECONDS - started)) s: $bin/kube-apiserver $bin/kubectl"
}

# --- start / stop ----------------------------------------------------------------------------

# A port nobody listens on now. Another process may take it before we do; the callers
# notice when the daemon fails to start.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Self-signed CA, a serving certificate for 127.0.0.1/localhost signed by it, and the
# service-account key pair v1.20 requires (--service-account-*-file).
# openssl, quiet unless it fails (it reports progress on stderr).
ssl() {
  local out
  out=$(openssl "$@" 2>&1) || die "openssl $1 failed: $out"
}

make_keys() {
  local d=$1
  ssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=palisade-test-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt"
  ssl req -new -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$d/apiserver.key" -out "$d/apiserver.csr"
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
    "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$d/apiserver.ext"
  ssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
    -CAcreateserial -days 3650 -extfile "$d/apiserver.ext" -out "$d/apiserver.crt"
  ssl genrsa -out "$d/sa.key" 2048
  ssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub"
  chmod 600 "$d"/*.key
}

write_kubeconfig() {
  local d=$1 url=$2 token=$3
  cat >"$d/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: palisade-test
    cluster:
      server: $url
      certificate-authority-data: $(base64 -w0 "$d/ca.crt")
users:
  - name: admin
    user:
      token: $token
contexts:
  - name: palisade-test
    context: {cluster: palisade-test, user: admin}
current-context: palisade-test
EOF
  chmod 600 "$d/kubeconfig"
}

fail_start() {
  local d=$1 what=$2 log=$3
  echo "kube-apiserver.sh: error: $what; last lines of $log:" >&2
  tail -n 30 "$log" >&2 || true
  cmd_stop "$d" >/dev/null 2>&1 || true
  exit 1
}

cmd_start() {
  local d=${1:-} crds=1
  [ -n "$d" ] || usage
  shift
  for a in "$@"; do
    case "$a" in
      --no-crds) crds=0 ;;
      *) usage ;;
    esac
  done
  cached || die "no current build in $bin, or no etcd; run: scripts/kube-apiserver.sh build"
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  if alive "$d/etcd.pid" || alive "$d/kube-apiserver.pid"; then
    die "$d is already running; scripts/kube-apiserver.sh stop $d first"
  fi
  local started=$SECONDS timeout=${PALISADE_KUBE_TIMEOUT:-90}

  make_keys "$d"
  local token
  token=$(openssl rand -hex 24)
  echo "$token" >"$d/token"
  chmod 600 "$d/token"
  # token,user,uid,"groups": system:masters is bound to cluster-admin by RBAC's bootstrap.
  echo "$token,admin,admin,\"system:masters\"" >"$d/tokens.csv"
  chmod 600 "$d/tokens.csv"

  local etcd_port peer_port api_port
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  local etcd_url=http://127.0.0.1:$etcd_port peer_url=http://127.0.0.1:$peer_port
  local url=https://127.0.0.1:$api_port

  # setsid: the daemons outlive this script and its caller's terminal, and are stopped by pid.
  # A fresh data dir each start: state from a previous run would carry objects over.
  rm -rf "$d/etcd"
  setsid etcd --name palisade --data-dir "$d/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
    --initial-cluster "palisade=$peer_url" --initial-cluster-state new \
    --logger zap --log-level warn </dev/null >"$d/etcd.log" 2>&1 &
  echo $! >"$d/etcd.pid"
  local i
  for ((i = 0; i < timeout * 5; i++)); do
    curl -fsS "$etcd_url/health" 2>/dev/null | grep -q '"health":"true"' && break
    alive "$d/etcd.pid" || fail_start "$d" "etcd exited" "$d/etcd.log"
    sleep 0.2
  done
  ((i < timeout * 5)) || fail_start "$d" "etcd not healthy after ${timeout}s" "$d/etcd.log"

  # --insecure-port=0: v1.20 still opens an unauthenticated port 8080 by default.
  # --allow-privileged: the DaemonSet in config/deploy runs privileged (DPDK, vfio).
  # --endpoint-reconciler-type=none: the `kubernetes` Service's endpoints would be 127.0.0.1,
  # which endpoints validation rejects, logged over and over.
  # --service-cluster-ip-range: its default (10.0.0.0/24) only warns, but say it.
  setsid "$bin/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --insecure-port=0 \
    --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
    --token-auth-file="$d/tokens.csv" \
    --authorization-mode=RBAC \
    --etcd-servers="$etcd_url" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$d/sa.pub" \
    --service-account-signing-key-file="$d/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --endpoint-reconciler-type=none \
    --allow-privileged=true \
    --profiling=false \
    </dev/null >"$d/kube-apiserver.log" 2>&1 &
  echo $! >"$d/kube-apiserver.pid"

  for ((i = 0; i < timeout * 5; i++)); do
    if [ "$(curl -sS --cacert "$d/ca.crt" -H "Authorization: Bearer $token" \
      "$url/readyz" 2>/dev/null)" = ok ]; then
      break
    fi
    alive "$d/kube-apiserver.pid" || fail_start "$d" "kube-apiserver exited" "$d/kube-apiserver.log"
    sleep 0.2
  done
  ((i < timeout * 5)) ||
    fail_start "$d" "kube-apiserver not ready after ${timeout}s" "$d/kube-apiserver.log"

  echo "$url" >"$d/url"
  write_kubeconfig "$d" "$url" "$token"
  say "ready in $((SECONDS - started)) s: $url (kubeconfig $d/kubeconfig)"

  if [ "$crds" = 1 ]; then
    local kubectl=("$bin/kubectl" --kubeconfig "$d/kubeconfig")
    "${kubectl[@]}" apply -f "$repo/config/deploy/crds/" >/dev/null ||
      fail_start "$d" "applying config/deploy/crds/ failed" "$d/kube-apiserver.log"
    "${kubectl[@]}" wait --for condition=established --timeout="${timeout}s" \
      -f "$repo/config/deploy/crds/" >/dev/null ||
      fail_start "$d" "CRDs not Established" "$d/kube-apiserver.log"
    say "CRDs from config/deploy/crds/ established"
  fi
  echo "$url"
}

# TERM, then up to 10 s for a clean exit (etcd syncs its WAL), then KILL.
stop_pid() {
  local f=$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$(basename "$f" .pid) ($pid) ignored TERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

cmd_stop() {
  local d=${1:-}
  [ -n "$d" ] || usage
  [ -d "$d" ] || die "no such directory: $d"
  # The API server first: it would log etcd's absence otherwise.
  stop_pid "$d/kube-apiserver.pid"
  stop_pid "$d/etcd.pid"
  say "stopped $d"
}

case "${1:-}" in
  build) cmd_build ;;
  start) shift && cmd_start "$@" ;;
  stop) shift && cmd_stop "$@" ;;
  bindir) echo "$bin" ;;
  *) usage ;;
esac
