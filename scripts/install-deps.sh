#!/usr/bin/env bash
# Installs every Debian 12 package Palisade needs to build, test and benchmark. Idempotent:
# when everything is present it changes nothing and does not touch the network.
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config python3 python3-yaml
  libdpdk-dev dpdk-dev           # DPDK 22.11: rte_acl, ethdev; dpdk-testpmd, dpdk-test-acl
  libhyperscan-dev               # L7 pattern matching
  libyaml-cpp-dev                # manifests and node files (YAML and JSON)
  libboost-program-options-dev   # command lines
  libgtest-dev libgmock-dev      # unit tests
  libbenchmark-dev               # micro-benchmarks
  libcpp-httplib-dev             # HTTP(S) client (Kubernetes API) and server (admin API)
  nlohmann-json3-dev             # JSON of the Kubernetes API and the admin API
  libssl-dev                     # TLS to the API server (certificates from kubeconfigs)
  openssl                        # test certificates for the HTTPS tests
  clang libclang-rt-14-dev       # libFuzzer and the sanitizers' runtimes
  clang-format clang-tidy        # the format and tidy checks of tests/lint
  iproute2 curl                  # real pods: network namespaces and an HTTP client in them
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
